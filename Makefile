# Every target creates .venv when missing and installs what it needs; repeat runs are quiet no-ops.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
PIP_FLAGS := --quiet --disable-pip-version-check
# numba's cache checks only the timestamp of the file a kernel is defined in, not of the kernels
# it inlines from other files: key the cache by a hash of the whole source so an edit anywhere
# can never load stale machine code.
SRC_HASH := $(shell find bot strategies -name '*.py' | sort | xargs cat | md5sum | cut -c1-12)
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache/$(SRC_HASH)

.PHONY: demo test test-nojit bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e .
	@touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev]'
	@touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/tickbot demo

test: $(STAMP_DEV)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow" tests/unit

test-nojit: $(STAMP_DEV)
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP_DEV)
	$(BIN)/python -m benchmarks

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
