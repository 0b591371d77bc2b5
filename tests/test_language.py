"""The training language: the held-out split is frozen, the train language is richer and noisy.

The held-out test sets are the benchmark's yardstick, so their tasks are pinned byte for byte:
a change to the training language must never move them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re

import numpy as np
import pytest

from styling_env import lexicon as lx
from styling_env import tasks, wording
from styling_env import train_lexicon as tl
from styling_env.tools.vocabulary import TOOLS

N_TRAIN = 200


@functools.cache
def _train(tier: str, n: int = N_TRAIN) -> tuple[tasks.Task, ...]:
    return tuple(tasks.sample_task(tier, seed) for seed in range(n))


@functools.cache
def _clean_train(tier: str, n: int = N_TRAIN) -> tuple[tasks.Task, ...]:
    """The same train tasks written without their surface noise."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(wording, "draw_noise", lambda *args: wording.Noise())
        return tuple(tasks.sample_task(tier, seed) for seed in range(n))


#: sha256 over the JSON of the first 200 test tasks per tier (``test_tasks(tier)``), computed
#: before the training language was enriched. A change here changes the benchmark.
TEST_SET_DIGESTS = {
    "simple": "5d86a88546b3ba8149c8584321bfd84423fdc636f7fcf8e680b0a8faf0359f25",
    "regular": "236dea62d0e7cdf37d7cb3543169f69d9f3b45934d251c5fee917b163c533e89",
    "complex": "8e2d58b007eb04470fc5bdc82e655edf6164849f6373a1042b5941e5a3078f0d",
}


def _digest(items: list[dict]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(json.dumps(item, sort_keys=True).encode())
    return h.hexdigest()


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_held_out_test_sets_are_byte_identical(tier: str) -> None:
    assert _digest([t.to_dict() for t in tasks.test_tasks(tier)]) == TEST_SET_DIGESTS[tier]


#: sha256 over the specs (the task without its instruction, template id and clause texts) of
#: train tasks 0..199 per tier, computed before the training language was enriched: the train
#: language draws from streams of its own, so the words change and the specs do not.
TRAIN_SPEC_DIGESTS = {
    "simple": "aed8f1cefd9cc970f29d1439842e48b217db8f9a7bbcdb0d966f0891f801b0d1",
    "regular": "8e03fa6d62115276e92711dadcf27262368b5d372cd4dafb7591f0c37ea4c50a",
    "complex": "ced79a050295537dcdcec6a41b8b1863ea0169047be7cc30a8843a42321c2972",
}


def _spec(task: tasks.Task) -> dict:
    d = task.to_dict()
    del d["instruction"], d["template_id"]
    for clause in d["constraints"] + d["conditionals"]:
        del clause["text"]
    return d


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_train_specs_do_not_depend_on_the_wording(tier: str) -> None:
    specs = [_spec(t) for t in _train(tier)]
    assert _digest(specs) == TRAIN_SPEC_DIGESTS[tier]


# --------------------------------------------------------------------------------------------
# The split survives the richer language and its noise


def _words(text: str) -> list[str]:
    """``text`` as the surface noise cannot change it further (typos aside): lower case, no
    punctuation, abbreviated; a slot (``{items}``) is one token ``{}``."""
    out = []
    for w in re.findall(r"\{[a-z_]+\}|[a-z0-9'&]+", text.lower()):
        w = "{}" if w.startswith("{") else w.replace("'", "")
        out.append(re.sub(r"\W", "", tl.ABBREVIATIONS.get(w, w)) if w != "{}" else w)
    return [w for w in out if w]


def _regex(frame: str) -> re.Pattern[str]:
    return re.compile(" ".join(".+" if w == "{}" else re.escape(w) for w in _words(frame)))


def _distance(a: list[str], b: list[str]) -> int:
    """Word-level edit distance."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


HELD_OUT_FRAMES = [f for by in lx.TEMPLATES.values() for f in by["test"]] + list(
    lx.CONDITIONAL_FRAMES["test"]
)
TRAIN_FRAMES = [f for by in tasks.TEMPLATES.values() for _, f in by["train"]] + list(
    lx.CONDITIONAL_FRAMES["train"] + tl.TRAIN_CONDITIONAL_FRAMES
)


def _texts(obj: object) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [t for k, v in obj.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(obj, tuple | list):
        return [t for v in obj for t in _texts(v)]
    return []


def test_no_train_frame_is_within_reach_of_a_held_out_frame() -> None:
    """The noise changes case, punctuation and abbreviations (which ``_words`` undoes) and
    misspells words into non-words (never a word of the lexicons, so never a held-out frame's
    word): a train frame that differs from every held-out frame after ``_words`` cannot turn
    into one. The frames of the training language keep a margin of two word edits."""
    held_out_words = {
        w
        for f in HELD_OUT_FRAMES
        for w in re.findall("[a-z]+", re.sub(r"\{[a-z_]+\}", "", f.lower()))
    }
    assert held_out_words <= wording.lexicon_words()
    new = {*(f for fs in tl.TRAIN_FRAMES.values() for f in fs), *tl.TRAIN_CONDITIONAL_FRAMES}
    for train in TRAIN_FRAMES:
        for held_out in HELD_OUT_FRAMES:
            margin = 2 if train in new else 1
            assert _distance(_words(train), _words(held_out)) >= margin, (train, held_out)


def test_no_train_phrase_repeats_held_out_frame_words() -> None:
    """No text of the training language holds three consecutive words of a held-out frame."""
    grams = set()
    for frame in HELD_OUT_FRAMES:
        for run in re.split(r"\{[a-z_]+\}", frame):
            words = _words(run)
            grams |= {tuple(words[i : i + 3]) for i in range(len(words) - 2)}
    tables = [getattr(tl, name) for name in dir(tl) if name.isupper()]
    for text in (t for table in tables for t in _texts(table)):
        words = _words(text)
        for i in range(len(words) - 2):
            assert tuple(words[i : i + 3]) not in grams, text


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_noisy_train_instructions_fit_no_held_out_frame(tier: str) -> None:
    regexes = [_regex(f) for f in HELD_OUT_FRAMES]
    for task in _train(tier):
        text = " ".join(_words(task.instruction))
        assert not any(rx.fullmatch(text) for rx in regexes), task.instruction


# --------------------------------------------------------------------------------------------
# The training language's tables


def test_train_lexicon_tables() -> None:
    shared = [p for values in lx.VALUE_PHRASES.values() for row in values.values() for p in row[1:]]
    peoples = []
    for tool, values in TOOLS.items():
        assert set(tl.PEOPLES_WORDS[tool]) == set(values), tool
        for value in values:
            assert len(tl.PEOPLES_WORDS[tool][value]) >= 3, value
            peoples += tl.PEOPLES_WORDS[tool][value]
    everything = [p.lower() for p in shared + peoples]
    assert len(everything) == len(set(everything)), "a phrase evokes one value only"
    for tool, table in tl.NOT_TOO.items():
        assert set(table) <= set(TOOLS[tool]), tool
    assert set(tl.TRAIN_THEME_PHRASES) == set(lx.REGULAR_THEMES)
    assert set(tl.TRAIN_PREDICATE_PHRASES) == set(lx.PREDICATE_PHRASES)
    assert set(tl.TOOL_NOUNS) == set(TOOLS)
    assert {k: sorted(v) for k, v in tl.TRAIN_PRESERVE_REGION_PHRASES.items()} == {
        k: sorted(v) for k, v in lx.PRESERVE_REGION_PHRASES.items()
    }
    # cue words: new ones are fresh, each wrapper holds its own level's cues only, and no
    # other text of either lexicon holds a cue word
    shared_cues = {w for row in lx.INTENSITY.values() for w in row[1]}
    new_cues = [w for cues, _ in tl.TRAIN_INTENSITY.values() for w in cues]
    assert len(new_cues) == len(set(new_cues)) and not set(new_cues) & shared_cues
    for level, (_, wrappers) in tl.TRAIN_INTENSITY.items():
        for wrapper in wrappers:
            found = tasks.cue_words(wrapper.format(p="x"))
            assert {lv for lv, ws in found.items() if ws} <= {level}, wrapper
            assert found[level] or (level == "moderate" and wrapper == "{p}"), wrapper
    assert tasks.cue_words("x, but not too y")["subtle"] == ["too"]
    others = [
        getattr(tl, name)
        for name in dir(tl)
        if name.isupper() and name not in ("TRAIN_INTENSITY", "NOISE")
    ]
    others += [getattr(lx, name) for name in dir(lx) if name.isupper() and name != "INTENSITY"]
    for text in (t for table in others for t in _texts(table)):
        assert not any(tasks.cue_words(text.replace("_", " ")).values()), text
    assert sum(tl.NOISE["typos"]) == pytest.approx(1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_train_frames_and_negations_are_used(tier: str) -> None:
    used = {t.template_id for t in _train(tier)}
    assert len(used) >= 44, sorted(set(tasks.TEMPLATES[tier]["train"]) - used)
    assert any(t.template_id.endswith(("/24", "/30", "/40")) for t in _train(tier))
    negated = [t for t in _train(tier) if "but not too " in t.instruction.lower()]
    assert negated and all(
        any(tasks.intensity_level(x.strength) == "subtle" for x in t.targets)
        or any(
            b is not None and b.strength == 0.35
            for c in t.conditionals
            for b in (c.then, c.otherwise)
        )
        for t in negated
    )


# --------------------------------------------------------------------------------------------
# Surface noise


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+", re.sub(r"[.:!?]", "", text.lower()))


def test_surface_noise_rates_and_what_it_spares() -> None:
    noisy = [t for tier in tasks.TIERS for t in _train(tier)]
    clean = [t for tier in tasks.TIERS for t in _clean_train(tier)]
    lower = typos = 0
    for n, c in zip(noisy, clean, strict=True):
        assert _spec(n) == _spec(c) and n.template_id == c.template_id
        lower += n.instruction == n.instruction.lower() != c.instruction
        a, b = _tokens(c.instruction), _tokens(n.instruction)
        assert len(a) == len(b), (c.instruction, n.instruction)
        changed = {(x, y) for x, y in zip(a, b, strict=True) if x != y}
        misspelt = {(x, y) for x, y in changed if tl.ABBREVIATIONS.get(x, "").strip("/") != y}
        typos += bool(misspelt)
        assert len(misspelt) <= 2, (c.instruction, n.instruction)
        for x, y in misspelt:
            assert abs(len(x) - len(y)) <= 1 and x[0] == y[0] and len(x) >= 4, (x, y)
            assert y not in wording.lexicon_words(), (x, y)
        # strengths stay readable: the same cue words; values stay readable: one of each
        # mentioned value's phrases is there, word for word
        assert tasks.cue_words(n.instruction) == tasks.cue_words(c.instruction)
        text = " ".join(b)
        for t in [
            *n.targets,
            *(x for cond in n.conditionals for x in (cond.then, cond.otherwise) if x),
        ]:
            pool = [
                *lx.VALUE_PHRASES[t.tool][t.value][1:],
                *tl.PEOPLES_WORDS[t.tool][t.value],
                f"{t.value.replace('_', ' ')} {lx.LITERAL_NOUNS[t.tool]}",
            ]
            assert any(re.search(rf"\b{' '.join(_tokens(p))}\b", text) for p in pool), (
                t,
                n.instruction,
            )
    assert 0.2 < lower / len(noisy) < 0.4, lower / len(noisy)
    assert 0.15 < typos / len(noisy) < 0.35, typos / len(noisy)


def test_noise_is_one_map_for_the_instruction_and_its_clauses() -> None:
    noise = wording.Noise({"otherwise": "otherwsie", "please": "pls"}, True, True)
    assert noise("If dark, do x; Otherwise, y. Please!") == "if dark, do x; otherwsie, y pls"
    clause = "Otherwise, y."
    assert noise(clause).lower() in noise(f"If dark, do x; {clause} Please!")
    assert wording.Noise()("Keep It. As is!") == "Keep It. As is!"


def test_misspell() -> None:
    rng = np.random.default_rng(0)
    for word in ("otherwise", "picture", "really", "something", "brief", "dress"):
        for _ in range(20):
            new = wording.misspell(rng, word)
            assert new is not None and new != word and new[0] == word[0], (word, new)
            assert abs(len(new) - len(word)) <= 1 and new not in wording.lexicon_words()


def test_train_wording_bad_input() -> None:
    target = tasks.Target("season_cycle", "winter_bare", 0.85)
    frames = tasks.TEMPLATES["simple"]["train"]
    words = wording.train_wording((0, 1, 0), "simple", frames, "winter", [target])
    assert words.template_id.startswith("simple/train/") and words.instruction
    with pytest.raises(RuntimeError, match="no simple wording within 5 characters in 50 draws"):
        wording.train_wording((0, 1, 0), "simple", frames, "winter", [target], max_chars=5)
    with pytest.raises(ValueError, match="unknown constraint kind 'forbid'"):
        wording.train_constraint_text(np.random.default_rng(0), _Fake("forbid"), "outdoor")


class _Fake:
    """A constraint-like object of an unknown kind (Constraint itself refuses one)."""

    def __init__(self, kind: str) -> None:
        self.kind, self.region, self.tool = kind, None, None


@pytest.mark.parametrize("tier", tasks.TIERS)
def test_a_train_task_reworded_keeps_its_spec_and_image(tier: str) -> None:
    from styling_env.rewording import reworded

    for seed in range(12):
        task = tasks.sample_task(tier, seed)
        assert reworded(task, 0) is task
        variants = [reworded(task, k) for k in (1, 2, 3)]
        assert reworded(task, 2) == variants[1]  # a pure function of (task, variant)
        for v in variants:
            assert (v.targets, v.image_seed, v.task_id) == (
                task.targets,
                task.image_seed,
                task.task_id,
            )
            assert [(c.kind, c.region, c.tool) for c in v.constraints] == [
                (c.kind, c.region, c.tool) for c in task.constraints
            ]
            assert [(c.predicate, c.then, c.otherwise) for c in v.conditionals] == [
                (c.predicate, c.then, c.otherwise) for c in task.conditionals
            ]
            for c in (*v.constraints, *v.conditionals):  # each clause stays in the request
                assert c.text.lower() in v.instruction.lower()  # (capitalised where it opens)
            assert len(v.instruction) <= tasks.MAX_INSTRUCTION
        # the words do change (three draws all equal to the original would be a broken stream)
        assert len({task.instruction, *(v.instruction for v in variants)}) >= 3


def test_only_generated_train_tasks_are_reworded() -> None:
    from styling_env.rewording import reworded

    task = tasks.sample_task("simple", 3)
    with pytest.raises(ValueError, match="only generated train tasks"):
        reworded(tasks.test_tasks("simple", 1)[0], 1)
    with pytest.raises(ValueError, match="only generated train tasks"):
        reworded(tasks.test_tasks("simple", split="free")[0], 1)
    with pytest.raises(ValueError, match="only generated train tasks"):
        reworded(tasks.user_task("make it snowy"), 1)
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="variant must be an int"):
            reworded(task, bad)  # type: ignore[arg-type]
