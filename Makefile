# Entry points: make run | test | lint | proto | bench
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint proto bench venv clean sysdeps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## run: set up and start the daemon in the foreground on embedded defaults
run: $(STAMP)
	$(VENV)/bin/barbossad $(ARGS)

sysdeps:
	bash .ci/sysdeps.sh

## test: set up, run the linters, then the whole test suite (its summary is the last line)
test: sysdeps $(STAMP)
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check barbossad barbossactl tests bench
	$(VENV)/bin/ruff format --check barbossad barbossactl tests bench
	$(VENV)/bin/mypy

## proto: regenerate the checked-in API modules from proto/
proto: $(STAMP)
	$(PY) proto/generate.py

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
