using System.Globalization;
using NetStack.Simulation;
using NetStack.Transport.Tcp;

namespace NetStack.Bench.Tcp;

/// <summary>
/// Goodput over the simulator, in virtual time: the smoltcp netsim setting (a bulk transfer between two stacks,
/// one-way latency RTT/2, no bandwidth limit, the same loss rate on both directions, goodput = bytes delivered to
/// the receiving application / virtual time from connect to the last byte read), across RTT x loss, for a 32 KB
/// socket buffer and the default buffers, with CUBIC and NewReno. Deterministic: the seed of every cell is printed.
/// </summary>
internal static class SimGoodput
{
    public static readonly int[] RttsMs = [1, 10, 50, 100, 200];
    public static readonly double[] Losses = [0, 0.001, 0.01, 0.05];

    /// <summary>The sender's idle gaps in the last <see cref="Run"/> (<see cref="GapTracer"/>).</summary>
    public static string Gaps { get; private set; } = "";

    /// <summary>The result of one cell.</summary>
    public readonly record struct Cell(double BytesPerSecond, bool Complete, bool Corrupt, long Retransmissions, long Timeouts, TimeSpan Elapsed, long Probes = 0);

    /// <summary>Runs one transfer of <paramref name="bytes"/> and returns its goodput.</summary>
    public static Cell Run(ulong seed, double rttMs, double loss, TcpSettings settings, long bytes, TimeSpan stretchAckHold = default)
    {
        var start = Instant.FromSeconds(1);
        var sim = new Simulator(seed, start) { MaxPollsPerInstant = 10_000_000 };
        var link = new LinkOptions { Latency = TimeSpan.FromMicroseconds(rttMs * 500.0) };
        using var pair = new StackPair(sim.Random, link, loss, settings, start, stretchAckHold);
        var flow = pair.StartFlow(bytes, verify: true, start);
        sim.AddNode("A", new AppNode(pair.A, flow.Step), pair.DeviceA);
        sim.AddNode("B", new AppNode(pair.B, flow.Step), pair.DeviceB);
        bool done = sim.RunUntil(() => flow.Done || flow.Corrupt, start + TimeSpan.FromHours(10));
        var elapsed = sim.Now - start;
        double bps = flow.Received / elapsed.TotalSeconds;
        var sa = pair.TcpA.Stats; var sb = pair.TcpB.Stats;
        Gaps = pair.GapsA + $"\nA: paws={sa.PawsDropped} oow={sa.OutOfWindow} challenge={sa.ChallengeAcks}/{sa.ChallengeAcksSuppressed} sent={sa.SegmentsSent} rcvd={sa.SegmentsReceived}; B: paws={sb.PawsDropped} oow={sb.OutOfWindow} challenge={sb.ChallengeAcks}/{sb.ChallengeAcksSuppressed} sent={sb.SegmentsSent} rcvd={sb.SegmentsReceived} dsacks={sb.DsacksSent}; stretch sent={pair.StretchB?.AcksSent} coalesced={pair.StretchB?.AcksCoalesced}; faultA {pair.FaultA?.TransmitStatistics.Dropped}/{pair.FaultA?.TransmitStatistics.Frames} faultB {pair.FaultB?.TransmitStatistics.Dropped}/{pair.FaultB?.TransmitStatistics.Frames}"
            + $"\nA: fastrtx={sa.FastRetransmits} rack={sa.RackLosses} tlp={sa.TailLossProbes} tlprepair={sa.TailLossProbeRepairs} dsacks={sa.DsacksReceived} rtt samples={sa.RttSamples} (send time {sa.RttSamplesFromSendTime}) srtt={flow.Client.SmoothedRtt.TotalMicroseconds:0}us";
        return new Cell(bps, done && !flow.Corrupt, flow.Corrupt, pair.TcpA.Stats.Retransmissions, pair.TcpA.Stats.Timeouts, elapsed, pair.TcpA.Stats.TailLossProbes);
    }

    /// <summary>
    /// Prints the whole table (one block per buffer setting and algorithm), as markdown; <paramref name="prr"/>: PRR on
    /// (RFC 9937), with reduction bound <paramref name="bound"/>.
    /// </summary>
    public static int RunTable(ulong seed, long bytes, int seeds, TextWriter output, bool prr = true, PrrReductionBound bound = PrrReductionBound.Rfc9937)
    {
        var defaults = new TcpSettings { ProportionalRateReduction = prr, PrrBound = bound };
        var configs = new (string Name, TcpSettings Settings)[]
        {
            ("32 KB buffers, CUBIC", defaults with { SendBufferSize = 32 * 1024, ReceiveBufferSize = 32 * 1024, ReceiveBufferMax = 32 * 1024, Congestion = CongestionAlgorithm.Cubic }),
            ("32 KB buffers, NewReno", defaults with { SendBufferSize = 32 * 1024, ReceiveBufferSize = 32 * 1024, ReceiveBufferMax = 32 * 1024, Congestion = CongestionAlgorithm.NewReno }),
            ($"default buffers ({defaults.SendBufferSize / 1024} KB send / {defaults.ReceiveBufferSize / 1024} KB receive, auto-tuned up to {defaults.ReceiveBufferMax / 1024} KB), CUBIC", defaults with { Congestion = CongestionAlgorithm.Cubic }),
            ($"default buffers ({defaults.SendBufferSize / 1024} KB send / {defaults.ReceiveBufferSize / 1024} KB receive, auto-tuned up to {defaults.ReceiveBufferMax / 1024} KB), NewReno", defaults with { Congestion = CongestionAlgorithm.NewReno }),
        };
        int failures = 0;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Goodput in kB/s (1 kB = 1000 bytes) of a {bytes} byte transfer, median of {seeds} seeds; seeds of cell (i, j) = {seed} + 100*i + j + 10000*k, k = 0..{seeds - 1} (i = RTT row, j = loss column)."));
        foreach (var (name, settings) in configs)
        {
            output.WriteLine();
            output.WriteLine($"#### {name}");
            output.WriteLine();
            output.Write("| RTT \\ loss |");
            foreach (var l in Losses) output.Write(string.Create(CultureInfo.InvariantCulture, $" {l * 100:0.#} % |"));
            output.WriteLine();
            output.Write("|-----------:|");
            foreach (var _ in Losses) output.Write("------:|");
            output.WriteLine();
            for (int i = 0; i < RttsMs.Length; i++)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture, $"| {RttsMs[i]} ms |"));
                for (int j = 0; j < Losses.Length; j++)
                {
                    var goodputs = new double[seeds];
                    string mark = "";
                    for (int k = 0; k < seeds; k++)
                    {
                        ulong cellSeed = seed + (ulong)(100 * i + j + 10_000 * k);
                        var c = Run(cellSeed, RttsMs[i], Losses[j], settings, bytes);
                        goodputs[k] = c.BytesPerSecond;
                        if (!c.Complete) { failures++; mark = c.Corrupt ? " CORRUPT" : " INCOMPLETE"; }
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{name}: rtt={RttsMs[i]}ms loss={Losses[j]} seed={cellSeed} goodput={c.BytesPerSecond:0} B/s virtual={c.Elapsed.TotalSeconds:0.###}s rtx={c.Retransmissions} rto={c.Timeouts} complete={c.Complete}"));
                    }
                    Array.Sort(goodputs);
                    double median = seeds % 2 == 1 ? goodputs[seeds / 2] : (goodputs[seeds / 2 - 1] + goodputs[seeds / 2]) / 2;
                    output.Write(string.Create(CultureInfo.InvariantCulture, $" {median / 1000:0.#}{mark} |"));
                }
                output.WriteLine();
                output.Flush();
            }
        }
        return failures == 0 ? 0 : 1;
    }
}
