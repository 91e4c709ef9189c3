#!/usr/bin/env bash
# Runs every test of NetStack on a fresh Debian machine: installs the OS packages the tests use
# (real peers, tshark as an independent decoder, libpcap for SharpPcap), then runs all test projects
# and prints one closing line "N passed, N failed, N skipped".
# Interop tests need root (network namespaces, TAP devices); as a normal user they skip, saying why.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(tshark tcpdump libpcap0.8 libpcap0.8-dev iproute2 iputils-ping arping traceroute
          iperf3 socat netcat-openbsd curl openssl dnsmasq radvd isc-dhcp-server nftables procps python3 python3-scapy
          clang zlib1g-dev   # clang, zlib1g-dev: Native AOT publishing of samples/traceroute
          libclang-rt-dev    # libFuzzer's runtime for clang -fsanitize=fuzzer: scripts/fuzz.sh (the fuzzing step below)
          gcc libc6-dev)     # gcc: the flood tests compile bench/flood/flooder.c
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Not root: cannot install ${missing[*]}; tests that need them will fail or skip." >&2
  fi
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0
dotnet build NetStack.sln -c Release -warnaserror -nologo -v q || exit 1
dotnet test NetStack.sln -c Release --no-build --logger "trx" --results-directory "$results" "$@" || status=$?

# Coverage-guided fuzzing, short and bounded (docs/fuzzing.md): every target for a fixed number of executions from its
# seeds, with a fixed libFuzzer seed and a fresh corpus, so the run is the same each time (about 60-90 s in all).
# A crash fails the run like a failed test. FUZZ=0 skips it.
if [ "${FUZZ:-1}" != 0 ]; then
  if [ "$(id -u)" -eq 0 ] || echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
      | clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
    FUZZ_OUT="$results/fuzz" ./scripts/fuzz.sh ci || status=1
  else
    echo "Not root and clang -fsanitize=fuzzer does not link (clang, libclang-rt-dev): fuzzing skipped." >&2
  fi
fi

passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c"); passed=$((passed + ${p:-0}))
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c"); failed=$((failed + ${x:-0}))
  s=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$c"); skipped=$((skipped + ${s:-0}))
done
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit $status
