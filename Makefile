# Everything starts from nothing: the first target that needs the environment creates .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench check-canonical clean

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
	$(PY) -m experiments.benchmark --preset quick --quiet --out out/benchmark

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(STAMP)
	$(PY) -m experiments.bench_tools
	$(PY) -m experiments.bench_env
	$(PY) -m experiments.validate_judge --tasks 200
	$(PY) -m experiments.bench_pipeline --json out/bench_pipeline.json

# the maintainer's check before a release: regenerate Simple's canonical dataset end to end
# (10,000 episodes, ~5-10 min) and compare it with offline_data/canonical.json
check-canonical: $(STAMP)
	$(PY) -m experiments.check_canonical --tiers simple

clean:
	rm -rf $(VENV) out .pytest_cache
