#!/usr/bin/env bash
# bench/tap/txprobe/txprobe.sh FAMILY ROUNDS BYTES — what bounds netstackd's sending over one TAP (bench/README.md,
# "netstackd sending over a TAP: what bounds it"). One netstackd --chargen on a TAP in a namespace; ROUNDS transfers of
# BYTES read by socat into /dev/null (after one warm-up). Per round: the rate and the schedstat of netstackd's threads
# (time running and time runnable but waiting for a CPU). At the end: the kernel receiver's TCP counters (nstat) and
# netstackd's own counters (its exit summary).
# Options (environment):
#   LOOPCPU=N   pin netstackd's loop thread to CPU N;  SOCATCPU=N  run the receiving socat on CPU N
#   RENICE=N    nice value of the loop thread;         NSDENV="A=1 B=2"  environment of netstackd
#   PCAP=FILE   capture headers (96 bytes) on the TAP during the rounds; then: python3 gaps.py FILE (beside this script)
#   NETSTACKD=path/to/netstackd.dll (default: this tree's Release build)
# Usage, as root from the tree's root after `dotnet build samples/netstackd -c Release`:
#   bash bench/tap/txprobe/txprobe.sh 4 6 400000000
#   LOOPCPU=0 SOCATCPU=1 PCAP=/tmp/tx.pcap bash bench/tap/txprobe/txprobe.sh 4 6 400000000
# The namespace is named after this shell's PID and deleted on exit, with netstackd.
set -u
F=${1:-4}; R=${2:-6}; BYTES=${3:-400000000}
DLL=${NETSTACKD:-$(ls samples/netstackd/bin/Release/net*/netstackd.dll 2>/dev/null | head -1)}
[ -f "$DLL" ] || { echo "no netstackd build"; exit 1; }
T=txq$$; W=/tmp/netstack-txprobe-$$; mkdir -p $W
NSD=; TD=
cleanup() {
  [ -n "$TD" ] && kill $TD 2>/dev/null
  if [ -n "$NSD" ]; then
    kill -TERM $NSD 2>/dev/null # SIGTERM: a background job of a script ignores SIGINT
    for i in $(seq 1 150); do kill -0 $NSD 2>/dev/null || break; sleep 0.2; done
    echo "== netstackd's counters"; grep -E '^(frames|tcp|drops):' $W/nsd.log | cut -c1-400
  fi
  ip netns del $T 2>/dev/null; rm -rf $W
}
trap cleanup EXIT
ip netns add $T; ip -n $T link set lo up
ip -n $T tuntap add dev tap0 mode tap; ip -n $T addr add 192.0.2.1/24 dev tap0; ip -n $T addr add fd00:12:3::1/64 dev tap0 nodad
ip -n $T link set tap0 up
ip netns exec $T env ${NSDENV:-NETSTACK_TXPROBE=1} dotnet "$DLL" --tap tap0 --mac 02:00:00:00:00:09 --address 192.0.2.9/24 \
  --address fd00:12:3::9/64 --chargen 19 > $W/nsd.log 2>&1 &
NSD=$!
ok=; for i in $(seq 1 240); do ip netns exec $T ping -c1 -W1 192.0.2.9 >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done
[ -n "$ok" ] || { echo "netstackd not answering"; cat $W/nsd.log; exit 1; }
LT=$(for t in /proc/$NSD/task/*; do grep -q "NetStack loop" $t/comm && basename $t; done | head -1)
[ -n "$LT" ] || { echo "no loop thread found in $NSD"; exit 1; }
[ -n "${LOOPCPU:-}" ] && taskset -pc $LOOPCPU $LT >/dev/null
[ -n "${RENICE:-}" ] && renice -n $RENICE -p $LT >/dev/null
dst=TCP4:192.0.2.9; [ $F = 6 ] && dst="TCP6:[fd00:12:3::9]"
ip netns exec $T socat -b 1048576 -u $dst:19,readbytes=$BYTES - >/dev/null 2>&1 # warm-up
ip netns exec $T nstat -n >/dev/null
[ -n "${PCAP:-}" ] && { ip netns exec $T tcpdump -i tap0 -s 96 -w $PCAP -U tcp port 19 2>/dev/null & TD=$!; sleep 1; }
sched() { for t in /proc/$NSD/task/*; do echo "$(tr ' ' _ < $t/comm) $(cat $t/schedstat)"; done; }
for r in $(seq 1 $R); do
  sched > $W/s0; t0=$(date +%s.%N)
  ip netns exec $T ${SOCATCPU:+taskset -c $SOCATCPU} socat -b 1048576 -u $dst:19,readbytes=$BYTES - >/dev/null 2>&1
  t1=$(date +%s.%N); sched > $W/s1
  awk -v b=$BYTES -v a=$t0 -v c=$t1 -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{printf "round %d: %.3f Gbit/s (%.2f s), load %s\n", '$r', b*8/(c-a)/1e9, c-a, l}'
  paste $W/s0 $W/s1 | awk '{dr=($6-$2)/1e6; dw=($7-$3)/1e6; if (dr>5||dw>5) printf "    %-18s running %7.1f ms  waiting for a CPU %7.1f ms  slices %d\n", $1, dr, dw, $8-$4}'
done
[ -n "$TD" ] && { sleep 0.5; kill $TD; wait $TD 2>/dev/null; TD=; }
echo "== the kernel receiver's TCP counters over the rounds (nstat)"
ip netns exec $T nstat | grep -E '^Tcp' | head -30
