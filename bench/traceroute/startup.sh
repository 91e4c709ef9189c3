#!/usr/bin/env bash
# Start-up of the traceroute sample: milliseconds from process start to the header line, Native AOT and JIT, IPv4
# and IPv6, beside Linux traceroute 2.1 started the same way (issue 15 item 11). Run as root from the repository root:
#   bash bench/traceroute/startup.sh [ROUNDS]
# It publishes the Native AOT binary (needs clang and zlib1g-dev), builds the JIT one, makes a namespace holding a
# persistent TAP (198.51.100.1/24 and 2001:db8:1::1/64 on the kernel side, no DAD) and removes it on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-15}
out=$(mktemp -d)
ns="nst-startup-$$"
tap="nsu$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$out"; }
trap cleanup EXIT
# AOT_DIR=DIR: use a Native AOT binary published there already (DIR/traceroute) instead of publishing one.
aot=${AOT_DIR:-$out/aot}
[ -n "${AOT_DIR:-}" ] || dotnet publish samples/traceroute -c Release -r linux-x64 -p:PublishAot=true -o "$aot" -nologo -v q >/dev/null
dotnet build samples/traceroute -c Release -nologo -v q >/dev/null
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
ip -n "$ns" tuntap add dev "$tap" mode tap
ip -n "$ns" link set "$tap" up
ip -n "$ns" addr add 198.51.100.1/24 dev "$tap"
ip -n "$ns" addr add 2001:db8:1::1/64 dev "$tap" nodad
python3 bench/traceroute/startup.py "$ns" "$aot/traceroute" samples/traceroute/bin/Release/net10.0/traceroute.dll "$tap" "$rounds"
