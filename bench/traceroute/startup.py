#!/usr/bin/env python3
"""Time from process start to the header line of a trace, for our traceroute (Native AOT and JIT) and Linux's.

Run as root by startup.sh, which builds the binaries and the namespace. Each run starts the command through
`ip netns exec NS ...` (the same launcher for every program, so its cost is in every figure alike), reads its
standard output and notes when the header's text has arrived (both print it without a new-line and flush it); the runs of the programs are interleaved,
round after round, so a busy moment of the machine falls on all of them alike. Prints one line per program and
family: the median, the quartiles and the minimum, in milliseconds.
"""
import statistics
import subprocess
import sys
import time

def header_ms(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Linux traceroute 2.1 prints its header without a new-line and flushes it (the new-line comes with hop 1's
    # number), and so does ours: the header has arrived when its text ends in "byte packets".
    got = b""
    while not got.endswith(b" byte packets"):
        chunk = p.stdout.read1(4096) if hasattr(p.stdout, "read1") else p.stdout.read(1)
        if not chunk:
            break
        got += chunk
        if b"byte packets" in got:
            break
    t1 = time.perf_counter()
    p.communicate(timeout=60)
    if not got.startswith(b"traceroute to ") or b" byte packets" not in got:
        raise SystemExit(f"{' '.join(cmd)}: no header, got {got!r}")
    return (t1 - t0) * 1000.0

def main():
    ns, aot, dll, tap, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    device = ["--tap", tap, "--address", "198.51.100.2/24", "--address", "2001:db8:1::2/64",
              "--gateway", "198.51.100.1", "--gateway", "2001:db8:1::1"]
    programs = {
        "Linux traceroute 2.1": lambda t: ["ip", "netns", "exec", ns, "traceroute", "-n", "-q", "1", "-m", "1", t],
        "ours, Native AOT": lambda t: ["ip", "netns", "exec", ns, aot, *device, "-n", "-q", "1", "-m", "1", t],
        "ours, JIT (dotnet traceroute.dll)": lambda t: ["ip", "netns", "exec", ns, "dotnet", dll, *device, "-n", "-q", "1", "-m", "1", t],
    }
    # Linux traces the far end of its own link from inside the namespace; ours the kernel across the TAP.
    targets = {"IPv4": "198.51.100.1", "IPv6": "2001:db8:1::1"}
    results = {(p, f): [] for p in programs for f in targets}
    for _ in range(rounds):
        for family, target in targets.items():
            for name, cmd in programs.items():
                results[(name, family)].append(header_ms(cmd(target)))
    print(f"{'program':36} {'family':6} {'median':>8} {'q1':>8} {'q3':>8} {'min':>8}  (ms from process start to the header, {rounds} runs)")
    for (name, family), times in results.items():
        q = statistics.quantiles(times, n=4)
        print(f"{name:36} {family:6} {statistics.median(times):8.1f} {q[0]:8.1f} {q[2]:8.1f} {min(times):8.1f}")

main()
