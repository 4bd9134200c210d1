# Every target creates .venv when missing and installs what it needs; repeat runs are quiet no-ops.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
PIP_FLAGS := --quiet --disable-pip-version-check
# The base of numba's cache; bot.numba_cache.configure() keys a folder in it by a source hash.
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache

.PHONY: demo test test-nojit typecheck bench lint docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e .
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev]'
	@touch $@ $(STAMP_RUN)

# The bot itself for about 60 s in sim mode (Avellaneda-Stoikov on a synthetic market, metrics on
# http://127.0.0.1:9464/metrics), then a summary: orders, fills, PnL, tick-to-trade p50/p99.
demo: $(STAMP_RUN)
	$(BIN)/tickbot demo --duration 60

# Lint and types first (seconds), then the suite compiled, then again with the kernels run as
# plain Python (NUMBA_DISABLE_JIT=1: what numba compiles must also be correct Python, and
# debuggers and coverage see that). The no-JIT pass covers tests/unit and tests/integration, not
# tests/e2e: those run keepalive and staleness rules over real sockets in scaled time (pings at
# 0.3 s); a pure-Python kernel can take longer than that for one frame on a busy machine, so the
# assertions would time the interpreter rather than the feed.
test: lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile tests/unit tests/integration

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

test-nojit: $(STAMP_DEV)
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP_DEV)
	$(BIN)/python -m benchmarks

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# Regenerate the reference pages (CLI, configuration, metrics) from the code, then build the site.
docs: $(STAMP_DEV)
	$(BIN)/python -m bot.reference docs/reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
