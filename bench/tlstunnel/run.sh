#!/usr/bin/env bash
# tlstunnel benchmark: the same tunnel code on NetStack (a TAP) and on kernel sockets (--kernel, over a veth), the same
# clients, interleaved rounds in one run. Handshakes per second (openssl s_time -new, TLS 1.3, ECDSA P-256, one
# connection at a time) and bulk throughput (curl downloading through the tunnel from a local backend).
# Run as root from the repository root after: dotnet build samples/tlstunnel -c Release
# usage: bash bench/tlstunnel/run.sh [ROUNDS (3)] [BULK_MB (500)] [HANDSHAKE_SECONDS (10)]
set -euo pipefail
rounds=${1:-3}; bulk_mb=${2:-500}; hs_seconds=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
dll=$(pwd)/samples/tlstunnel/bin/Release/net10.0/tlstunnel.dll
[ -f "$dll" ] || { echo "build samples/tlstunnel first" >&2; exit 1; }
id=$$; c=tlb-c-$id; k=tlb-k-$id; tap=tlbt$id; vc=tlbvc$id; vk=tlbvk$id
work=$(mktemp -d); pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  ip netns del "$c" 2>/dev/null || true; ip netns del "$k" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 2 -subj "/CN=*.example.test" -addext "subjectAltName=DNS:*.example.test" 2>/dev/null
cat > "$work/config.json" <<JSON
{ "certificates": [ { "certificate": "cert.pem", "key": "key.pem" } ],
  "default_name": "bench.example.test",
  "routes": [ { "name": "bench.example.test", "backend": "127.0.0.1:9000", "via": "kernel" } ] }
JSON

ip netns add "$c"; ip netns add "$k"
ip -n "$c" link set lo up; ip -n "$k" link set lo up
ip link add "$vc" netns "$c" type veth peer name "$vk" netns "$k"
ip -n "$c" addr add 203.0.113.1/24 dev "$vc"; ip -n "$k" addr add 203.0.113.2/24 dev "$vk"
ip -n "$c" link set "$vc" up; ip -n "$k" link set "$vk" up

ip netns exec "$c" python3 "$here/backend.py" 9000 & pids+=($!)
ip netns exec "$k" python3 "$here/backend.py" 9000 & pids+=($!)
ip netns exec "$c" dotnet "$dll" --tap "$tap" --address 198.51.100.3/24 --config "$work/config.json" --http-port 0 \
  --max-connections 4096 > "$work/netstack.log" 2>&1 & pids+=($!)
ip netns exec "$k" dotnet "$dll" --kernel --address 203.0.113.2 --config "$work/config.json" --http-port 0 \
  --max-connections 4096 > "$work/kernel.log" 2>&1 & pids+=($!)
for i in $(seq 100); do grep -q "ready" "$work/netstack.log" 2>/dev/null && grep -q "ready" "$work/kernel.log" 2>/dev/null && break; sleep 0.2; done
ip -n "$c" addr add 198.51.100.1/24 dev "$tap"; ip -n "$c" link set "$tap" up
sleep 1

# The NetStack tunnel answers at 198.51.100.3 (over the TAP), the kernel one at 203.0.113.2 (over the veth).
handshakes() { # ADDRESS -> connections per second
  ip netns exec "$c" openssl s_time -connect "$1:443" -new -time "$hs_seconds" 2>/dev/null \
    | awk '/connections in .* real seconds/ { printf "%.1f", $1 / $4 }'
}
bulk() { # ADDRESS -> Mbit/s
  ip netns exec "$c" curl -sk --max-time 300 --resolve "bench.example.test:443:$1" -o /dev/null -w '%{speed_download}' \
    "https://bench.example.test/$((bulk_mb * 1000000))" | awk '{ printf "%.0f", $1 * 8 / 1e6 }'
}
handshakes 198.51.100.3 >/dev/null; handshakes 203.0.113.2 >/dev/null   # warm-up (JIT, ARP, TLS session setup)
echo "round netstack_hs/s kernel_hs/s hs_ratio netstack_Mbit/s kernel_Mbit/s bulk_ratio"
rows=()
for r in $(seq "$rounds"); do
  hn=$(handshakes 198.51.100.3); hk=$(handshakes 203.0.113.2)
  bn=$(bulk 198.51.100.3); bk=$(bulk 203.0.113.2)
  row="$hn $hk $(awk "BEGIN { printf \"%.2f\", $hn / $hk }") $bn $bk $(awk "BEGIN { printf \"%.2f\", $bn / $bk }")"
  rows+=("$row"); echo "$r $row"
done
# Medians of each column (the ratios are medians of the per-round ratios, each measured back to back).
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
m="median"
for col in 1 2 3 4 5 6; do m="$m $(printf '%s\n' "${rows[@]}" | awk -v c=$col '{ print $c }' | median)"; done
echo "$m"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
