#!/usr/bin/env bash
# Room churn: a release server on 127.0.0.1, and `ROOMS` short-lived rooms opened on it by real
# clients (benches/rooms_churn.rs), each left with a parked session that expires after the
# grace. Prints the server's RSS before, at the peak and after the last room is gone.
#
#   benches/rooms-churn.sh [--rooms N] [--concurrent C] [--grace-ms MS] [-- server flags...]
#
# Default 40,000 rooms, 64 at a time, a 20 s grace. PRELOAD=/path/to/lib.so runs the server
# under another malloc (LD_PRELOAD; e.g. the system's libjemalloc with
# MALLOC_CONF=background_thread:true); TICKWIRE_BIN=PATH runs that server binary.
#
# One 2-core machine, 40,000 rooms (RSS before / peak / after, MiB): glibc 12 / 721 / 721;
# glibc with GLIBC_TUNABLES=glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072
# 12 / 664 / 654; jemalloc preloaded with MALLOC_CONF=background_thread:true 14 / 674 / 84.
set -euo pipefail
cd "$(dirname "$0")/.."

rooms=40000 concurrent=64 grace=20000
while [ $# -gt 0 ]; do
    case "$1" in
        --rooms) rooms=$2; shift 2 ;;
        --concurrent) concurrent=$2; shift 2 ;;
        --grace-ms) grace=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ -z "${TICKWIRE_BIN:-}" ]; then
    cargo build --release --quiet
fi
cargo bench --quiet --bench rooms_churn --no-run 2>/dev/null
driver=$(ls -t target/release/deps/rooms_churn-* 2>/dev/null | grep -v '\.d$' | head -1 || true)
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    driver=$(ls -t "$CARGO_TARGET_DIR"/release/deps/rooms_churn-* | grep -v '\.d$' | head -1)
fi
bin=${TICKWIRE_BIN:-${CARGO_TARGET_DIR:-target}/release/tickwire}
log=$(mktemp)
LD_PRELOAD=${PRELOAD:-} "$bin" --listen "127.0.0.1:$port" --webrtc-udp off \
    --resume-grace-ms "$grace" --max-rooms $((rooms + 1000)) \
    --max-parked-sessions $((rooms + 1000)) "$@" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
rooms_now() { curl -fs "http://127.0.0.1:$port/status.json" | python3 -c 'import json,sys; print(sum(s["rooms"] for s in json.load(sys.stdin)["shards"]))'; }
sleep 1
before=$(rss)
report=$("$driver" "ws://127.0.0.1:$port/ws" "$rooms" "$concurrent")
at_end=$(rss)
# Until the last parked session expired and its room went, then a few seconds for the
# allocator to give pages back.
while [ "$(rooms_now)" != 0 ]; do sleep 0.5; done
sleep 5
after=$(rss)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
echo "{\"driver\":$report,\"rss_kib\":{\"before\":$before,\"after_churn\":$at_end,\"peak\":$peak,\"after\":$after},\"preload\":\"${PRELOAD:-}\"}"
