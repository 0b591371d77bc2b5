"""The code base's shape: one-way layering, no import circles, no giant modules."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("styling_env", "offline_data", "agents", "experiments")
LAYER = {p: i for i, p in enumerate(PACKAGES)}  # a package imports only from its own or lower
#: Modules that are data tables, allowed to be long.
DATA_TABLES = {"styling_env/lexicon.py", "styling_env/tools/recipes.py"}
MAX_LINES = 1200


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports anywhere in its file (inside functions too)."""
    is_pkg = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if is_pkg else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names
            ]
        else:
            continue
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.add(t)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {n: _imports(n, p, modules) for n, p in modules.items()}


def test_packages_import_one_way():
    bad = [
        f"{a} -> {b}"
        for a, deps in _graph().items()
        for b in deps
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    ]
    assert not bad, bad


def test_no_import_circles():
    graph = _graph()
    # a package importing its own submodules (re-exports) is not a circle: drop parent -> child
    graph = {a: {b for b in deps if not b.startswith(a + ".")} for a, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(n: str, stack: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m) :] + [m] if m in stack else [n, m])
            elif m not in state:
                visit(m, [*stack, m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_module_over_1200_lines_except_data_tables():
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules().values()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert set(long) <= DATA_TABLES, long


def test_no_reference_to_a_design_document_users_do_not_have():
    """docs/design.md and the module docstrings are the design; nothing points elsewhere."""
    import subprocess

    marks = ("DESIGN" + " §", "DESIGN" + ".md")  # spelled apart so this file does not match
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    hits = []
    for name in files:
        try:
            text = (ROOT / name).read_text()
        except (UnicodeDecodeError, OSError):  # binary files (PNG, npz) hold no references
            continue
        if any(m in text for m in marks):
            hits.append(name)
    assert not hits, hits
