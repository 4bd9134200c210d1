#!/usr/bin/env bash
# Compile (and cache) every numba kernel the image runs: the core, each shipped strategy's
# kernel and the backtest loop, by running each example strategy once on a small generated
# market, and the live path through `tickbot demo`. Run at image build time as the image's
# user, with NUMBA_CACHE_DIR set; prints how long it took.
#
#   docker/warm-cache.sh EXAMPLES_DIR
set -euo pipefail

EXAMPLES="${1:?usage: warm-cache.sh EXAMPLES_DIR}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
EVENTS=20000
started=$SECONDS

tickbot generate --events "$EVENTS" --seed 1 --out "$WORK/sim.evt" >/dev/null
tickbot generate --events "$EVENTS" --seed 1 --venue binance-usdm --out "$WORK/a.evt" >/dev/null
tickbot generate --events "$EVENTS" --seed 2 --venue bybit --out "$WORK/b.evt" >/dev/null
for config in "$EXAMPLES"/*.yaml; do
    name="$(basename "$config" .yaml)"
    data=("$WORK/sim.evt")
    if [[ "$name" == cross_venue_arb ]]; then
        data=("$WORK/a.evt" "$WORK/b.evt")
    fi
    tickbot backtest --config "$config" --data "${data[@]}" --json --no-report >/dev/null
    echo "warm-cache: $name compiled"
done
if tickbot demo --help | grep -q -- "--duration"; then
    tickbot demo --duration 2 >/dev/null
else
    tickbot demo >/dev/null
fi
echo "warm-cache: compiled and cached in $((SECONDS - started)) s into ${NUMBA_CACHE_DIR:-?}"
