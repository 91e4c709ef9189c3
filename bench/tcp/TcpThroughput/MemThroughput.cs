using System.Diagnostics;
using System.Globalization;
using NetStack.Simulation;
using NetStack.Tap;
using NetStack.Transport.Tcp;

namespace NetStack.Bench.Tcp;

/// <summary>
/// Two stacks joined by an in-memory link with no latency and no bandwidth limit, polled in one loop on the real
/// monotonic clock as fast as possible: a bulk flow A -> B (discarded by the receiver, not verified). Prints bytes
/// per wall-clock second, bytes per CPU-second of the whole process (runtime threads included) and CPU-seconds per GB,
/// for each buffer setting, after a warm-up run of 1 s and 0.5 s of warm-up in each run; first with a link of wire
/// frames (no offloads: TCP's super-segments are cut and checksummed in software, each 1,448-byte segment verified by the
/// receiver), then with the link offering a veth's offloads (<see cref="LinkOptions.VethOffloads"/>: 64 KB TSO
/// super-frames with partial checksums cross whole), as the kernel's veth reference does.
/// </summary>
internal static class MemThroughput
{
    public static int Run(double seconds, TextWriter output)
    {
        var configs = new (string Name, TcpSettings Settings)[]
        {
            ("default", new TcpSettings()),
            ("256KB", new TcpSettings { SendBufferSize = 256 * 1024, ReceiveBufferSize = 256 * 1024, ReceiveBufferMax = 256 * 1024 }),
        };
        // Tiered JIT: a first run of a second brings the hot paths to optimized code before anything is measured.
        Measure(new TcpSettings(), 1, offloads: false);
        Measure(new TcpSettings(), 1, offloads: true);
        foreach (bool offloads in (ReadOnlySpan<bool>)[false, true])
        foreach (var (name, settings) in configs)
        {
            var r = Measure(settings, seconds, offloads);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mem buffers={name} offloads={(offloads ? "on" : "off")} bytes={r.Bytes} wall={r.Wall:0.###} cpu={r.Cpu:0.###} wallBps={r.Bytes / r.Wall:0} cpuBps={r.Bytes / r.Cpu:0} cpuSecPerGB={r.Cpu / (r.Bytes / 1e9):0.###} allocPerMB={r.Allocated / (r.Bytes / 1e6):0} rtx={r.Retransmissions}"));
        }
        return 0;
    }

    private readonly record struct Result(long Bytes, double Wall, double Cpu, long Allocated, long Retransmissions);

    private static Result Measure(TcpSettings settings, double seconds, bool offloads)
    {
        var random = new SeededRandom(1);
        var now = StackHost.Now;
        var link = offloads ? LinkOptions.Default with { Offloads = LinkOptions.VethOffloads } : LinkOptions.Default;
        using var pair = new StackPair(random, link, 0, settings, now);
        var flow = pair.StartFlow(long.MaxValue, verify: false, now);
        var sw = Stopwatch.StartNew();
        double warmEnd = 0.5, end = 0.5 + seconds;
        bool measuring = false;
        long bytes0 = 0, alloc0 = 0;
        double t0 = 0, cpu0 = 0;
        while (true)
        {
            now = StackHost.Now;
            flow.Step();
            pair.A.Poll(now);
            pair.B.Poll(now);
            double t = sw.Elapsed.TotalSeconds;
            if (!measuring && t >= warmEnd)
            {
                measuring = true;
                t0 = t;
                cpu0 = Environment.CpuUsage.TotalTime.TotalSeconds;
                bytes0 = flow.Received;
                alloc0 = GC.GetTotalAllocatedBytes(precise: false);
            }
            else if (measuring && t >= end)
            {
                double cpu = Environment.CpuUsage.TotalTime.TotalSeconds - cpu0;
                return new Result(flow.Received - bytes0, t - t0, cpu, GC.GetTotalAllocatedBytes(precise: false) - alloc0, pair.TcpA.Stats.Retransmissions);
            }
        }
    }
}
