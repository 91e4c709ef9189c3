#!/bin/bash
# dotnet-counters transcript for docs/observability.md: netstackd on a TAP in a namespace made here.
set -u
NS=nshh$$
TAP=nthhc$$
# Run as root from the repository root after: dotnet build samples/netstackd -c Release (needs tmux, socat).
BIN=${BIN:-$PWD/samples/netstackd/bin/Release/net10.0/netstackd}
ip netns add $NS
ip -n $NS link set lo up
cleanup() {
  [ -n "${NSD:-}" ] && kill $NSD 2>/dev/null; sleep 1
  tmux kill-session -t hhc 2>/dev/null
  ip netns del $NS 2>/dev/null
}
trap cleanup EXIT
ip netns exec $NS $BIN --tap $TAP --address 192.0.2.2/24 --address 2001:db8::2/64 --discard 9 --tcp-echo 7 --log-level Information > netstackd.log 2>&1 &
NSD=$!
for i in $(seq 100); do ip -n $NS link show $TAP >/dev/null 2>&1 && break; sleep 0.1; done
ip -n $NS addr add 192.0.2.1/24 dev $TAP
ip -n $NS addr add 2001:db8::1/64 dev $TAP nodad
sleep 3
tmux new-session -d -s hhc -x 130 -y 90 "$HOME/.dotnet/tools/dotnet-counters monitor -n netstackd --counters NetStack --refresh-interval 1"
sleep 3
# 300 MB over IPv4 to discard, 100 MB over IPv6, while dotnet-counters watches.
head -c 300000000 /dev/zero | ip netns exec $NS socat -u - TCP4:192.0.2.2:9 &
P1=$!
head -c 100000000 /dev/zero | ip netns exec $NS socat -u - TCP6:[2001:db8::2]:9 &
P2=$!
wait $P1 $P2
sleep 3
tmux capture-pane -p -t hhc | tee counters.txt
echo "netstackd pid $NSD"
