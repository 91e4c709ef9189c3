#!/usr/bin/env bash
# bench/tap/paired/paired.sh ROUNDS BYTES — the TCP bulk half of /work/shared/perf/paired.sh, for IPv4 AND IPv6, with an
# optional second netstackd build interleaved in the same run (before/after on the same machine load):
#   veth     : kernel -> kernel over a veth pair                                        [reference ceiling]
#   crelayv  : kernel -> C relay with IFF_VNET_HDR + TSO super-frames -> kernel, two TAPs [the issue's reference]
#   vethtx   : kernel -> kernel over the veth pair, the other way, read as nstx reads       [sending reference]
#   nsrx     : kernel -> netstackd --discard over one TAP
#   nstx     : netstackd --chargen -> kernel over one TAP (the client reads BYTES into /dev/null, as on the other paths)
#   nsrx-base / nstx-base : the same against BASELINE=path/to/netstackd.dll (only when BASELINE is set)
# Every path runs once per round and family, the order reversed every other round. Prints per family and path: median
# Gbit/s [min..max], netstackd CPU s/GB (median), and the median of the per-round ratios to crelayv and veth.
# Usage, as root from the tree's root after `dotnet build samples/netstackd -c Release`:
#   bash bench/tap/paired/paired.sh 4 400000000
#   FAMILIES=6 BASELINE=/tmp/before/netstackd.dll bash bench/tap/paired/paired.sh 4 400000000
#   NETSTACKD_ARGS / BASELINE_ARGS: options added to the measured / baseline netstackd's command line, e.g. both builds the
#   same and the receive mode compared: BASELINE=$PWD/samples/netstackd/bin/Release/net10.0/netstackd.dll \
#   BASELINE_ARGS="--rx thread" NETSTACKD_ARGS="--rx filter" bash bench/tap/paired/paired.sh 3 400000000
#   TXSINK=wc (nstx read for 3 s through `socat | wc -c`, as before 2026-12-07), WARMUP=N (transfers per path, default 3)
# Namespaces and devices are named after this shell's PID (several runs may share the machine) and deleted on exit.
set -u
R=${1:-4}; BYTES=${2:-400000000}; FAMILIES=${FAMILIES:-"4 6"}
here=$(cd "$(dirname "$0")" && pwd)
W=/tmp/netstack-paired-$$; mkdir -p $W
DLL=${NETSTACKD:-$(ls samples/netstackd/bin/Release/net*/netstackd.dll 2>/dev/null | head -1)}
[ -f "$DLL" ] || { echo "no netstackd build"; exit 1; }
BASE=${BASELINE:-}
gcc -O2 -pthread -o $W/relay $here/relay.c || exit 1
A=pqA$$; B=pqB$$; T=pqT$$; U=pqU$$
PIDS=""
cleanup() { for p in $PIDS; do kill $p 2>/dev/null; done; sleep 0.3; for ns in $A $B $T $U; do ip netns del $ns 2>/dev/null; done; rm -rf $W; }
trap cleanup EXIT
nsb() { ip netns add $1; ip -n $1 link set lo up; ip netns exec $1 sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0; }
nsb $A; nsb $B; nsb $T
ip link add pqva netns $A type veth peer name pqvb netns $B
ip -n $A addr add 198.51.100.1/24 dev pqva; ip -n $B addr add 198.51.100.2/24 dev pqvb
ip -n $A addr add fd00:12:1::1/64 dev pqva nodad; ip -n $B addr add fd00:12:1::2/64 dev pqvb nodad
ip -n $A link set pqva up; ip -n $B link set pqvb up
nsd() { # ns dll [extra options] -> pid
  ip -n $1 tuntap add dev tap0 mode tap; ip -n $1 addr add 192.0.2.1/24 dev tap0; ip -n $1 addr add fd00:12:3::1/64 dev tap0 nodad
  ip -n $1 link set tap0 up
  ip netns exec $1 dotnet "$2" --tap tap0 --mac 02:00:00:00:00:09 --address 192.0.2.9/24 --address fd00:12:3::9/64 --discard 9 --chargen 19 ${3:-} > $W/netstackd.$1.log 2>&1 &
  echo $!
}
NSD=$(nsd $T "$DLL" "${NETSTACKD_ARGS:-}"); PIDS="$PIDS $NSD"
if [ -n "$BASE" ]; then nsb $U; NSDB=$(nsd $U "$BASE" "${BASELINE_ARGS:-}"); PIDS="$PIDS $NSDB"; fi
# one listener for both families (an IPv6 socket with IPV6_V6ONLY off takes IPv4 as mapped addresses)
ip netns exec $B socat -b 1048576 -u TCP6-LISTEN:9,fork,reuseaddr,ipv6only=0 - >/dev/null 2>&1 & PIDS="$PIDS $!"
# and a kernel sender (of zeros) for vethtx, read by the same client as nstx
ip netns exec $B socat -b 1048576 -u OPEN:/dev/zero TCP6-LISTEN:19,fork,reuseaddr,ipv6only=0 >/dev/null 2>&1 & PIDS="$PIDS $!"
for ns in $T ${BASE:+$U}; do
  ok=; for i in $(seq 1 240); do ip netns exec $ns ping -c1 -W1 192.0.2.9 >/dev/null 2>&1 && ip netns exec $ns ping -6 -c1 -W1 fd00:12:3::9 >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
  [ -n "$ok" ] || { echo "netstackd in $ns not answering"; cat $W/netstackd.$ns.log; exit 1; }
done
cpu_of() { awk '{print $14+$15}' /proc/$1/stat; }
tk=$(getconf CLK_TCK)
dst() { [ $1 = 6 ] && echo "TCP6:[$2]" || echo "TCP4:$2"; }
xfer() { # ns family addr port -> "gbps"
  local t0 t1 rc; t0=$(date +%s.%N)
  ip netns exec $1 socat -b 1048576 -u OPEN:/dev/zero,readbytes=$BYTES $(dst $2 $3):$4 2>>$W/socat.err; rc=$?
  t1=$(date +%s.%N); [ $rc = 0 ] || { echo "socat to $3 failed (rc $rc)" >&2; echo 0.000; return; }
  awk -v b=$BYTES -v a=$t0 -v c=$t1 'BEGIN{printf "%.3f", b*8/(c-a)/1e9}'
}
relay_on() {
  ip -n $A link del pqta 2>/dev/null; ip -n $B link del pqtb 2>/dev/null
  ip -n $A tuntap add dev pqta mode tap; ip -n $B tuntap add dev pqtb mode tap
  ip -n $A addr add 203.0.113.1/24 dev pqta; ip -n $B addr add 203.0.113.2/24 dev pqtb
  ip -n $A addr add fd00:12:2::1/64 dev pqta nodad; ip -n $B addr add fd00:12:2::2/64 dev pqtb nodad
  ip -n $A link set pqta up; ip -n $B link set pqtb up
  $W/relay -v $A pqta $B pqtb >/dev/null 2>&1 & RELAY=$!; sleep 0.5
  ip netns exec $A ping -c1 -W2 203.0.113.2 >/dev/null; ip netns exec $A ping -6 -c1 -W2 fd00:12:2::2 >/dev/null
}
relay_off() { kill $RELAY 2>/dev/null; wait $RELAY 2>/dev/null; }
rx() { # ns pid family -> "gbps cpu"
  local c0 c1 g; c0=$(cpu_of $2); g=$(xfer $1 $3 $( [ $3 = 6 ] && echo fd00:12:3::9 || echo 192.0.2.9) 9); c1=$(cpu_of $2)
  echo "$g $(awk -v a=$c0 -v b=$c1 -v t=$tk -v B=$BYTES 'BEGIN{printf "%.2f", (b-a)/t/(B/1e9)}')"
}
readfrom() { # ns family addr -> "gbps": the client of nstx and vethtx, reading BYTES from port 19 into /dev/null
  local t0 t1 rc; t0=$(date +%s.%N)
  ip netns exec $1 socat -b 1048576 -u $(dst $2 $3):19,readbytes=$BYTES - >/dev/null 2>>$W/socat.err; rc=$?
  t1=$(date +%s.%N); [ $rc = 0 ] || { echo "socat from $3 failed (rc $rc)" >&2; echo 0.000; return; }
  awk -v b=$BYTES -v a=$t0 -v c=$t1 'BEGIN{printf "%.3f", b*8/(c-a)/1e9}'
}
tx() { # ns pid family -> "gbps cpu"
  # The client reads BYTES into /dev/null (socat's readbytes), as the kernel receivers of the other paths do. Until
  # 2026-12-07 it piped 3 s of chargen into `wc -c`: two more copies per byte on the receiving side, which bound the
  # figure (the kernel itself sends 3.2-4.9 Gbit/s over veth into `socat | wc -c`, 6.2-8.1 into socat > /dev/null).
  # TXSINK=wc measures the old way.
  local c0 c1 t0 t1 n rc a; a=$(dst $3 $( [ $3 = 6 ] && echo fd00:12:3::9 || echo 192.0.2.9)):19
  c0=$(cpu_of $2); t0=$(date +%s.%N)
  if [ "${TXSINK:-null}" = wc ]; then
    n=$(ip netns exec $1 timeout -s INT 3 socat -b 1048576 -u $a - 2>/dev/null | wc -c)
  else
    ip netns exec $1 socat -b 1048576 -u $a,readbytes=$BYTES - >/dev/null 2>>$W/socat.err; rc=$?
    n=$BYTES; [ $rc = 0 ] || { echo "socat from $a failed (rc $rc)" >&2; n=0; }
  fi
  t1=$(date +%s.%N); c1=$(cpu_of $2)
  [ "$n" -gt 0 ] || { echo "0.000 -"; return; }
  echo "$(awk -v b=$n -v a=$t0 -v c=$t1 'BEGIN{printf "%.3f", b*8/(c-a)/1e9}') $(awk -v a=$c0 -v b=$c1 -v t=$tk -v B=$n 'BEGIN{printf "%.2f", (b-a)/t/(B/1e9)}')"
}
# warm-up: JIT and tiering of both builds, both directions, both families (not counted). WARMUP transfers each (3 by
# default): on a loaded machine the tiering thread waits for a CPU too, and one 400 MB transfer left it busy into the
# first measured round (schedstat: 0.27 s run, 1.3 s waiting in that round; the round 4-8x slower than the later ones).
for w in $(seq 1 ${WARMUP:-3}); do
  for f in $FAMILIES; do
    rx $T $NSD $f >/dev/null; tx $T $NSD $f >/dev/null
    [ -n "$BASE" ] && { rx $U $NSDB $f >/dev/null; tx $U $NSDB $f >/dev/null; }
  done
done
paths="veth vethtx crelayv nsrx nstx"; [ -n "$BASE" ] && paths="veth vethtx crelayv nsrx-base nsrx nstx-base nstx"
: > $W/rounds.tsv
for r in $(seq 1 $R); do
  for f in $FAMILIES; do
    order=$paths; [ $((r%2)) = 0 ] && order=$(echo $paths | tr ' ' '\n' | tac | tr '\n' ' ')
    for p in $order; do
      case $p in
        veth) g="$(xfer $A $f $( [ $f = 6 ] && echo fd00:12:1::2 || echo 198.51.100.2) 9) -" ;;
        vethtx) g="$(readfrom $A $f $( [ $f = 6 ] && echo fd00:12:1::2 || echo 198.51.100.2)) -" ;;
        crelayv) relay_on; g="$(xfer $A $f $( [ $f = 6 ] && echo fd00:12:2::2 || echo 203.0.113.2) 9) -"; relay_off ;;
        nsrx) g=$(rx $T $NSD $f) ;;
        nstx) g=$(tx $T $NSD $f) ;;
        nsrx-base) g=$(rx $U $NSDB $f) ;;
        nstx-base) g=$(tx $U $NSDB $f) ;;
      esac
      echo -e "$r\t$f\t$p\t${g% *}\t${g#* }" >> $W/rounds.tsv
    done
  done
done
for f in $FAMILIES; do
  echo "== IPv$f TCP bulk, $R rounds of $BYTES bytes (socat client), Gbit/s median [min..max]; netstackd CPU s/GB (median)"
  for p in $paths; do
    awk -F'\t' -v f=$f -v p=$p '$2==f && $3==p{print $4}' $W/rounds.tsv | sort -g | awk -v p=$p '{a[NR]=$1} END{printf "%-10s %7.3f [%.3f..%.3f]", p, a[int((NR+1)/2)], a[1], a[NR]}'
    awk -F'\t' -v f=$f -v p=$p '$2==f && $3==p && $5!="-"{print $5}' $W/rounds.tsv | sort -g | awk '{a[NR]=$1} END{if(NR) printf "  cpu %.2f s/GB", a[int((NR+1)/2)]; else printf "                "}'
    for ref in crelayv veth; do
      awk -F'\t' -v f=$f -v p=$p -v q=$ref '$2==f && $3==p{x[$1]=$4} $2==f && $3==q{y[$1]=$4} END{for(k in x) if(y[k]>0) print x[k]/y[k]}' $W/rounds.tsv | sort -g | awk -v q=$ref '{a[NR]=$1} END{printf "  x%s %.2f", q, a[int((NR+1)/2)]}'
    done; echo
  done
done
[ -n "${KEEP_ROUNDS:-}" ] && cp $W/rounds.tsv "$KEEP_ROUNDS"
