#!/usr/bin/env bash
# A SYN flood against netstackd on a TAP while the kernel, as a legitimate client in the same namespace, opens
# connections one after another (issue 13 "Floods"), and the same flood against the Linux kernel's own listener over a
# veth pair as the reference measured in the same run. Prints, per family and server: the flood rate the flooder reached,
# frames the kernel dropped at the TAP/veth, the legitimate connects (succeeded, failed, p50, p99, max) and the server's
# peak RSS (netstackd) plus netstackd's exit counters.
#
#   sudo bench/flood/synflood.sh [SECONDS=60] [RATE=0 (as fast as the flooder goes)] [FAMILIES="4 6"]
#
# PERF=DIR: also samples netstackd with `perf record -g` for the middle of the flood (JIT symbols through
# DOTNET_PerfMapEnabled) into DIR/perf-IPv4.data / -IPv6.data, and the flat profile (top symbols) into DIR/perf-IPv4.txt.
# KERNEL=0 skips the kernel reference. LOOP_NICE=N runs netstackd with --loop-nice N (its loop thread's nice value).
# NETSTACKD_ARGS="..." adds options to netstackd's command line (e.g. "--queue-length 16384").
#
# Needs root, gcc, python3, iproute2, a Release build of samples/netstackd. Network safety: everything lives in two
# namespaces made here (nsfl-PID-*), addresses are documentation addresses only, and everything is deleted on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
rate=${2:-0}
families=${3:-"4 6"}
dll=samples/netstackd/bin/Release/net10.0/netstackd.dll
[ -f "$dll" ] || { echo "build samples/netstackd in Release first" >&2; exit 1; }
work=$(mktemp -d)
ns=nsfl-$$-a
ns2=nsfl-$$-b
tap=tapfl$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "$ns2" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
gcc -O2 -Wall -o "$work/flooder" bench/flood/flooder.c

cat > "$work/client.py" <<'EOF'
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
family = socket.AF_INET6 if ':' in host else socket.AF_INET
times, failed = [], 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(10)
    t = time.monotonic()
    try:
        s.connect((host, port)); times.append(time.monotonic() - t)
    except OSError:
        failed += 1
    finally:
        s.close()
    time.sleep(0.02)
times.sort()
pct = lambda p: times[min(len(times) - 1, max(0, int(len(times) * p + 0.999999) - 1))] if times else 99.0
slow = sum(1 for x in times if x >= 0.9)  # at least one SYN retransmission (Linux's initial RTO is 1 s)
print('connects ok=%d failed=%d p50=%.4f p99=%.4f max=%.4f retransmitted=%d' % (len(times), failed, pct(0.5), pct(0.99), times[-1] if times else 99.0, slow))
EOF
cat > "$work/server.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', 7)); s.listen(1024)
print('listening', flush=True)
while True:
    c, _ = s.accept(); c.close()
EOF

tx_counters() { ip -n "$1" -s link show dev "$2" | awk '/TX:/{getline; print $2, $4}'; }

run_netstackd() {
  local fam=$1 target src mode
  if [ "$fam" = 6 ]; then target=2001:db8:1::3; src=2001:db8:1:0; mode=syn6; else target=198.51.100.3; src=198.51.100; mode=syn4; fi
  ip netns add "$ns"; ip -n "$ns" link set lo up
  [ -n "${PERF:-}" ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
  ip netns exec "$ns" dotnet "$dll" --tap "$tap" --address 198.51.100.3/24 --address 2001:db8:1::3/64 --tcp-echo 7 ${LOOP_NICE:+--loop-nice "$LOOP_NICE"} ${NETSTACKD_ARGS:-} > "$work/d.log" 2>&1 &
  local dpid=$!; pids+=("$dpid")
  for _ in $(seq 600); do grep -q "netstackd: ready" "$work/d.log" && break; sleep 0.1; done
  ip -n "$ns" addr add 198.51.100.1/24 dev "$tap"; ip -n "$ns" addr add 2001:db8:1::1/64 dev "$tap" nodad; ip -n "$ns" link set "$tap" up
  local mac; mac=$(sed -n 's/.* mac \([0-9a-f:]\{17\}\).*/\1/p' "$work/d.log" | head -1)
  ip netns exec "$ns" python3 "$work/client.py" "$target" 7 1 > /dev/null
  local peak=0 before; before=$(tx_counters "$ns" "$tap")
  ( while kill -0 "$dpid" 2>/dev/null; do awk '/VmRSS/{print $2}' "/proc/$dpid/status" 2>/dev/null; sleep 0.5; done ) > "$work/rss" &
  pids+=("$!")
  ip netns exec "$ns" "$work/flooder" "$tap" "$mac" "$mode" "$target" "$src" "$rate" "$seconds" 7 > "$work/flood" &
  local fpid=$!; pids+=("$fpid")
  if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    ( sleep "$((seconds / 4))"; perf record -F 499 -g -p "$dpid" -o "$PERF/perf-IPv$fam.data" -- sleep "$((seconds / 2))" > /dev/null 2>&1
      perf report -i "$PERF/perf-IPv$fam.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -150 > "$PERF/perf-IPv$fam.txt" ) &
    perfpid=$!
  fi
  local legit; legit=$(ip netns exec "$ns" python3 "$work/client.py" "$target" 7 "$seconds")
  wait "$fpid"
  local after; after=$(tx_counters "$ns" "$tap")
  peak=$(sort -n "$work/rss" | tail -1)
  [ -n "${perfpid:-}" ] && { wait "$perfpid" || true; perfpid=; }
  kill -TERM "$dpid"; wait "$dpid" || true
  echo "netstackd IPv$fam: $(cat "$work/flood")"
  echo "  TAP tx/dropped before: $before, after: $after"
  echo "  legitimate: $legit"
  echo "  netstackd peak RSS: $((peak / 1024)) MB"
  grep -E "^(frames|tcp|drops|rxthread|synfilter):" "$work/d.log" | sed 's/^/  /'
  ip netns del "$ns"
}

run_kernel() {
  local fam=$1 target src mode
  if [ "$fam" = 6 ]; then target=2001:db8:1::3; src=2001:db8:1:0; mode=syn6; else target=198.51.100.3; src=198.51.100; mode=syn4; fi
  ip netns add "$ns"; ip netns add "$ns2"
  ip -n "$ns" link set lo up; ip -n "$ns2" link set lo up
  ip -n "$ns" link add vfa type veth peer name vfb netns "$ns2"
  ip -n "$ns" addr add 198.51.100.1/24 dev vfa; ip -n "$ns" addr add 2001:db8:1::1/64 dev vfa nodad; ip -n "$ns" link set vfa up
  ip -n "$ns2" addr add 198.51.100.3/24 dev vfb; ip -n "$ns2" addr add 2001:db8:1::3/64 dev vfb nodad; ip -n "$ns2" link set vfb up
  ip netns exec "$ns2" python3 "$work/server.py" > "$work/server.log" 2>&1 &
  local spid=$!; pids+=("$spid")
  for _ in $(seq 100); do grep -q listening "$work/server.log" && break; sleep 0.1; done
  local mac; mac=$(ip -n "$ns2" link show vfb | awk '/link\/ether/{print $2}')
  ip netns exec "$ns" python3 "$work/client.py" "$target" 7 1 > /dev/null
  local before; before=$(tx_counters "$ns" vfa)
  ip netns exec "$ns" "$work/flooder" vfa "$mac" "$mode" "$target" "$src" "$rate" "$seconds" 7 > "$work/flood" &
  local fpid=$!; pids+=("$fpid")
  local legit; legit=$(ip netns exec "$ns" python3 "$work/client.py" "$target" 7 "$seconds")
  wait "$fpid"
  local after; after=$(tx_counters "$ns" vfa)
  echo "kernel (veth) IPv$fam: $(cat "$work/flood")"
  echo "  veth tx/dropped before: $before, after: $after; server drops: $(ip netns exec "$ns2" nstat -az TcpExtListenDrops TcpExtSyncookiesSent 2>/dev/null | awk 'NR>1{printf "%s=%s ", $1, $2}')"
  echo "  legitimate: $legit"
  kill "$spid"; wait "$spid" 2>/dev/null || true
  ip netns del "$ns"; ip netns del "$ns2"
}

echo "SYN flood ${seconds}s, rate ${rate:-0} (0: as fast as the flooder goes), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), netstackd loop nice ${LOOP_NICE:-0}, args: ${NETSTACKD_ARGS:-none}"
for fam in $families; do
  run_netstackd "$fam"
  [ "${KERNEL:-1}" = 0 ] || run_kernel "$fam"
done
