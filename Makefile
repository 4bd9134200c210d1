# Every target creates .venv when missing and installs what it needs; repeat runs are quiet no-ops.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
PIP_FLAGS := --quiet --disable-pip-version-check
# The base of numba's cache; bot.numba_cache.configure() keys a folder in it by a source hash.
export NUMBA_CACHE_DIR ?= $(CURDIR)/.venv/numba-cache

.PHONY: demo test test-nojit typecheck bench lint docs docs-build clean fuzz soak chaos

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
test: lint typecheck docs-build
	$(BIN)/python -m pytest -q -n 2 --dist loadfile
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile tests/unit tests/integration

typecheck: $(STAMP_DEV)
	$(BIN)/mypy

test-nojit: $(STAMP_DEV)
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: $(STAMP_DEV)
	$(BIN)/python -m benchmarks

# Every venue parser (market data, user stream, order replies), the journal, capture and
# event-file readers and the config loader under atheris, 1 M inputs per target group, seeded
# with real captured frames (docs/reliability.md has the figures). Not in CI: about an hour on
# a busy 2-core machine. FUZZ_ARGS="--inputs 10000 --only md-okx" for a short run.
fuzz: $(STAMP_DEV)
	nice -n 10 $(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

# tickbot run (paper) for 30 min against a loopback Bybit venue pushing 1,910 book messages/s
# (10x the median rate of a real Binance BTCUSDT session); prints RSS growth after warm-up,
# loop-lag and tick-to-trade p99, fds, sockets and tasks. Not in CI. SOAK_ARGS="--minutes 2".
soak: $(STAMP_DEV)
	nice -n 10 $(BIN)/python -m tests.soak $(SOAK_ARGS)

# 100 seeded chaos runs of the order router against the loopback venues (eight venue kits), faults
# injected from the seed; checks each run against the venue's ground truth and prints runs,
# faults by kind, violations and the command replaying a failing seed. CHAOS_ARGS="--runs 10".
chaos: $(STAMP_DEV)
	nice -n 10 $(BIN)/python -m tests.chaos $(CHAOS_ARGS)

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# Regenerate the reference pages (CLI, configuration, metrics, alerts) from the code, then build
# the site. make test only builds (docs-build): a stale reference fails tests/unit/docs instead.
docs: $(STAMP_DEV)
	$(BIN)/python -m bot.reference docs/reference
	$(MAKE) docs-build

# --strict: a broken link or anchor, or a page missing from the nav, fails the build.
docs-build: $(STAMP_DEV)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# -- container and chart (docker/, helm/) ------------------------------------------------------
.PHONY: lock image-check chart-schema chart-docs
# The image's lock: every runtime wheel (and the build tools) pinned with hashes, for Linux x86-64
# and the base image's Python. Regenerate after changing dependencies in pyproject.toml.
LOCK := docker/requirements.lock
lock: $(STAMP_DEV)
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(BIN)/uv pip compile \
		pyproject.toml docker/build-requirements.in --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --no-header --quiet -o $(LOCK)

# Hadolint, pip-audit of the lock, a real build (buildah), then the image run: --version, the demo,
# SIGTERM, non-root and read-only root file system (docker/image-check.sh).
image-check: $(STAMP_DEV)
	$(BIN)/hadolint --failure-threshold warning docker/Dockerfile
	shellcheck docker/*.sh docs/aks/*.sh
	$(BIN)/python docker/audit_lock.py $(LOCK)
	docker/image-check.sh

# values.schema.json embeds the config schema: regenerate after changing bot/config or strategies.
chart-schema: $(STAMP_DEV)
	$(BIN)/python helm/build_schema.py

# The chart README's parameters table, generated from the ## @param comments in values.yaml.
README_GENERATOR := npx --yes @bitnami/readme-generator-for-helm@2.7.2
chart-docs:
	$(README_GENERATOR) --values helm/tickbot/values.yaml --readme helm/tickbot/README.md
