# Everything starts from nothing: the first target that needs the environment creates .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench gpu-check gpu-wheels check-canonical clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: the CPU build is on local disk; an unpinned one pulls CUDA wheels.
	$(PY) -m pip install --quiet -c constraints.txt torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev,text,vlm,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m styling_env.gallery --out out/gallery.png
	$(PY) -m styling_env.demo --out out/episodes.png
	$(PY) -m experiments.benchmark --preset demo --quiet --out out/benchmark

# two workers (pytest-xdist), each test file on one of them, each at one torch thread
# (tests/conftest.py): the 2 cores halve the suite's wall time; files start in conftest's
# order, slowest first (xdist would otherwise order them by their number of tests)
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder tests

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m experiments.bench_tools
	$(PY) -m experiments.bench_env
	$(PY) -m experiments.validate_judge --tasks 200
	$(PY) -m experiments.bench_pipeline --json out/bench_pipeline.json

# on a GPU machine (one H200: under 8 min): tools, env and judge on CUDA beside the CPU, and LoRA
# steps of random models with Qwen3-VL-4B/-8B shapes; installs missing dependencies from $(WHEELS)
WHEELS ?= ../wheels
gpu-check:
	python3 -m experiments.gpu_check --wheels $(WHEELS) --out out/gpu_check.json

# wheels gpu-check installs on a GPU machine without network (Python 3.12), into $(WHEELS)
gpu-wheels:
	$(PYTHON) -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d $(WHEELS) \
		gymnasium farama-notifications cloudpickle kornia kornia-rs scikit-learn joblib threadpoolctl

# the maintainer's check before a release: regenerate Simple's canonical dataset end to end
# (10,000 episodes, ~5-10 min) and compare it with offline_data/canonical.json
check-canonical: $(STAMP)
	$(PY) -m experiments.check_canonical --tiers simple

clean:
	rm -rf $(VENV) out .pytest_cache
