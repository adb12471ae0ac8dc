#!/usr/bin/env bash
# Load scenario: a release server and a bot swarm on this machine, both on 127.0.0.1.
#
#   benches/load.sh [--bots N] [--seconds S] [--port P] [--transport ws|webrtc] [--tls]
#                   [--bot-flags "..."] [-- server flags...]
#
# Prints the swarm's JSON line, then one JSON line about the server over the measurement
# window: CPU in cores (utime + stime from /proc; the whole server, its network thread, and
# the swarm), CPU per snapshot sent, peak RSS, the shard counters (tick duration and tick CPU
# time percentiles, overruns, skipped ticks), and the WebRTC side (its one UDP address, peers,
# and how many UDP sockets the server process holds). Both processes stop by themselves.
#
# --tls makes a throwaway self-signed certificate with openssl, serves it (--tls-cert,
# --tls-key) and runs the swarm over wss trusting it (bots --ca); the status is read over https.
#
# BOTS_NICE=N runs the swarm at that nice level, so that it yields the cores to the server as
# clients on other machines would; without it the swarm and the server compete for them.
# IO_NICE=N renices the server's network thread (its main thread), leaving the shards ahead.
# TICKWIRE_BIN=PATH runs that server binary instead of building this tree's (to compare two
# builds in one window); BOTS_BIN=PATH runs the swarm from that binary (default: the server's).
#
# Scenarios of the README:
#   benches/load.sh --bots 100 --seconds 20
#   benches/load.sh --bots 1000 --seconds 20 -- --view-radius 600
#   benches/load.sh --bots 200 --seconds 20 --transport webrtc
set -euo pipefail
cd "$(dirname "$0")/.."

bots=100 seconds=10 port=0 transport=ws bot_flags="" tls=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bots) bots=$2; shift 2 ;;
        --transport) transport=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --bot-flags) bot_flags=$2; shift 2 ;;
        --tls) tls=1; shift ;;
        --) shift; break ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ "$port" = 0 ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi

if [ -z "${TICKWIRE_BIN:-}" ]; then
    cargo build --release --quiet
fi
bin=${TICKWIRE_BIN:-target/release/tickwire}
bots_bin=${BOTS_BIN:-$bin}
log=$(mktemp)
certs=$(mktemp -d)
scheme=http ws=ws tls_flags=() curl_flags=()
if [ "$tls" = 1 ]; then
    command -v openssl >/dev/null || { echo "--tls needs the openssl command" >&2; exit 2; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -keyout "$certs/key.pem" -out "$certs/cert.pem" -subj /CN=tickwire-load \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost -addext basicConstraints=critical,CA:FALSE 2>/dev/null
    scheme=https ws=wss
    tls_flags=(--tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem")
    curl_flags=(--cacert "$certs/cert.pem")
    bot_flags="$bot_flags --ca $certs/cert.pem"
fi
"$bin" --listen "127.0.0.1:$port" --webrtc-udp 127.0.0.1:0 "${tls_flags[@]}" "$@" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"; rm -rf "$certs"' EXIT
status() { curl -fs "${curl_flags[@]}" "$scheme://127.0.0.1:$port/$1"; }
for _ in $(seq 100); do
    status healthz >/dev/null 2>&1 && break
    sleep 0.05
done

hz=$(getconf CLK_TCK)
if [ -n "${IO_NICE:-}" ]; then renice -n "$IO_NICE" -p "$server" >/dev/null; fi
cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
# The main thread runs the network (tokio); shard and encode threads are the rest.
io_cpu() { awk '{print $14 + $15}' "/proc/$server/task/$server/stat"; }
swarm_cpu() { awk '{print $14 + $15}' "/proc/$swarm/stat"; }
warmup=2
${BOTS_NICE:+nice -n $BOTS_NICE} "$bots_bin" bots --url "$ws://127.0.0.1:$port/ws" --bots "$bots" --seconds "$seconds" --warmup "$warmup" \
    --transport "$transport" --json $bot_flags &
swarm=$!
# The swarm connects at 500 bots/s, then warms up; sample the server inside its window.
sleep "$(python3 -c "print($bots / 500 + $warmup + 0.5)")"
before=$(status status.json)
c0=$(cpu); i0=$(io_cpu); s0=$(swarm_cpu); t0=$(date +%s.%N)
sleep "$(python3 -c "print(max(1.0, $seconds - 2.0))")"
c1=$(cpu); i1=$(io_cpu); s1=$(swarm_cpu); t1=$(date +%s.%N)
after=$(status status.json)
wait "$swarm"
peak=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
# Socket inodes the server holds, to count its UDP sockets in /proc/net/udp*.
inodes=$(find "/proc/$server/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' | tr '\n' ' ')
python3 - "$before" "$after" "$c0" "$c1" "$t0" "$t1" "$hz" "$peak" "$i0" "$i1" "$s0" "$s1" "$inodes" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
c0, c1, t0, t1, hz, peak, i0, i1, s0, s1 = map(float, sys.argv[3:13])
inodes = set(sys.argv[13].split())
udp_sockets = 0
for table in ("/proc/net/udp", "/proc/net/udp6"):
    try:
        for line in open(table).readlines()[1:]:
            if line.split()[9] in inodes:
                udp_sockets += 1
    except OSError:
        pass
def window_quantile(b, a, q, key="tick_histogram_us"):
    counts = dict(a.get(key, []))
    for edge, n in b.get(key, []):
        counts[edge] = counts.get(edge, 0) - n
    total = sum(counts.values())
    if total <= 0:
        return None
    rank, seen = max(1, round(total * q + 0.4999)), 0
    for edge in sorted(counts):
        seen += counts[edge]
        if seen >= rank:
            return edge / 1000.0
shards = []
for b, a in zip(before["shards"], after["shards"]):
    shards.append({
        "tick_p50_ms": window_quantile(b, a, 0.5),
        "tick_p99_ms": window_quantile(b, a, 0.99),
        "tick_max_ms": window_quantile(b, a, 1.0),
        "tick_cpu_p50_ms": window_quantile(b, a, 0.5, "tick_cpu_histogram_us"),
        "tick_cpu_p99_ms": window_quantile(b, a, 0.99, "tick_cpu_histogram_us"),
        "ticks": a["ticks"] - b["ticks"],
        "overruns": a["overruns"] - b["overruns"],
        "skipped_ticks": a["skipped_ticks"] - b["skipped_ticks"],
        "clients": a["clients"],
        "nice": a.get("nice"),
        "realtime": a.get("realtime"),
        "snapshots": (a["full_snapshots"] + a["delta_snapshots"]) - (b["full_snapshots"] + b["delta_snapshots"]),
    })
snapshots = sum(s["snapshots"] for s in shards)
cpu_s = (c1 - c0) / hz
rtc = after.get("webrtc") or {}
print(json.dumps({
    "server_cpu_cores": round(cpu_s / (t1 - t0), 4),
    "server_io_thread_cpu_cores": round((i1 - i0) / hz / (t1 - t0), 4),
    "swarm_cpu_cores": round((s1 - s0) / hz / (t1 - t0), 4),
    "cpu_us_per_snapshot": round(cpu_s * 1e6 / snapshots, 3) if snapshots else None,
    "webrtc": {
        "udp": rtc.get("udp"),
        "peers": rtc.get("peers"),
        "opened": rtc.get("opened"),
        "frames_out": rtc.get("frames_out", 0) - (before.get("webrtc") or {}).get("frames_out", 0),
        "frames_dropped": rtc.get("frames_dropped"),
        "server_udp_sockets": udp_sockets,
    },
    "window_s": round(t1 - t0, 2),
    "peak_rss_mib": round(peak / 1024, 1),
    "inbound_dropped": after["inbound_dropped"],
    "shards": shards,
}))
PY
