#!/usr/bin/env bash
# iperf3.sh ROUNDS SECONDS [BYTES] — the stock iperf3 client from the kernel against netstackd --iperf3, beside the
# references measured in the same run, interleaved round by round (the approach of /work/shared/perf/paired.sh):
#   veth       : iperf3 -c -> the kernel's iperf3 -s over a veth pair                  [kernel ceiling]
#   ns-iperf3  : iperf3 -c -> netstackd --iperf3 over one TAP (kernel sends)
#   ns-iperf3R : iperf3 -c -R -> netstackd --iperf3 over one TAP (netstackd sends)
#   ns-socat   : socat -> netstackd --discard over the same TAP, BYTES bytes (paired.sh's ns-rx figure)
# Prints per path the median receiver Gbit/s [min..max], netstackd's CPU s/GB, and the ratio of each netstackd path to
# ns-socat (median of per-round ratios). Run as root from the project root after a Release build of samples/netstackd:
#   sudo bash bench/tap/iperf3.sh 4 3
# NETSTACKD=path/to/netstackd.dll overrides the build it measures. Namespaces and links are this run's own (PID-named).
set -u
R=${1:-4}; T=${2:-3}; BYTES=${3:-400000000}
DLL=${NETSTACKD:-$(ls samples/netstackd/bin/Release/net*/netstackd.dll 2>/dev/null | head -1)}
[ -f "$DLL" ] || { echo "no netstackd build"; exit 1; }
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)"; exit 1; }
S=$$; A=i3a$S; B=i3b$S; N=i3t$S; TAP=i3tap$S; W=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; sleep 0.3; for ns in $A $B $N; do ip netns del $ns 2>/dev/null; done; rm -rf $W; }
trap cleanup EXIT
nsb() { ip netns add $1; ip -n $1 link set lo up; }
nsb $A; nsb $B; nsb $N
ip link add i3va$S netns $A type veth peer name i3vb$S netns $B
ip -n $A addr add 198.51.100.1/24 dev i3va$S; ip -n $B addr add 198.51.100.2/24 dev i3vb$S
ip -n $A link set i3va$S up; ip -n $B link set i3vb$S up
ip -n $N tuntap add dev $TAP mode tap; ip -n $N addr add 192.0.2.1/24 dev $TAP; ip -n $N link set $TAP up
ip netns exec $N dotnet "$DLL" --tap $TAP --mac 02:00:00:00:00:09 --address 192.0.2.9/24 --iperf3 5201 --discard 9 > $W/netstackd.log 2>&1 &
NSD=$!; PIDS="$PIDS $NSD"
ip netns exec $B iperf3 -s > /dev/null 2>&1 & PIDS="$PIDS $!"
for i in $(seq 1 50); do grep -q "netstackd: ready" $W/netstackd.log && break; sleep 0.2; done
ip netns exec $N ping -c1 -W5 192.0.2.9 >/dev/null || { echo "netstackd not answering"; cat $W/netstackd.log; exit 1; }
cpu_of() { awk '{print $14+$15}' /proc/$1/stat; }
tk=$(getconf CLK_TCK)
iperf() { # ns args -> "gbps bytes" (receiver side)
  ip netns exec $1 iperf3 -J $2 2>/dev/null | python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print("%.3f %d" % (e["bits_per_second"]/1e9, e["bytes"]))'
}
: > $W/rounds.tsv
for r in $(seq 1 $R); do
  order="veth nsiperf nsiperfR nssocat"; [ $((r%2)) = 0 ] && order="nssocat nsiperfR nsiperf veth"
  for p in $order; do
    c0=$(cpu_of $NSD)
    case $p in
      veth) read g n < <(iperf $A "-c 198.51.100.2 -t $T") ;;
      nsiperf) read g n < <(iperf $N "-c 192.0.2.9 -t $T") ;;
      nsiperfR) read g n < <(iperf $N "-c 192.0.2.9 -t $T -R") ;;
      nssocat) t0=$(date +%s.%N); ip netns exec $N socat -b 1048576 -u OPEN:/dev/zero,readbytes=$BYTES TCP4:192.0.2.9:9 2>/dev/null
               t1=$(date +%s.%N); n=$BYTES; g=$(awk -v b=$BYTES -v a=$t0 -v c=$t1 'BEGIN{printf "%.3f", b*8/(c-a)/1e9}') ;;
    esac
    c1=$(cpu_of $NSD)
    c=-; [ $p != veth ] && c=$(awk -v a=$c0 -v b=$c1 -v t=$tk -v B=$n 'BEGIN{printf "%.2f", (b-a)/t/(B/1e9)}')
    echo -e "$r\t$p\t$g\t$c" >> $W/rounds.tsv
  done
done
echo "== iperf3 -t $T (receiver figure) and socat ($BYTES bytes), $R interleaved rounds: Gbit/s median [min..max]; netstackd CPU s/GB; x ns-socat"
for p in veth nsiperf nsiperfR nssocat; do
  name=$(case $p in veth) echo veth;; nsiperf) echo ns-iperf3;; nsiperfR) echo ns-iperf3R;; nssocat) echo ns-socat;; esac)
  awk -F'\t' -v p=$p '$2==p{print $3}' $W/rounds.tsv | sort -g | awk -v n=$name '{a[NR]=$1} END{printf "%-11s %7.3f [%.3f..%.3f]", n, a[int((NR+1)/2)], a[1], a[NR]}'
  awk -F'\t' -v p=$p '$2==p && $4!="-"{print $4}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{if(NR) printf "  cpu %.2f s/GB", a[int((NR+1)/2)]}'
  awk -F'\t' -v p=$p '$2==p{x[$1]=$3} $2=="nssocat"{y[$1]=$3} END{for(k in x) if(y[k]>0) print x[k]/y[k]}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{printf "  x ns-socat %.2f\n", a[int((NR+1)/2)]}'
done
