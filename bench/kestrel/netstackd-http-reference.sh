#!/bin/bash
# The reference for the Kestrel 100 MB download (docs/aspnetcore.md): netstackd --http serves a 100 MB random file
# to curl over a TAP in a namespace of its own (192.0.2.0/24), three times; prints bytes and seconds per run.
# Run as root from the repository root after dotnet build samples/netstackd -c Release, interleaved with
#   dotnet test tests/NetStack.Interop.Tests -c Release --no-build --filter "FullyQualifiedName~Curl_downloads_100_MB" --logger "console;verbosity=detailed"
set -u
NS=nstk-$$; TAP=ntk$$
DIR=$(mktemp -d)
head -c 104857600 /dev/urandom > $DIR/big
ip netns add $NS
cleanup() { [ -n "${PID:-}" ] && kill $PID 2>/dev/null; wait 2>/dev/null; ip netns del $NS; rm -rf $DIR; }
trap cleanup EXIT
ip netns exec $NS ip link set lo up
ip netns exec $NS dotnet samples/netstackd/bin/Release/net10.0/netstackd.dll --tap $TAP --address 192.0.2.2/24 --http 8080 --http-root $DIR >/dev/null 2>&1 &
PID=$!
for i in $(seq 100); do ip -n $NS link show $TAP >/dev/null 2>&1 && break; sleep 0.1; done
ip -n $NS addr add 192.0.2.1/24 dev $TAP; ip -n $NS link set $TAP up
sleep 1
for r in 1 2 3; do
  ip netns exec $NS sh -c "curl -sS --http1.1 -w '%{stderr}%{size_download} %{time_total}\n' http://192.0.2.2:8080/big | sha256sum >/dev/null"
done
