#!/usr/bin/env bash
# TCP bulk throughput of NetStack against the Linux kernel, measured in the same run, interleaved, several rounds:
#   veth      the kernel talking to itself: iperf3 client and server in two namespaces joined by a veth pair (reference)
#   mem       two NetStack stacks joined by an in-memory link, one loop, real clock, as fast as possible (default
#             64 KB buffers, and 256 KB), first over a link of wire frames (no offloads), then with the link offering a
#             veth's offloads (LinkOptions.VethOffloads: 64 KB TSO super-frames, partial checksums), like the veth reference
#   tap-rx    kernel -> NetStack over a TAP: socat sends /dev/zero from the namespace to our stack, which discards
#   tap-tx    NetStack -> kernel over a TAP: our stack writes for SECONDS, socat in the namespace reads to /dev/null
# CPU: of the processes involved (getrusage: /usr/bin/time for iperf3 and socat, Environment.CpuUsage for NetStack,
# which includes the runtime's own threads). Kernel work done in softirq context outside these processes is not counted.
#
#   sudo [TAPBUF_KB=1024] [NETSTACKD=path/to/netstackd.dll] bench/tcp/run.sh [ROUNDS=3] [SECONDS=3]
#
# With NETSTACKD set, two more rows use the netstackd sample (--discard 9 --chargen 19) on a TAP of its own, started
# once in a fourth namespace: nsd-rx (socat -> discard) and nsd-tx (chargen -> socat, read for SECONDS); netstackd's
# CPU over each transfer comes from /proc/PID/stat (utime + stime of all its threads).
#
# Everything happens in namespaces made here (ntcp-*-PID), with documentation addresses (198.51.100.0/24); they are
# deleted on exit. Nothing touches the host's own interfaces or routes.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${1:-3}
SECS=${2:-3}
TAPBUF=${TAPBUF_KB:-1024} # NetStack socket buffers on the TAP, KB
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, veth, TAP)" >&2; exit 1; }
for t in iperf3 socat /usr/bin/time; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }; done

dotnet build TcpThroughput/TcpThroughput.csproj -c Release -nologo -v q -o TcpThroughput/out >/dev/null
BENCH="dotnet $PWD/TcpThroughput/out/TcpThroughput.dll"

NSA="ntcp-a-$$"; NSB="ntcp-b-$$"; NST="ntcp-t-$$"; TAP="ntcpt$$"; NSN="ntcp-n-$$"; TAPN="ntcpn$$"
NETSTACKD=${NETSTACKD:-}
NSD_PID=""
TMP=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  ip netns del "$NSA" 2>/dev/null || true
  ip netns del "$NSB" 2>/dev/null || true
  ip netns del "$NST" 2>/dev/null || true
  [ -n "$NSD_PID" ] && kill -INT "$NSD_PID" 2>/dev/null && sleep 1 || true
  ip netns del "$NSN" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# veth pair between two namespaces
ip netns add "$NSA"; ip netns add "$NSB"
ip link add "va$$" netns "$NSA" type veth peer name "vb$$" netns "$NSB"
ip -n "$NSA" addr add 198.51.100.1/24 dev "va$$"; ip -n "$NSA" link set "va$$" up; ip -n "$NSA" link set lo up
ip -n "$NSB" addr add 198.51.100.2/24 dev "vb$$"; ip -n "$NSB" link set "vb$$" up; ip -n "$NSB" link set lo up
# TAP in a third namespace: the kernel is 198.51.100.1, NetStack 198.51.100.3 on the TAP
ip netns add "$NST"
ip -n "$NST" tuntap add dev "$TAP" mode tap
ip netns exec "$NST" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip -n "$NST" addr add 198.51.100.1/24 dev "$TAP"
ip -n "$NST" link set "$TAP" up; ip -n "$NST" link set lo up

if [ -n "$NETSTACKD" ]; then
  # netstackd attaches to (or creates) its TAP; the kernel side is 198.51.100.1/24 in a namespace of its own
  ip netns add "$NSN"
  ip -n "$NSN" tuntap add dev "$TAPN" mode tap
  ip netns exec "$NSN" sysctl -qw "net.ipv6.conf.$TAPN.disable_ipv6=1"
  ip -n "$NSN" addr add 198.51.100.1/24 dev "$TAPN"
  ip -n "$NSN" link set "$TAPN" up; ip -n "$NSN" link set lo up
  ip netns exec "$NSN" dotnet "$NETSTACKD" --tap "$TAPN" --address 198.51.100.3/24 --discard 9 --chargen 19 > "$TMP/nsd.log" 2>&1 &
  NSD_PID=$!
  sleep 3
fi
TICK=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$TICK" '{print ($14 + $15) / t}' "/proc/$1/stat"; }

nsd_rx() { # kernel -> netstackd discard
  local n=$((SECS * 150 * 1000 * 1000)) c0 c1 t0 t1
  c0=$(proc_cpu "$NSD_PID"); t0=$(date +%s.%N)
  ip netns exec "$NSN" /usr/bin/time -f "%U %S" -o "$TMP/peer.time" \
    socat -u "OPEN:/dev/zero,readbytes=$n" "TCP4:198.51.100.3:9" 2>/dev/null || true
  t1=$(date +%s.%N); c1=$(proc_cpu "$NSD_PID")
  awk -v B="$n" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v p="$(cpu_of "$TMP/peer.time")" \
    'BEGIN {printf "%.0f %.3f %.3f\n", B / (t1 - t0), (c1 - c0) / (B / 1e9), (c1 - c0 + p) / (B / 1e9)}'
}

nsd_tx() { # netstackd chargen -> kernel, read for SECS
  local c0 c1 t0 t1 b
  c0=$(proc_cpu "$NSD_PID"); t0=$(date +%s.%N)
  b=$( (ip netns exec "$NSN" /usr/bin/time -f "%U %S" -o "$TMP/peer.time" \
    timeout -s INT "$SECS" socat -u "TCP4:198.51.100.3:19" - 2>/dev/null || true) | wc -c)
  t1=$(date +%s.%N); c1=$(proc_cpu "$NSD_PID")
  awk -v B="$b" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v p="$(cpu_of "$TMP/peer.time")" \
    'BEGIN {printf "%.0f %.3f %.3f\n", B / (t1 - t0), (c1 - c0) / (B / 1e9), (c1 - c0 + p) / (B / 1e9)}'
}

# /usr/bin/time -f "%U %S" output in FILE -> CPU seconds
cpu_of() { awk 'END {print $1 + $2}' "$1"; }

veth() { # -> "Bps cpuSecPerGB"
  ip netns exec "$NSB" /usr/bin/time -f "%U %S" -o "$TMP/srv.time" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
  local srv=$!
  sleep 0.3
  ip netns exec "$NSA" /usr/bin/time -f "%U %S" -o "$TMP/cli.time" iperf3 -c 198.51.100.2 -p 5201 -t "$SECS" -J > "$TMP/iperf.json"
  wait "$srv" || true
  local bytes secs cpu
  bytes=$(python3 -c "import json,sys; d=json.load(open('$TMP/iperf.json')); print(d['end']['sum_received']['bytes'])")
  secs=$(python3 -c "import json,sys; d=json.load(open('$TMP/iperf.json')); print(d['end']['sum_received']['seconds'])")
  cpu=$(awk -v a="$(cpu_of "$TMP/srv.time")" -v b="$(cpu_of "$TMP/cli.time")" 'BEGIN {print a + b}')
  awk -v B="$bytes" -v s="$secs" -v c="$cpu" 'BEGIN {printf "%.0f %.3f\n", B / s, c / (B / 1e9)}'
}

mem() { # -> "Bps cpuSecPerGB" for default buffers, then for 256 KB; offloads off, then on
  $BENCH mem "$SECS" | sed -n 's/.*wallBps=\([0-9]*\) cpuBps=[0-9]* cpuSecPerGB=\([0-9.]*\).*/\1 \2/p' | paste -sd' '
}

tap_rx() { # kernel -> NetStack: "Bps ourCpuSecPerGB totalCpuSecPerGB"
  ip netns exec "$NST" $BENCH tap-sink "$TAP" 198.51.100.3/24 9 $((SECS + 30)) "$TAPBUF" > "$TMP/tap.out" &
  local us=$!
  local n=$((SECS * 150 * 1000 * 1000)) # bytes to send: about SECS seconds at 150 MB/s
  ip netns exec "$NST" /usr/bin/time -f "%U %S" -o "$TMP/peer.time" \
    socat -u "OPEN:/dev/zero,readbytes=$n" "TCP4:198.51.100.3:9,retry=60,interval=0.25" 2>/dev/null || true
  wait "$us" || true
  tap_line "$(cpu_of "$TMP/peer.time")"
}

tap_tx() { # NetStack -> kernel
  ip netns exec "$NST" $BENCH tap-source "$TAP" 198.51.100.3/24 19 "$SECS" "$TAPBUF" > "$TMP/tap.out" &
  local us=$!
  ip netns exec "$NST" /usr/bin/time -f "%U %S" -o "$TMP/peer.time" \
    socat -u "TCP4:198.51.100.3:19,retry=60,interval=0.25" - 2>/dev/null >/dev/null || true
  wait "$us" || true
  tap_line "$(cpu_of "$TMP/peer.time")"
}

tap_line() { # peer CPU -> "Bps ourCpuSecPerGB totalCpuSecPerGB" from tap.out
  cat "$TMP/tap.out" >&2
  sed -n 's/.*bytes=\([0-9]*\) wall=\([0-9.]*\) cpu=\([0-9.]*\).*/\1 \2 \3/p' "$TMP/tap.out" |
    awk -v p="$1" '{printf "%.0f %.3f %.3f\n", $1 / $2, $3 / ($1 / 1e9), ($3 + p) / ($1 / 1e9)}'
}

declare -A res
for round in $(seq 1 "$ROUNDS"); do
  order="veth mem tap_rx tap_tx"
  [ -n "$NETSTACKD" ] && order="$order nsd_rx nsd_tx"
  [ $((round % 2)) -eq 0 ] && order=$(echo $order | tr ' ' '\n' | tac | tr '\n' ' ')
  for m in $order; do
    out=$($m)
    echo "round $round  $m  $out" >&2
    res[$m]+="$out"$'\n'
  done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) printf "%.6f\n", a[(NR+1)/2]; else printf "%.6f\n", (a[NR/2]+a[NR/2+1])/2}'; }
col() { printf "%s" "${res[$1]}" | awk -v c="$2" 'NF {print $c}' | median; }
mb() { col "$1" "$2" | awk '{printf "%.1f", $1 / 1e6}'; }
# median over rounds of (column of $1 / column of veth in the same round)
ratio() { paste -d' ' <(printf "%s" "${res[$1]}" | awk -v c="$2" 'NF {print $c}') <(printf "%s" "${res[veth]}" | awk -v c="$3" 'NF {print $c}') |
  awk '{printf "%.4f\n", $1 / $2}' | median; }

echo
echo "rounds=$ROUNDS seconds=$SECS; medians over rounds; ratios are medians of per-round ratios to veth (same round)"
printf "%-28s %14s %9s %14s %9s %16s\n" "path" "MB/s (wall)" "x veth" "CPU s/GB" "x veth" "CPU s/GB +peer"
printf "%-28s %14.1f %9s %14.3f %9s %16s\n" "kernel<->kernel veth" "$(mb veth 1)" 1 "$(col veth 2)" 1 "-"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16s\n" "NetStack<->NetStack mem 64K" "$(mb mem 1)" "$(ratio mem 1 1)" "$(col mem 2)" "$(ratio mem 2 2)" "-"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16s\n" "NetStack<->NetStack mem 256K" "$(mb mem 3)" "$(ratio mem 3 1)" "$(col mem 4)" "$(ratio mem 4 2)" "-"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16s\n" "mem 64K, veth offloads" "$(mb mem 5)" "$(ratio mem 5 1)" "$(col mem 6)" "$(ratio mem 6 2)" "-"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16s\n" "mem 256K, veth offloads" "$(mb mem 7)" "$(ratio mem 7 1)" "$(col mem 8)" "$(ratio mem 8 2)" "-"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16.3f\n" "kernel->NetStack TAP" "$(mb tap_rx 1)" "$(ratio tap_rx 1 1)" "$(col tap_rx 2)" "$(ratio tap_rx 2 2)" "$(col tap_rx 3)"
printf "%-28s %14.1f %9.4f %14.3f %9.2f %16.3f\n" "NetStack->kernel TAP" "$(mb tap_tx 1)" "$(ratio tap_tx 1 1)" "$(col tap_tx 2)" "$(ratio tap_tx 2 2)" "$(col tap_tx 3)"
if [ -n "$NETSTACKD" ]; then
  printf "%-28s %14.1f %9.4f %14.3f %9.2f %16.3f\n" "kernel->netstackd discard" "$(mb nsd_rx 1)" "$(ratio nsd_rx 1 1)" "$(col nsd_rx 2)" "$(ratio nsd_rx 2 2)" "$(col nsd_rx 3)"
  printf "%-28s %14.1f %9.4f %14.3f %9.2f %16.3f\n" "netstackd chargen->kernel" "$(mb nsd_tx 1)" "$(ratio nsd_tx 1 1)" "$(col nsd_tx 2)" "$(ratio nsd_tx 2 2)" "$(col nsd_tx 3)"
fi
