#!/usr/bin/env bash
# run.sh ROUNDS [N] — UDP 64-byte request/response RTT, interleaved rounds, the same C client (udppp) on every path:
#   veth    : kernel -> kernel echo (udpecho) over a veth pair between two namespaces           [reference]
#   ns      : kernel -> netstackd --udp-echo over one TAP (continuations on the loop thread, the default)
#   ns-pool : the same netstackd build with NETSTACKD_UDP_ECHO_THREADPOOL=1 (continuations on the thread pool)
#   ns-base : BASELINE=path/to/netstackd.dll, another build (e.g. main before a change), when given
# Every netstackd runs in its own namespace on its own TAP; namespace and link names carry this run's PID, so the
# script can run beside perf/paired.sh or another copy of itself. Prints each round, then per path the median p50 and the
# median of the per-round ratios to veth.
# STRACE=1 then counts each netstackd's system calls over one more run of N exchanges (strace -f -c).
# Usage, as root from the project root after `dotnet build samples/netstackd -c Release`:
#   bash bench/udp-latency/run.sh 5
# C sources: /work/shared/perf/udppp.c and udpecho.c (PERF_SRC overrides).
set -u
R=${1:-5}; N=${2:-10000}
src=${PERF_SRC:-/work/shared/perf}
W=$(mktemp -d /tmp/udplat.XXXXXX)
DLL=${NETSTACKD:-$(ls samples/netstackd/bin/Release/net*/netstackd.dll 2>/dev/null | head -1)}
[ -f "$DLL" ] || { echo "no netstackd build"; exit 1; }
for p in udppp udpecho; do gcc -O2 -o $W/$p $src/$p.c || exit 1; done
A=ulA$$; B=ulB$$
PIDS=""; NSS="$A $B"
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; sleep 0.5; for ns in $NSS; do ip netns del $ns 2>/dev/null; done; rm -rf $W; }
trap cleanup EXIT
nsb() { ip netns add $1; ip -n $1 link set lo up; NSS="$NSS $1"; }
ip netns add $A; ip -n $A link set lo up; ip netns add $B; ip -n $B link set lo up
ip link add ulva$$ netns $A type veth peer name ulvb$$ netns $B
ip -n $A addr add 198.51.100.1/24 dev ulva$$; ip -n $B addr add 198.51.100.2/24 dev ulvb$$
ip -n $A link set ulva$$ up; ip -n $B link set ulvb$$ up
ip netns exec $B $W/udpecho 0.0.0.0 7 >/dev/null 2>&1 & PIDS="$PIDS $!"
declare -A NSOF PIDOF
start_ns() { # path dll env
  local ns=ul${1//-/}$$; nsb $ns; NSOF[$1]=$ns
  ip -n $ns tuntap add dev tap0 mode tap; ip -n $ns addr add 192.0.2.1/24 dev tap0; ip -n $ns link set tap0 up
  env $3 ip netns exec $ns dotnet "$2" --tap tap0 --mac 02:00:00:00:00:09 --address 192.0.2.9/24 --udp-echo 7 > $W/$1.log 2>&1 &
  PIDOF[$1]=$!; PIDS="$PIDS $!"
}
PATHS="veth ns ns-pool"
start_ns ns "$DLL" NETSTACKD_UDP_ECHO_THREADPOOL=0
start_ns ns-pool "$DLL" NETSTACKD_UDP_ECHO_THREADPOOL=1
if [ -n "${BASELINE:-}" ]; then start_ns ns-base "$BASELINE" NETSTACKD_UDP_ECHO_THREADPOOL=0; PATHS="$PATHS ns-base"; fi
for p in $PATHS; do
  [ $p = veth ] && continue
  for i in $(seq 1 120); do ip netns exec ${NSOF[$p]} ping -c1 -W1 192.0.2.9 >/dev/null 2>&1 && break; done
  ip netns exec ${NSOF[$p]} ping -c1 -W2 192.0.2.9 >/dev/null || { echo "netstackd ($p) not answering"; cat $W/$p.log; exit 1; }
done
rtt() { case $1 in veth) ip netns exec $A $W/udppp 198.51.100.2 7 $N 64 ;; *) ip netns exec ${NSOF[$1]} $W/udppp 192.0.2.9 7 $N 64 ;; esac; }
: > $W/rounds.tsv
for r in $(seq 1 $R); do
  order=$PATHS; [ $((r%2)) = 0 ] && order=$(echo $PATHS | tr ' ' '\n' | tac | tr '\n' ' ')
  for p in $order; do
    line=$(rtt $p)
    printf 'round %d %-7s %s\n' $r $p "$line"
    echo -e "$r\t$p\t$(echo "$line" | sed -n 's/.* p50=\([0-9.]*\).*/\1/p')" >> $W/rounds.tsv
  done
done
echo "== UDP 64 B request/response p50, $R rounds of $N (median [min..max]; median of per-round ratios to veth); load $(cut -d' ' -f1-3 /proc/loadavg)"
for p in $PATHS; do
  awk -F'\t' -v p=$p '$2==p{print $3}' $W/rounds.tsv | sort -g | awk -v p=$p '{a[NR]=$1} END{printf "%-8s p50 %6.1f us [%.1f..%.1f]", p, a[int((NR+1)/2)], a[1], a[NR]}'
  awk -F'\t' -v p=$p '$2==p{x[$1]=$3} $2=="veth"{y[$1]=$3} END{for(k in x) if(y[k]>0) print x[k]/y[k]}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{printf "  x veth %.2f\n", a[int((NR+1)/2)]}'
done
if [ "${STRACE:-0}" = 1 ]; then
  for p in $PATHS; do
    [ $p = veth ] && continue
    strace -f -c -p ${PIDOF[$p]} -o $W/strace-$p.txt 2>/dev/null & ST=$!; sleep 1
    rtt $p >/dev/null
    kill -INT $ST; wait $ST 2>/dev/null
    echo "== $p: system calls of netstackd over $((N + 1000)) request/responses (strace -f -c; calls / exchange)"
    awk -v n=$((N + 1000)) 'NR>2 && $NF!="total" && $1 ~ /^[0-9.]+$/ { c = ($5 ~ /^[0-9]+$/) ? $4 : $4; printf "  %-14s %8d  %.2f\n", $NF, $4, $4/n }' $W/strace-$p.txt | sort -k2 -nr | head -8
  done
fi
