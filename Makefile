# The two commands of the README: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## run the daemon on the embedded defaults (Ctrl-C stops it)
	$(BIN)/monitor run

test: $(STAMP)  ## the whole test suite, then the linters and the type checker
	$(BIN)/pytest -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)  ## the benchmarks (need ../shared/corpus beside the repo)
	$(BIN)/python benchmarks/feeds_bench.py
	$(BIN)/python benchmarks/rules_bench.py --corpus ../shared/corpus

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
