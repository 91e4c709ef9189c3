#!/usr/bin/env bash
# The quiet-path cost of each way netstackd can read its TAP (--rx thread | filter | loop): UDP 64 B request/response
# p50 (udppp, 10000 after 1000 warm-up) against each, interleaved with the kernel over a veth pair as the reference of
# the same run, ROUNDS rounds (the order alternates); prints every round and the medians, with the load.
#
#   sudo bash bench/flood/rxmodes-udp.sh [ROUNDS=5] [MODES="thread filter loop"]
#
# Needs root, gcc, iproute2, a Release build of samples/netstackd; the C programs come from /work/shared/perf (PERF_DIR).
# Network safety: namespaces made here (nsrxm-PID-*), documentation addresses only, deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-5}
modes=${2:-"thread filter loop"}
src=${PERF_DIR:-/work/shared/perf}
dll=samples/netstackd/bin/Release/net10.0/netstackd.dll
[ -f "$dll" ] || { echo "build samples/netstackd in Release first" >&2; exit 1; }
work=$(mktemp -d)
p=nsrxm-$$
pids=()
nss=()
cleanup() {
  for x in "${pids[@]}"; do kill "$x" 2>/dev/null || true; done
  sleep 0.3
  for n in "${nss[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -pthread -o "$work/udppp" "$src/udppp.c"
gcc -O2 -pthread -o "$work/udpecho" "$src/udpecho.c"
nsb() { ip netns add "$1"; nss+=("$1"); ip -n "$1" link set lo up; }
nsb $p-a; nsb $p-b
ip link add rxmva netns $p-a type veth peer name rxmvb netns $p-b
ip -n $p-a addr add 198.51.100.1/24 dev rxmva; ip -n $p-b addr add 198.51.100.2/24 dev rxmvb
ip -n $p-a link set rxmva up; ip -n $p-b link set rxmvb up
ip netns exec $p-b "$work/udpecho" 0.0.0.0 7 >/dev/null 2>&1 & pids+=($!)
i=0
for m in $modes; do
  i=$((i + 1))
  nsb $p-$m
  ip -n $p-$m tuntap add dev tap0 mode tap; ip -n $p-$m addr add 192.0.2.1/24 dev tap0; ip -n $p-$m link set tap0 up
  ip netns exec $p-$m dotnet "$dll" --tap tap0 --mac 02:00:00:00:00:0$i --address 192.0.2.9/24 --udp-echo 7 --rx "$m" > "$work/$m.log" 2>&1 &
  pids+=($!)
done
sleep 4
for m in $modes; do
  ok=0
  for _ in $(seq 1 30); do ip netns exec $p-$m ping -c1 -W1 192.0.2.9 >/dev/null 2>&1 && { ok=1; break; }; done
  [ $ok = 1 ] || { echo "netstackd --rx $m not answering"; cat "$work/$m.log"; exit 1; }
done
p50() { ip netns exec "$1" "$work/udppp" "$2" 7 10000 64 | grep -o 'p50[= ]*[0-9.]*' | grep -o '[0-9.]*$'; }
: > "$work/r.tsv"
for r in $(seq 1 "$rounds"); do
  order="veth $modes"; [ $((r % 2)) = 0 ] && order="$(echo $modes | tr ' ' '\n' | tac | tr '\n' ' ')veth"
  for x in $order; do
    if [ "$x" = veth ]; then v=$(p50 $p-a 198.51.100.2); else v=$(p50 $p-$x 192.0.2.9); fi
    echo -e "$r\t$x\t$v" >> "$work/r.tsv"
  done
  echo "round $r: $(awk -F'\t' -v r=$r '$1==r{printf "%s %s  ", $2, $3}' "$work/r.tsv") load $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "== UDP 64 B request/response p50 (us), median of $rounds rounds [min..max], ratio to veth (median of per-round ratios); load $(cut -d' ' -f1-3 /proc/loadavg)"
for x in veth $modes; do
  awk -F'\t' -v x=$x '$2==x{print $3}' "$work/r.tsv" | sort -g | awk -v x=$x '{a[NR]=$1} END{printf "%-7s %6.1f [%.1f..%.1f]", x, a[int((NR+1)/2)], a[1], a[NR]}'
  awk -F'\t' -v x=$x '$2==x{y[$1]=$3} $2=="veth"{v[$1]=$3} END{for(k in y) if(v[k]>0) print y[k]/v[k]}' "$work/r.tsv" | sort -g | awk '{a[NR]=$1} END{printf "  x%.2f\n", a[int((NR+1)/2)]}'
done
