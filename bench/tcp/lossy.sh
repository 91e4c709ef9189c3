#!/usr/bin/env bash
# Loss recovery on a lossy LAN, NetStack against Linux in the same run (interleaved rounds, medians):
#   ref4/ref6  Linux -> Linux through a lossy wire: the C relay (../shared/perf/relay.c, or RELAY_C) between two TAPs
#              in two namespaces, dropping each frame with probability LOSS (-d LOSS), both directions
#   rx4/rx6    Linux -> netstackd --discard over a TAP, netstackd run with --fault-drop LOSS (both directions)
#   tx4/tx6    netstackd --chargen -> Linux over a TAP, same faults; the kernel reads BYTES and closes
# Each transfer moves BYTES (socat; the kernel side's default buffers and CUBIC). RTOs per transfer: the sending
# kernel's TcpExtTCPTimeouts (nstat, per namespace) for ref and rx, netstackd's own "timeouts=" counter (TcpStatistics,
# printed on exit; netstackd runs once per transfer, seeded with the round) for tx. The ratio column is the median of
# the per-round ratios time(path) / time(ref of the same family).
#
#   sudo bench/tcp/lossy.sh [ROUNDS=3] [BYTES=100000000] [LOSS=0.05]      (from the repository root or anywhere)
#   NETSTACKD=path/to/netstackd.dll overrides the build measured (default: samples/netstackd Release);
#   NSD_ARGS="..." adds netstackd options (e.g. --tcp-buffer 1048576);
#   PATHS="ref4 rx4 ref6 rx6" measures only those paths (default: all six).
#   NSD_TCP=1 prints netstackd's TCP counters after each of its transfers, and the sending kernel's retransmission
#   counters (nstat in its namespace: TcpRetransSegs, D-SACKs received...) per ref and rx transfer, with their medians
#   per path in a second table (the ref receiver's D-SACKs and segments sent per round too, on stderr).
#   REF_CC=cubic|bbr|reno sets the ref senders' congestion control (TCP_CONGESTION on the socket); default: the
#   kernel's (net.ipv4.tcp_congestion_control, printed in the summary). NetStack's senders (tx) use what netstackd
#   runs by default, the namespace's net.ipv4.tcp_congestion_control when NetStack has it (else CUBIC), or what
#   NSD_ARGS="--cc cubic|newreno|bbr" sets (printed). Where the
#   kernel's default is BBR, ref measures a rate-based sender that does not slow down for random loss, which no
#   loss-based algorithm (CUBIC, Reno: RFC 9438 §4.6, RFC 5681 §3.1) can match at 5 % loss; REF_CC=cubic compares
#   like with like (and, without --cc in NSD_ARGS, runs netstackd's senders with the same algorithm) (bench/README.md, "Loss recovery on a lossy LAN").
#
# Everything happens in namespaces made here (lossy-*-PID) with documentation addresses (192.0.2.0/24, 203.0.113.0/24,
# 2001:db8::/32); they are deleted on exit. Nothing touches the host's interfaces or routes.
set -uo pipefail
R=${1:-3}; BYTES=${2:-100000000}; LOSS=${3:-0.05}
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, TAP)" >&2; exit 1; }
for t in socat nstat gcc; do command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }; done
DLL=${NETSTACKD:-$(ls "$root"/samples/netstackd/bin/Release/net*/netstackd.dll 2>/dev/null | head -1)}
[ -f "$DLL" ] || { echo "no netstackd build: dotnet build samples/netstackd -c Release" >&2; exit 1; }
RELAY_C=${RELAY_C:-$root/../shared/perf/relay.c}; [ -f "$RELAY_C" ] || RELAY_C=/work/shared/perf/relay.c
W=$(mktemp -d); gcc -O2 -pthread -I"$(dirname "$RELAY_C")" -o $W/relay "$RELAY_C" || exit 1
A=lossy-a-$$; B=lossy-b-$$; T=lossy-t-$$
# REF_CC without --cc in NSD_ARGS: netstackd's senders run the same algorithm (Linux's reno is NetStack's newreno)
if [ -n "${REF_CC:-}" ] && ! echo " ${NSD_ARGS:-} " | grep -q ' --cc '; then
  NSD_ARGS="${NSD_ARGS:-} --cc $([ "$REF_CC" = reno ] && echo newreno || echo "$REF_CC")"
fi
RELAY=""; NSD=""; SINKS=""
cleanup() {
  [ -n "$NSD" ] && kill -TERM $NSD 2>/dev/null && wait $NSD 2>/dev/null
  [ -n "$RELAY" ] && kill -TERM $RELAY 2>/dev/null && wait $RELAY 2>/dev/null
  for p in $SINKS; do kill $p 2>/dev/null; done
  for ns in $A $B $T; do ip netns del $ns 2>/dev/null; done
  rm -rf $W
}
trap cleanup EXIT
nsb() { ip netns add $1; ip -n $1 link set lo up; ip netns exec $1 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; }
nsb $A; nsb $B; nsb $T
# the lossy wire: two TAPs joined by the C relay
ip -n $A tuntap add dev lta mode tap; ip -n $B tuntap add dev ltb mode tap
ip -n $A addr add 203.0.113.1/24 dev lta; ip -n $B addr add 203.0.113.2/24 dev ltb
ip -n $A addr add 2001:db8:2::1/64 dev lta nodad; ip -n $B addr add 2001:db8:2::2/64 dev ltb nodad
ip -n $A link set lta up; ip -n $B link set ltb up
$W/relay -d $LOSS -s 7 $A lta $B ltb >/dev/null 2>&1 & RELAY=$!
ip netns exec $B socat -u TCP4-LISTEN:9,fork,reuseaddr - >/dev/null 2>&1 & SINKS="$SINKS $!"
ip netns exec $B socat -u TCP6-LISTEN:9,fork,reuseaddr,ipv6only=1 - >/dev/null 2>&1 & SINKS="$SINKS $!"
# netstackd's TAP: the kernel is 192.0.2.1 / 2001:db8:1::1, netstackd 192.0.2.9 / 2001:db8:1::9
ip -n $T tuntap add dev ltt mode tap; ip -n $T addr add 192.0.2.1/24 dev ltt; ip -n $T addr add 2001:db8:1::1/64 dev ltt nodad
ip -n $T link set ltt up
sleep 1
for i in 1 2 3 4 5 6 7 8 9 10; do ip netns exec $A ping -c1 -W1 203.0.113.2 >/dev/null 2>&1 && break; done
for i in 1 2 3 4 5 6 7 8 9 10; do ip netns exec $A ping -6 -c1 -W1 2001:db8:2::2 >/dev/null 2>&1 && break; done

now() { date +%s.%N; }
timeouts() { ip netns exec $1 nstat -az TcpExtTCPTimeouts | awk '$1=="TcpExtTCPTimeouts"{print $2}'; }
# NSD_TCP=1 also prints the sending kernel's retransmission counters per ref/rx transfer (deltas of nstat in its
# namespace) and, for ref, the receiving kernel's D-SACKs and ACKs sent; medians per path in a second table.
SND_CTRS="TcpRetransSegs TcpExtTCPDSACKRecv TcpExtTCPDSACKOfoRecv TcpExtTCPLostRetransmit TcpExtTCPSackRecovery TcpExtTCPSACKReorder TcpExtTCPDSACKUndo"
RCV_CTRS="TcpExtTCPDSACKOldSent TcpExtTCPDSACKOfoSent TcpOutSegs"
ctrs() { ip netns exec $1 nstat -az $2 2>/dev/null | awk -v l="$2" 'BEGIN{n=split(l,k," ")} {v[$1]=$2} END{for(i=1;i<=n;i++) printf "%d ", v[k[i]]}'; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN{n=split(a,x," "); split(b,y," "); for(i=1;i<=n;i++) printf "%d ", y[i]-x[i]}'; }
start_nsd() { # seed
  ip netns exec $T dotnet "$DLL" --tap ltt --mac 02:00:00:00:00:09 --address 192.0.2.9/24 --address 2001:db8:1::9/64 \
    --discard 9 --chargen 19 --fault-drop $LOSS --seed $1 ${NSD_ARGS:-} > $W/nsd.log 2>&1 &
  NSD=$!
  for i in $(seq 1 50); do grep -q "ready" $W/nsd.log 2>/dev/null && break; sleep 0.2; done
  # resolve both families before timing (the ping may be dropped: retry)
  for i in $(seq 1 20); do ip netns exec $T ping -c1 -W1 192.0.2.9 >/dev/null 2>&1 && break; done
  for i in $(seq 1 20); do ip netns exec $T ping -6 -c1 -W1 2001:db8:1::9 >/dev/null 2>&1 && break; done
}
stop_nsd() { kill -TERM $NSD 2>/dev/null; wait $NSD 2>/dev/null; NSD=""; sed -n 's/^netstackd: tcp congestion control \([a-z]*\).*/\1/p' $W/nsd.log >> $W/txcc; NSD_RTO=$(sed -n 's/.* timeouts=\([0-9]*\).*/\1/p' $W/nsd.log | head -1); stop_nsd_log; }
# NSD_TCP=1: print netstackd's TCP counters (probes, retransmissions, timeouts...) after each of its transfers, on stderr
stop_nsd_log() { [ -n "${NSD_TCP:-}" ] && grep -h "tcp: " $W/nsd.log >&2; }
run() { # path round -> "seconds rtos bytes"
  local p=$1 r=$2 t0 t1 k0 k1 n rto
  case $p in
    ref4|ref6)
      local dst=203.0.113.2 proto=TCP4; [ $p = ref6 ] && { dst=[2001:db8:2::2]; proto=TCP6; }
      [ -n "${NSD_TCP:-}" ] && { s0=$(ctrs $A "$SND_CTRS"); q0=$(ctrs $B "$RCV_CTRS"); }
      k0=$(timeouts $A); t0=$(now)
      ip netns exec $A socat -u OPEN:/dev/zero,readbytes=$BYTES $proto:$dst:9${REF_CC:+,setsockopt-string=6:13:$REF_CC} 2>/dev/null && n=$BYTES || n=0
      t1=$(now); k1=$(timeouts $A); rto=$((k1 - k0))
      [ -n "${NSD_TCP:-}" ] && { SNDSTATS="$(delta "$s0" "$(ctrs $A "$SND_CTRS")")"; RCVSTATS="$(delta "$q0" "$(ctrs $B "$RCV_CTRS")")"; } ;;
    rx4|rx6)
      local dst=192.0.2.9 proto=TCP4; [ $p = rx6 ] && { dst=[2001:db8:1::9]; proto=TCP6; }
      start_nsd $r; [ -n "${NSD_TCP:-}" ] && s0=$(ctrs $T "$SND_CTRS"); k0=$(timeouts $T); t0=$(now)
      ip netns exec $T socat -u OPEN:/dev/zero,readbytes=$BYTES $proto:$dst:9 2>/dev/null && n=$BYTES || n=0
      t1=$(now); k1=$(timeouts $T); [ -n "${NSD_TCP:-}" ] && { SNDSTATS="$(delta "$s0" "$(ctrs $T "$SND_CTRS")")"; RCVSTATS=""; }
      stop_nsd; rto=$((k1 - k0)) ;;
    tx4|tx6)
      local dst=192.0.2.9 proto=TCP4; [ $p = tx6 ] && { dst=[2001:db8:1::9]; proto=TCP6; }
      start_nsd $r; t0=$(now)
      n=$(ip netns exec $T socat -u $proto:$dst:19 - 2>/dev/null | head -c $BYTES | wc -c)
      t1=$(now); stop_nsd; rto=$NSD_RTO ;;
  esac
  awk -v a=$t0 -v b=$t1 -v r=${rto:-?} -v n=$n 'BEGIN{printf "%.3f %s %d", b-a, r, n}'
  if [ -n "${NSD_TCP:-}" ] && [ -n "${SNDSTATS:-}" ]; then
    echo -e "$r\t$p\t$SNDSTATS\t$RCVSTATS" >> $W/senders.tsv
    echo "round $r $p sender: $(paste -d= <(tr ' ' '\n' <<<"$SND_CTRS") <(tr ' ' '\n' <<<"$SNDSTATS") | tr '\n' ' ')${RCVSTATS:+receiver: $(paste -d= <(tr ' ' '\n' <<<"$RCV_CTRS") <(tr ' ' '\n' <<<"$RCVSTATS") | tr '\n' ' ')}" >&2
  fi
  SNDSTATS=""
}
: > $W/rounds.tsv; : > $W/senders.tsv
for r in $(seq 1 $R); do
  order="ref4 rx4 tx4 ref6 rx6 tx6"; [ $((r % 2)) = 0 ] && order="tx6 rx6 ref6 tx4 rx4 ref4"
  for p in $order; do
    case " ${PATHS:-ref4 rx4 tx4 ref6 rx6 tx6} " in *" $p "*) ;; *) continue ;; esac
    set -- $(run $p $r)
    echo -e "$r\t$p\t$1\t$2\t$3" >> $W/rounds.tsv
    echo "round $r $p: $1 s, $2 RTOs, $3 bytes" >&2
  done
done
REFCC=${REF_CC:-$(ip netns exec $A sysctl -n net.ipv4.tcp_congestion_control)}
# what netstackd said it ran (its default is the namespace's net.ipv4.tcp_congestion_control when it has that
# algorithm; a build from before it said so ran CUBIC unless NSD_ARGS gave --cc)
TXCC=$(sort -u $W/txcc 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
[ -n "$TXCC" ] || { TXCC=$(echo " ${NSD_ARGS:-} " | sed -n 's/.* --cc \([a-z]*\) .*/\1/p'); TXCC=${TXCC:-cubic}; }
echo "== ref senders' congestion control: $REFCC (the rx senders: the kernel's default; tx: NetStack's $TXCC)"
echo "== $BYTES bytes at $LOSS loss both ways, $R rounds: time s median [min..max], RTOs per transfer median [min..max], x ref (median of per-round ratios)"
printf "%-5s %-28s %-18s %s\n" path "time s" "RTOs" "x Linux"
for p in ref4 rx4 tx4 ref6 rx6 tx6; do
  grep -q "	$p	" $W/rounds.tsv || continue
  ref=ref4; [ ${p: -1} = 6 ] && ref=ref6
  t=$(awk -F'\t' -v p=$p '$2==p{print $3}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{printf "%.2f [%.2f..%.2f]", a[int((NR+1)/2)], a[1], a[NR]}')
  k=$(awk -F'\t' -v p=$p '$2==p{print $4}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{printf "%s [%s..%s]", a[int((NR+1)/2)], a[1], a[NR]}')
  x=$(awk -F'\t' -v p=$p -v q=$ref '$2==p{x[$1]=$3} $2==q{y[$1]=$3} END{for(k in x) if(y[k]>0) print x[k]/y[k]}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{printf "%.2f", a[int((NR+1)/2)]}')
  short=$(awk -F'\t' -v p=$p -v b=$BYTES '$2==p && $5!=b' $W/rounds.tsv | wc -l)
  printf "%-5s %-28s %-18s %s%s\n" $p "$t" "$k" "$x" "$([ $short -gt 0 ] && echo "  ($short transfers short)")"
done
if [ -n "${NSD_TCP:-}" ] && [ -s $W/senders.tsv ]; then
  echo "== the sending kernel per transfer, medians (nstat deltas in its namespace): retrans TcpRetransSegs, D-SACKs received"
  echo "   (retransmissions the receiver already held) below its ACK (dsacks: TCPDSACKRecv) and above it (ofo: TCPDSACKOfoRecv),"
  echo "   lostretx TCPLostRetransmit, recov TCPSackRecovery"
  printf "%-5s %-9s %-9s %-9s %-9s %-9s\n" path retrans dsacks ofo lostretx recov
  for p in ref4 rx4 tx4 ref6 rx6 tx6; do
    grep -q "	$p	" $W/senders.tsv || continue
    med() { awk -F'\t' -v p=$p -v c=$1 '$2==p{split($3,v," "); print v[c]}' $W/senders.tsv | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
    printf "%-5s %-9s %-9s %-9s %-9s %-9s\n" $p $(med 1) $(med 2) $(med 3) $(med 4) $(med 5)
  done
fi
