#!/usr/bin/env bash
# Coverage-guided fuzzing of the core with SharpFuzz + libFuzzer (docs/fuzzing.md).
#
#   scripts/fuzz.sh list                      the targets
#   scripts/fuzz.sh TARGET SECONDS [FLAGS]    builds, instruments and fuzzes one target for SECONDS; FLAGS go to libFuzzer
#   scripts/fuzz.sh all SECONDS               every target (or those in FUZZ_TARGETS), SECONDS each, one after another
#   scripts/fuzz.sh ci                        every target for a fixed number of executions (scripts/test.sh, ~60-90 s)
#   scripts/fuzz.sh merge TARGET...           minimizes the working corpus of each TARGET into fuzz/corpus/TARGET.bin
#   FUZZ_REUSE_BUILD=1 scripts/fuzz.sh ...    reuses the last instrumented build instead of building again
#
# Each run starts from the seeds cut from pcaps/, the committed corpus fuzz/corpus/TARGET.bin and what earlier runs
# found (artifacts/fuzz/corpus/TARGET), and ends with one line: executions, coverage and corpus size. Coverage: "ft" is
# libFuzzer's feature count (an edge of the instrumented NetStack.dll counts once per hit-count bucket); "edges" counts
# the edges the whole corpus reaches (NetStack.Fuzz edges); libFuzzer's own "cov" sees only the native driver (2-3).
# A crash (an exception out of the target, an invariant that failed) is saved in artifacts/fuzz/crashes/TARGET/ and
# the script exits 1: copy the file into tests/NetStack.Tests/Fuzz/Crashes/TARGET/, where FuzzRegressionTests replay
# it on every test run, and fix the core.
#
# Needs clang with libFuzzer's runtime (Debian: clang libclang-rt-dev; installed here when run as root) and the
# sharpfuzz dotnet tool (.config/dotnet-tools.json, restored here).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="${FUZZ_OUT:-$root/artifacts/fuzz}"
bin="$out/bin"      # instrumented: runs only under the driver (it writes coverage into the driver's shared memory)
plain="$out/plain"  # the same, uninstrumented: seeds, corpus packing, lists
driver="$out/libfuzzer-dotnet"

usage() { sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

tools() {
  if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
      | clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "Installing clang and libclang-rt-dev (libFuzzer)" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libclang-rt-dev >/dev/null
    else
      echo "clang -fsanitize=fuzzer does not link: install clang and libclang-rt-dev" >&2; exit 3
    fi
  fi
  mkdir -p "$out"
  if [ ! -x "$driver" ] || [ fuzz/libfuzzer-dotnet/libfuzzer-dotnet.cc -nt "$driver" ]; then
    clang -Werror -O2 -fsanitize=fuzzer fuzz/libfuzzer-dotnet/libfuzzer-dotnet.cc -o "$driver"
  fi
  dotnet tool restore >/dev/null
}

# Builds the harness into a fresh directory and instruments the core (NetStack.dll) in place: only the code under test
# is instrumented, so coverage counts the stack's edges, not the harness's.
build() {
  # FUZZ_REUSE_BUILD=1: use the instrumented build an earlier run left (no rebuild; a loaded machine builds slowly).
  if [ "${FUZZ_REUSE_BUILD:-0}" = 1 ] && [ -x "$bin/NetStack.Fuzz" ] && [ -x "$plain/NetStack.Fuzz" ]; then return; fi
  rm -rf "$bin" "$plain"
  local log="$out/build.log"
  mkdir -p "$out"
  dotnet publish fuzz/NetStack.Fuzz -c Release -o "$plain" -nologo -v q -p:UseAppHost=true >"$log" 2>&1 \
    || { cat "$log" >&2; echo "build failed" >&2; exit 1; }
  cp -r "$plain" "$bin"
  dotnet sharpfuzz "$bin/NetStack.dll" >/dev/null
}

corpus() { # TARGET -> prints the corpus directory, filled with seeds and the committed corpus
  local t=$1 dir="$out/corpus/$1"
  mkdir -p "$dir" "$out/seeds/$t"
  "$plain/NetStack.Fuzz" seeds "$t" "$out/seeds/$t" pcaps >/dev/null
  if [ -f "fuzz/corpus/$t.bin" ]; then "$plain/NetStack.Fuzz" unpack "fuzz/corpus/$t.bin" "$dir" >/dev/null; fi
  echo "$dir"
}

run() { # TARGET SECONDS [libFuzzer flags]
  local t=$1 seconds=$2; shift 2
  local dir log crashes
  dir=$(corpus "$t")
  crashes="$out/crashes/$t"
  mkdir -p "$crashes"
  log="$out/$t.log"
  local start=$SECONDS status=0
  # -timeout: one input running 25 s is a hang (a finding); -rss_limit_mb is the driver's own memory (the .NET child's
  # is bounded by the whole-stack target itself). -jobs stays 1: the machine is shared.
  "$driver" --target_path="$bin/NetStack.Fuzz" --target_arg="$t" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$@" "$dir" "$out/seeds/$t" >"$log" 2>&1 || status=$?
  local elapsed=$((SECONDS - start))
  local execs cov ft corp edges=""
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  read -r cov ft corp < <(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*/\1 \2 \3/' || true)
  # Edges of NetStack.dll the corpus reaches (libFuzzer's "cov" counts only the native driver's; "ft" is features).
  if [ "${FUZZ_EDGES:-1}" != 0 ] && [ "$status" -eq 0 ]; then
    edges=$("$bin/NetStack.Fuzz" edges "$t" "$dir" "$out/seeds/$t" | sed -n 's/.*: \([0-9]*\) edges.*/, \1 edges/p')
  fi
  echo "$t: ${execs:-0} executions in ${elapsed} s, ft ${ft:-?}${edges}, corpus ${corp:-?} (cov ${cov:-?}; log $log)"
  if [ "$status" -ne 0 ]; then
    echo "$t: FOUND A CRASH (exit $status); artifacts in $crashes:" >&2
    ls "$crashes" >&2
    grep -E -m1 -A12 'Unhandled exception|Exception' "$log" >&2 || tail -30 "$log" >&2
    return 1
  fi
}

[ $# -ge 1 ] || usage
case "$1" in
  list)
    dotnet build fuzz/NetStack.Fuzz -c Release -nologo -v q >/dev/null
    dotnet fuzz/NetStack.Fuzz/bin/Release/net10.0/NetStack.Fuzz.dll list ;;
  all)
    [ $# -eq 2 ] || usage
    tools; build
    failed=0
    for t in ${FUZZ_TARGETS:-$("$plain/NetStack.Fuzz" list | awk '{print $1}')}; do run "$t" "$2" || failed=1; done
    exit $failed ;;
  ci)
    # Deterministic: a fresh corpus (seeds and committed corpus only), libFuzzer's random seed fixed, a number of
    # executions instead of a time (the same inputs run on a loaded machine as on a quiet one). The whole-stack targets
    # run about 200 times slower per input than the parsers (a fresh stack per input, virtual minutes of timers).
    [ $# -eq 1 ] || usage
    rm -rf "$out/corpus"
    export FUZZ_EDGES=${FUZZ_EDGES:-0}
    tools; build
    failed=0
    for t in $("$plain/NetStack.Fuzz" list | awk '{print $1}'); do
      case "$t" in stack|virtio) runs=${FUZZ_CI_STACK_RUNS:-500} ;; *) runs=${FUZZ_CI_RUNS:-20000} ;; esac
      run "$t" 0 -runs="$runs" -seed=1 || failed=1
    done
    exit $failed ;;
  merge)
    [ $# -ge 2 ] || usage
    shift
    tools; build
    mkdir -p fuzz/corpus
    for t in "$@"; do
      dir=$(corpus "$t"); merged="$out/merged/$t"
      rm -rf "$merged"; mkdir -p "$merged"
      case "$t" in
        stack|virtio)
          # Whole-stack inputs are frame sequences, large: keep only the inputs that reach edges the seeds do not (the
          # seeds are cut from pcaps/ on every run, in CI and by FuzzRegressionTests, so they need no copy). libFuzzer's
          # merge adds to a non-empty first directory only inputs with features it lacks, the smallest first; with
          # -use_counters=0 a feature is an edge, not an edge's hit-count bucket (about a tenth of the inputs).
          cp "$out/seeds/$t"/. "$merged"/ -r
          "$driver" --target_path="$bin/NetStack.Fuzz" --target_arg="$t" -merge=1 -use_counters=0 -max_len=65536 "$merged" "$dir" >"$out/$t.merge.log" 2>&1
          (cd "$out/seeds/$t" && find . -maxdepth 1 -type f -printf '%f\n') | while read -r f; do rm -f "$merged/$f"; done ;;
        *)
          "$driver" --target_path="$bin/NetStack.Fuzz" --target_arg="$t" -merge=1 -max_len=65536 "$merged" "$dir" >"$out/$t.merge.log" 2>&1 ;;
      esac
      "$plain/NetStack.Fuzz" pack "$merged" "fuzz/corpus/$t.bin"
    done ;;
  *)
    [ $# -ge 2 ] || usage
    t=$1; seconds=$2; shift 2
    tools; build
    "$plain/NetStack.Fuzz" list | awk '{print $1}' | grep -qx "$t" || { echo "unknown target $t (scripts/fuzz.sh list)" >&2; exit 2; }
    run "$t" "$seconds" "$@" ;;
esac
