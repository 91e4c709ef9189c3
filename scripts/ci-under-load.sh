#!/usr/bin/env bash
# Runs CI as CI runs it, N times in a row, each time from a fresh clone of one commit, with a CPU hog busy on every core
# for the whole chain: the "robust suite" check of docs/testing.md. Needs root, as CI (the interop tests).
#
#   sudo scripts/ci-under-load.sh [N] [COMMIT]      N defaults to 10, COMMIT to this repository's HEAD
#
# The hog is `stress-ng --cpu <cores>` when stress-ng is installed, otherwise one busy shell loop per core. Each run's
# output is kept in the work directory (printed first); one line per run goes to its summary.tsv and to stdout:
# run, commit, exit code, seconds, the suite's closing line, and the namespaces and TAP/veth devices left afterwards
# beyond those there before the chain (there should be none). Exit status 0 only when every run passed and left nothing.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10}
commit=$(git rev-parse --verify "${2:-HEAD}^{commit}") || exit 2
repo=$(pwd)
work=$(mktemp -d /tmp/ci-under-load.XXXXXX)
cores=$(nproc)
netns0=$(ip netns list | wc -l)
links0=$(ip -o link | grep -c -E 'tap|veth')
echo "work directory $work; $runs runs of $(git rev-parse --short "$commit") beside a CPU hog on $cores cores"

hogs=()
stop_hogs() {
  # Only the processes started here, by PID (stress-ng's parent ends its workers).
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${hogs[@]}"; do wait "$p" 2>/dev/null; done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
if command -v stress-ng >/dev/null; then
  stress-ng --cpu "$cores" --timeout 0 >"$work/hog.log" 2>&1 &
  hogs+=($!)
else
  for _ in $(seq "$cores"); do (while :; do :; done) & hogs+=($!); done
fi

failures=0
for i in $(seq "$runs"); do
  clone="$work/clone-$i"
  git clone -q --no-checkout "$repo" "$clone" && git -C "$clone" checkout -q "$commit" || exit 2
  t0=$(date +%s)
  (cd "$clone" && CI=true bash .ci/run) >"$work/run-$i.log" 2>&1
  rc=$?
  t1=$(date +%s)
  closing=$(grep -E '^[0-9]+ passed' "$work/run-$i.log" | tail -1)
  netns=$(( $(ip netns list | wc -l) - netns0 ))
  links=$(( $(ip -o link | grep -c -E 'tap|veth') - links0 ))
  line=$(printf '%s\t%s\trc=%s\t%ss\t%s\tnetns=%s\ttap_veth=%s\t%s' "$i" "$(git -C "$clone" rev-parse --short HEAD)" \
    "$rc" "$((t1 - t0))" "${closing:-no closing line}" "$netns" "$links" "$(date -u +%H:%M)")
  echo "$line" | tee -a "$work/summary.tsv"
  if [ "$rc" -ne 0 ] || [ "$netns" -ne 0 ] || [ "$links" -ne 0 ]; then failures=$((failures + 1)); fi
  rm -rf "$clone"
done
echo "$((runs - failures)) of $runs runs passed beside the hog"
[ "$failures" -eq 0 ]
