#!/usr/bin/env bash
# Input-to-snapshot latency under 20 % datagram/segment loss, WebRTC against WebSocket, in
# one run: a release server inside a network namespace reached over a veth pair, two bot
# swarms (one per transport) on the host at the same time, and an nftables rule in the
# namespace that drops 20 % of the packets to and from the server's TCP and UDP ports in
# both directions. The rule goes in after the data channels opened (during the warm-up) and
# comes out at the end. Needs root, iproute2 and nftables (installed with apt-get when
# missing). Run by hand, not in CI.
#
#   benches/webrtc-loss.sh [--bots N] [--seconds S] [--loss PCT]
#
# Prints each swarm's JSON line, then one line comparing the two p99s.
set -euo pipefail
cd "$(dirname "$0")/.."

bots=20 seconds=20 loss=20
while [ $# -gt 0 ]; do
    case "$1" in
        --bots) bots=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --loss) loss=$2; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "webrtc-loss.sh: needs root (netns, nftables)" >&2; exit 2; }
command -v nft >/dev/null || apt-get install -y -qq nftables >/dev/null

ns=tickwire-loss-$$ host_if=twl$$h ns_if=twl$$n
host_ip=10.77.0.1 ns_ip=10.77.0.2 port=17777 udp=17778
cargo build --release --quiet
bin=$PWD/target/release/tickwire
log=$(mktemp)
cleanup() {
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip link del "$host_if" 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT

ip netns add "$ns"
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
ip addr add "$host_ip/24" dev "$host_if"
ip link set "$host_if" up
ip netns exec "$ns" ip addr add "$ns_ip/24" dev "$ns_if"
ip netns exec "$ns" ip link set "$ns_if" up
ip netns exec "$ns" ip link set lo up

ip netns exec "$ns" "$bin" --listen "$ns_ip:$port" --webrtc-udp "$ns_ip:$udp" >"$log" 2>&1 &
for _ in $(seq 100); do
    curl -fs "http://$ns_ip:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done

warmup=5
out_ws=$(mktemp) out_rtc=$(mktemp)
"$bin" bots --url "ws://$ns_ip:$port/ws" --bots "$bots" --seconds "$seconds" --warmup "$warmup" \
    --transport ws --room loss-ws --json >"$out_ws" &
ws_pid=$!
"$bin" bots --url "ws://$ns_ip:$port/ws" --bots "$bots" --seconds "$seconds" --warmup "$warmup" \
    --transport webrtc --webrtc-local-ip "$host_ip" --room loss-rtc --json >"$out_rtc" &
rtc_pid=$!

# The channels open within the first seconds of the warm-up; impair before measuring.
sleep 3
ip netns exec "$ns" nft -f - <<NFT
table inet tickwire_loss {
    chain in {
        type filter hook input priority 0;
        tcp dport $port numgen random mod 100 < $loss drop
        udp dport $udp numgen random mod 100 < $loss drop
    }
    chain out {
        type filter hook output priority 0;
        tcp sport $port numgen random mod 100 < $loss drop
        udp sport $udp numgen random mod 100 < $loss drop
    }
}
NFT
echo "webrtc-loss.sh: $loss % loss on tcp/$port and udp/$udp, both directions" >&2

wait "$ws_pid" "$rtc_pid"
status=$(curl -fs "http://$ns_ip:$port/status.json")
ip netns exec "$ns" nft delete table inet tickwire_loss
cat "$out_ws" "$out_rtc"
python3 - "$(cat "$out_ws")" "$(cat "$out_rtc")" "$status" "$loss" <<'PY'
import json, sys
ws, rtc, status = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({
    "loss_pct": float(sys.argv[4]),
    "ws_input_to_snapshot_p99_ms": ws["input_to_snapshot_ms"]["p99"],
    "webrtc_input_to_snapshot_p99_ms": rtc["input_to_snapshot_ms"]["p99"],
    "webrtc_bots_on_webrtc": rtc["on_webrtc"],
    "webrtc_fallbacks": rtc["webrtc_fallbacks"],
    "server_webrtc": status.get("webrtc"),
}))
PY
rm -f "$out_ws" "$out_rtc"
