# The two commands of the README: `make run` and `make test`. Each creates .venv on first use.
# `make run` installs only what running needs; `make test` adds the test tools, ruff and mypy.
# Each install has its own stamp, redone when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test wheel ci bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(DEV_STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP)

# The embedded defaults; from the checkout the store is ./data (MONITOR_DATA_DIR), not the
# user's data directory that an installed monitor uses; the status page on 127.0.0.1:8787.
run: $(RUN_STAMP)  ## run the daemon on the embedded defaults (Ctrl-C stops it)
	MONITOR_DATA_DIR="$${MONITOR_DATA_DIR:-$(CURDIR)/data}" \
	MONITOR_HTTP__LISTEN="$${MONITOR_HTTP__LISTEN:-127.0.0.1:8787}" $(BIN)/monitor run

test: $(DEV_STAMP)  ## the whole test suite, then the linters and the type checker
	$(BIN)/pytest -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

wheel: $(RUN_STAMP)  ## build dist/news_monitor-*.whl from a clean copy of the work tree
	rm -rf dist
	./.ci/build-wheel dist $(BIN)/python

ci:  ## what CI runs: make test, then the wheel installed in a fresh venv
	./.ci/run

bench: $(DEV_STAMP)  ## the benchmarks (need ../shared/corpus beside the repo)
	$(BIN)/python benchmarks/feeds_bench.py
	$(BIN)/python benchmarks/rules_bench.py --corpus ../shared/corpus
	$(BIN)/python benchmarks/stories_bench.py --corpus ../shared/corpus
	$(BIN)/python benchmarks/scale_bench.py  # one instance vs three on PostgreSQL, and SQLite
	$(BIN)/python benchmarks/surges_bench.py
	$(BIN)/python benchmarks/backtest_bench.py --corpus ../shared/corpus  # 100,000 articles × 1,000 rules

clean:
	rm -rf $(VENV) data dist build .pytest_cache .mypy_cache .ruff_cache
