#!/usr/bin/env bash
# TAP frame-rate benchmark: the C reference (tap_bench.c) against NetStack's C# TapDevice (TapBench/),
# same TAP, same kernel peer, interleaved, several rounds; prints medians and the ratio C#/C.
#
#   sudo bench/tap/run.sh [ROUNDS=5] [SECONDS=2]
#
# tx: the program writes frames into the TAP as fast as it can (our write -> kernel).
# rx: tap_bench blast, inside the namespace, sends frames out of the kernel side of the TAP with an
#     AF_PACKET socket (qdisc bypassed); the program under test polls and reads them (kernel -> our read).
# rx-host (C# only, compared with C rx): the same frames through StackHost driving a node that drains the TAP.
# Everything happens inside a namespace made here (nstb-PID) on a persistent TAP made there; both are
# deleted on exit. No addresses are configured: frames are broadcasts of EtherType 0x88B5 (local experimental).
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${1:-5}
SECS=${2:-2}
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespace, TAP)" >&2; exit 1; }

cc -O2 -Wall -o tap_bench tap_bench.c
dotnet build TapBench/TapBench.csproj -c Release -nologo -v q -o TapBench/out >/dev/null
CS="dotnet TapBench/out/TapBench.dll"

NS="nstb-$$"
TAP="ntb$$"
BLASTER=""
cleanup() {
  [ -n "$BLASTER" ] && kill "$BLASTER" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" tuntap add dev "$TAP" mode tap
ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip -n "$NS" link set dev "$TAP" up

inns() { ip netns exec "$NS" "$@"; }
# "fps=N cpufps=M ..." -> "N M"
fps() { sed -n 's/.*fps=\([0-9]*\) cpufps=\([0-9]*\).*/\1 \2/p' | head -1; }

measure() { # impl dir size -> fps
  local impl=$1 dir=$2 size=$3 out
  if [ "$dir" = tx ]; then
    if [ "$impl" = c ]; then out=$(inns ./tap_bench tx "$TAP" "$size" "$SECS"); else out=$(inns $CS tx "$TAP" "$size" "$SECS"); fi
  else
    # The reader attaches first (the TAP has no carrier without it), then the blaster starts.
    local reader
    if [ "$impl" = c ]; then reader="./tap_bench rx $TAP $SECS"; elif [ "$impl" = cs ]; then reader="$CS rx $TAP $SECS"; else reader="$CS rx-host $TAP $SECS"; fi
    local tmp; tmp=$(mktemp)
    inns $reader >"$tmp" &
    local rpid=$!
    sleep 0.3
    inns ./tap_bench blast "$TAP" "$size" $((SECS + 10)) 2>/dev/null &
    BLASTER=$!
    wait "$rpid"
    kill "$BLASTER" 2>/dev/null || true; wait "$BLASTER" 2>/dev/null || true; BLASTER=""
    out=$(cat "$tmp"); rm -f "$tmp"
  fi
  echo "$out" | fps
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }

declare -A wall cpu
for round in $(seq 1 "$ROUNDS"); do
  for size in 64 1514; do
    for dir in tx rx; do
      impls="c cs"; [ "$dir" = rx ] && impls="c cs host"
      # Alternate the order every round so neither side always runs first.
      if [ $((round % 2)) -eq 0 ]; then impls=$(echo $impls | tr ' ' '\n' | tac | tr '\n' ' '); fi
      for impl in $impls; do
        read -r w c < <(measure "$impl" "$dir" "$size")
        wall["$dir,$size,$impl"]+="$w "
        cpu["$dir,$size,$impl"]+="$c "
        echo "round $round  $dir  $size B  $impl  fps=$w  cpufps=$c" >&2
      done
    done
  done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.0f\n", (a[NR/2]+a[NR/2+1])/2}'; }
# median over rounds of (C# value / C value of the same round)
round_ratio() { paste -d' ' <(printf "%s\n" $1) <(printf "%s\n" $2) | awk '{printf "%.3f\n", $1/$2}' | median_f; }
median_f() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo
echo "rounds=$ROUNDS seconds=$SECS; medians; ratio = median over rounds of C#/C measured back to back"
printf "%-8s %5s | %10s %10s %6s | %10s %10s %6s\n" dir size "C fps" "C# fps" "ratio" "C fps/cpu" "C# fps/cpu" "ratio"
for size in 64 1514; do
  for pair in "tx cs" "rx cs" "rx host"; do
    set -- $pair; dir=$1; impl=$2
    label=$dir; [ "$impl" = host ] && label="rx-host"
    cw=${wall["$dir,$size,c"]}; sw=${wall["$dir,$size,$impl"]}
    cc_=${cpu["$dir,$size,c"]}; sc=${cpu["$dir,$size,$impl"]}
    printf "%-8s %5s | %10s %10s %6s | %10s %10s %6s\n" "$label" "$size" \
      "$(printf "%s\n" $cw | median)" "$(printf "%s\n" $sw | median)" "$(round_ratio "$sw" "$cw")" \
      "$(printf "%s\n" $cc_ | median)" "$(printf "%s\n" $sc | median)" "$(round_ratio "$sc" "$cc_")"
  done
done
