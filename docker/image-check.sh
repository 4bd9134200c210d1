#!/usr/bin/env bash
# Build the real image and check what the chart relies on, with buildah and podman (no daemon,
# no registry): --version, the demo, SIGTERM (cancel-all logged, exit 0), non-root, a read-only
# root file system, and how long numba takes to compile on a CPU the cache was not built for.
# Called by `make image-check` (after hadolint and pip-audit); prints sizes and timings.
#
#   docker/image-check.sh            (env: IMAGE=localhost/tickbot:ci)
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-localhost/tickbot:ci}"
STORE=(--storage-driver overlay)
PODMAN=(podman "${STORE[@]}" --cgroup-manager cgroupfs --runtime runc)
# The CI machine's own limits are lower than podman's defaults.
RUN_OPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# What the chart's pod has: a read-only root, writable emptyDirs for /tmp and the numba cache.
TMP_MOUNT="/tmp:rw,size=64m,mode=1777"
RO_OPTS=(--read-only --read-only-tmpfs=false --tmpfs "$TMP_MOUNT")
READY_TIMEOUT_S=600
STOP_GRACE_S=30
POLL_S=0.5
WORK="$(mktemp -d)"
CONTAINERS=()
cleanup() {
    for c in "${CONTAINERS[@]}"; do "${PODMAN[@]}" rm -f "$c" >/dev/null 2>&1 || true; done
    "${PODMAN[@]}" volume rm -f tickbot-check-cache >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "image-check: FAILED: $*" >&2; exit 1; }
say() { echo "image-check: $*"; }

# 1. The base image: a stand-in made from Debian packages where no registry can be reached.
docker/make-base.sh

# 2. A real build.
started=$SECONDS
buildah "${STORE[@]}" build --isolation chroot --network host --pull=never --layers \
    --build-arg "REVISION=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    -f docker/Dockerfile -t "$IMAGE" . 2>&1 | tee "$WORK/build.log" | grep -E "warm-cache|STEP|Error" || true
[[ ${PIPESTATUS[0]} -eq 0 ]] || fail "buildah build (log: $WORK/build.log)"
say "build took $((SECONDS - started)) s; $(grep -h 'warm-cache: compiled' "$WORK/build.log" | tail -1)"

# 3. What the image is, and that it says so.
size=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Size}}')
user=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{.Config.User}}')
entry=$("${PODMAN[@]}" image inspect "$IMAGE" --format '{{json .Config.Entrypoint}}')
say "image $IMAGE: $((size / 1000000)) MB uncompressed, user $user, entrypoint $entry"
[[ "$entry" == '["tickbot"]' ]] || fail "entrypoint is $entry, not exec-form [\"tickbot\"]"
[[ "$user" == 10001* ]] || fail "image user is '$user', not 10001"
# shellcheck disable=SC2016  # expanded by the shell inside the image
"${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" --entrypoint sh "$IMAGE" -c '
    site=/opt/venv/lib/python3.11/site-packages
    echo "image-check: make-up (MB): venv $(du -sm --apparent-size /opt/venv | cut -f1)," \
        "numba cache $(du -sm --apparent-size /var/cache/tickbot/numba | cut -f1);" \
        "largest: $(cd $site && du -sm --apparent-size -- * | sort -rn | head -8 | tr "\t\n" "= ")"
    if command -v gcc cc c++ >/dev/null 2>&1; then echo "image-check: a compiler is in the image"; exit 1; fi'

version=$("${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" "${RO_OPTS[@]}" "$IMAGE" --version)
say "tickbot --version in the image: $version"
[[ "$version" == "tickbot "* ]] || fail "--version printed '$version'"

# 4. Non-root and read-only root file system, as the pod runs it.
"${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" "${RO_OPTS[@]}" --entrypoint python "$IMAGE" -c '
import os, sys
assert os.getuid() == 10001 and os.getgid() == 10001, (os.getuid(), os.getgid())
for path in ("/opt/venv/x", "/etc/x", "/x"):
    try:
        open(path, "w")
    except OSError:
        continue
    sys.exit(f"{path} is writable: the root file system is not read-only")
open("/tmp/x", "w").write("ok")  # the tmp volume is
print("image-check: runs as uid 10001, root file system read-only, /tmp writable")
'

has_command() {
    "${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" "${RO_OPTS[@]}" "$IMAGE" "$@" --help 2>/dev/null | grep -q -- "--duration"
}

# 5. The demo, as a user would run it.
if has_command demo; then
    started=$SECONDS
    "${PODMAN[@]}" run --rm "${RUN_OPTS[@]}" "${RO_OPTS[@]}" -v tickbot-check-cache:/var/cache/tickbot/numba \
        "$IMAGE" demo --duration 5 >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; fail "tickbot demo --duration 5"; }
    say "tickbot demo --duration 5 ran in $((SECONDS - started)) s: $(tail -1 "$WORK/demo.log")"
else
    say "SKIPPED: this build has no 'tickbot demo --duration' (issue 11 not merged yet)"
fi

# 6. SIGTERM: the bot runs from a ConfigMap-like directory; `podman stop` sends SIGTERM to PID 1.
if ! has_command run; then
    say "SKIPPED: this build has no 'tickbot run' (issue 11 not merged yet): no SIGTERM check"
    exit 0
fi
mkdir -p "$WORK/config"
cat >"$WORK/config/tickbot.yaml" <<'YAML'
mode: sim
strategy: {name: fixed_spread, params: {interval_ms: 100, offset_ticks: 2, qty_lot: 1}}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 50, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 50, burst: 100}
metrics: {host: 127.0.0.1, port: 9464}
logging: {format: json}
lease: {enabled: false}
runtime: {shutdown_timeout_s: 10}
YAML
chmod -R a+rX "$WORK/config"

# Waits on the condition (GET /readyz answers 200 inside the container), bounded by a deadline.
time_to_ready() {
    local name=$1 started=$SECONDS
    while ((SECONDS - started < READY_TIMEOUT_S)); do
        if "${PODMAN[@]}" exec "$name" python -c '
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen("http://127.0.0.1:9464/readyz", timeout=2).status == 200 else 1)
except OSError:
    sys.exit(1)' 2>/dev/null; then
            echo $((SECONDS - started))
            return 0
        fi
        [[ "$("${PODMAN[@]}" inspect "$name" --format '{{.State.Running}}')" == true ]] || return 1
        sleep "$POLL_S"  # the poll interval of the condition above, not a wait for a result
    done
    return 1
}

start_bot() {  # name, cache volume option
    local name=$1
    shift
    CONTAINERS+=("$name")
    "${PODMAN[@]}" run -d --name "$name" "${RUN_OPTS[@]}" "${RO_OPTS[@]}" \
        -v "$WORK/config:/etc/tickbot/config:ro" --tmpfs /var/lib/tickbot:rw,size=64m,mode=1777 \
        "$@" "$IMAGE" run --config /etc/tickbot/config/tickbot.yaml >/dev/null
}

# Warm: the cache volume starts with the image's kernels (as the chart's init container copies).
start_bot tickbot-check-warm -v tickbot-check-cache:/var/cache/tickbot/numba
warm_s=$(time_to_ready tickbot-check-warm) || { "${PODMAN[@]}" logs tickbot-check-warm | tail -20; fail "bot never became ready"; }
say "ready in ${warm_s} s with the build-time numba cache"
"${PODMAN[@]}" stop -t "$STOP_GRACE_S" tickbot-check-warm >/dev/null
code=$("${PODMAN[@]}" inspect tickbot-check-warm --format '{{.State.ExitCode}}')
"${PODMAN[@]}" logs tickbot-check-warm >"$WORK/run.log" 2>&1
grep -q '"cancel-all' "$WORK/run.log" || { tail -20 "$WORK/run.log"; fail "no cancel-all logged after SIGTERM"; }
[[ "$code" == 0 ]] || { tail -20 "$WORK/run.log"; fail "exit code $code after SIGTERM, not 0"; }
say "SIGTERM: $(grep -o 'cancel-all[^"]*' "$WORK/run.log" | tail -1); exit code 0"

# Cold: an empty cache, as on a node whose CPU model differs from the build machine's. A bind
# mount of an empty directory (podman copies the image's files into tmpfs and named volumes).
mkdir -p "$WORK/cold-cache"
chown 10001:10001 "$WORK/cold-cache"
start_bot tickbot-check-cold -v "$WORK/cold-cache:/var/cache/tickbot/numba"
cold_s=$(time_to_ready tickbot-check-cold) || fail "bot never became ready with an empty cache"
[[ -n "$(ls -A "$WORK/cold-cache")" ]] || fail "the cold start cached nothing"
say "ready in ${cold_s} s compiling every kernel into an empty cache (a new CPU model):" \
    "$(du -sm --apparent-size "$WORK/cold-cache" | cut -f1) MB cached"
"${PODMAN[@]}" stop -t "$STOP_GRACE_S" tickbot-check-cold >/dev/null
say "OK"
