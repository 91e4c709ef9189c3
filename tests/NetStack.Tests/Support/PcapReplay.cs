using SimFrame = NetStack.Simulation.CapturedFrame;
using System.Text;
using NetStack.Link;
using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.Tests.Support;

/// <summary>
/// Replay testing: feed a capture into an <see cref="IPollable"/> (a stack, or a test node) on virtual time with a
/// fixed clock and seed, collect what it transmits, and compare that with a golden capture in pcaps/golden/.
/// A mismatch fails with a per-field diff of the differing frames (<c>tshark -V</c> of expected and actual) and a
/// byte-offset diff. Set <c>NETSTACK_UPDATE_GOLDEN=1</c> to (re)write golden files instead of comparing.
/// </summary>
internal static class PcapReplay
{
    /// <summary>The default instant the first captured frame is rebased to.</summary>
    public static readonly Instant DefaultStart = Instant.FromSeconds(1);

    public sealed record Result(ReplayDevice Device, Simulator Simulator)
    {
        public IReadOnlyList<SimFrame> Transmitted => Device.Transmitted;
    }

    /// <summary>
    /// Replays <paramref name="captureName"/> (a file in pcaps/) into the node <paramref name="createNode"/> builds over
    /// the replay device and the simulator's seeded random source, and runs until every frame has been fed and
    /// <paramref name="settle"/> (default 10 s) of virtual time has passed after the last one.
    /// </summary>
    public static Result Run(string captureName, Func<INetDevice, IRandomSource, IPollable> createNode, ulong seed = 1,
        Instant? start = null, TimeSpan? settle = null, MacAddress hardwareAddress = default, CapturedFrameFilter? filter = null)
    {
        var device = ReplayDevice.FromFile(CapturePaths.Get(captureName), start ?? DefaultStart, hardwareAddress, filter: filter);
        var sim = new Simulator(seed, start ?? DefaultStart);
        sim.AddNode("stack", createNode(device, sim.Random), device);
        sim.RunUntil(() => device.Remaining == 0, Instant.MaxValue - TimeSpan.FromDays(1));
        sim.RunFor(settle ?? TimeSpan.FromSeconds(10));
        return new Result(device, sim);
    }

    /// <summary>Writes frames to a classic pcap (timestamps as microseconds since the epoch).</summary>
    public static void Write(string path, IEnumerable<SimFrame> frames, Medium medium)
    {
        using var w = new PcapWriter(File.Create(path), medium);
        foreach (var f in frames) w.Write(f.Data, f.Timestamp);
    }

    /// <summary>Reads a capture's frames (µs timestamps).</summary>
    public static List<SimFrame> Read(string path)
    {
        using var reader = PcapFile.Open(path);
        if (!SimFrame.TryReadAll(reader, out var frames, out _))
            throw new InvalidDataException($"{path}: malformed after {frames.Count} frames ({reader.Error})");
        return frames;
    }

    /// <summary>
    /// Fails unless <paramref name="actual"/> equals the golden capture pcaps/golden/<paramref name="goldenName"/> frame by
    /// frame (bytes and timestamps); the message carries the seed and the diff.
    /// </summary>
    public static void AssertMatchesGolden(IReadOnlyList<SimFrame> actual, string goldenName, Medium medium, ulong seed)
    {
        var golden = Path.Combine(CapturePaths.Directory, "golden", goldenName);
        if (Environment.GetEnvironmentVariable("NETSTACK_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(golden)!);
            Write(golden, actual, medium);
            return;
        }
        Assert.True(File.Exists(golden), $"golden capture {golden} is missing (run with NETSTACK_UPDATE_GOLDEN=1 to create it)");
        var diff = Compare(Read(golden), actual, medium);
        if (diff is not null) Assert.Fail($"seed {seed}: output differs from {goldenName}\n{diff}");
    }

    /// <summary>Null when equal; otherwise a readable diff of up to <paramref name="maxFrames"/> differing frames.</summary>
    public static string? Compare(IReadOnlyList<SimFrame> expected, IReadOnlyList<SimFrame> actual, Medium medium, int maxFrames = 5)
    {
        var sb = new StringBuilder();
        int shown = 0;
        if (expected.Count != actual.Count) sb.AppendLine($"frame count: expected {expected.Count}, actual {actual.Count}");
        int n = Math.Max(expected.Count, actual.Count);
        for (int i = 0; i < n && shown < maxFrames; i++)
        {
            var e = i < expected.Count ? expected[i] : null;
            var a = i < actual.Count ? actual[i] : null;
            if (e is not null && a is not null && e.Timestamp == a.Timestamp && e.Data.AsSpan().SequenceEqual(a.Data)) continue;
            shown++;
            sb.AppendLine($"--- frame {i + 1} ---");
            if (e is null) { sb.AppendLine("unexpected extra frame:"); sb.Append(Decode(a!, medium)); continue; }
            if (a is null) { sb.AppendLine("missing frame, expected:"); sb.Append(Decode(e, medium)); continue; }
            if (e.Timestamp != a.Timestamp) sb.AppendLine($"time: expected {e.Timestamp}, actual {a.Timestamp}");
            if (!e.Data.AsSpan().SequenceEqual(a.Data))
            {
                AppendFieldDiff(sb, Decode(e, medium), Decode(a, medium));
                AppendByteDiff(sb, e.Data, a.Data);
            }
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    /// <summary><c>tshark -V</c> of one frame, written to a temporary pcap.</summary>
    private static string Decode(SimFrame frame, Medium medium)
    {
        var path = Path.Combine(Path.GetTempPath(), $"netstack-replay-{Guid.NewGuid():N}.pcap");
        try
        {
            Write(path, [frame with { Timestamp = Instant.Zero }], medium); // time is compared separately
            return TsharkDump.Run("-n", "-V", "-r", path);
        }
        finally { File.Delete(path); }
    }

    /// <summary>The lines of the two decodes that differ, in order (a longest-common-subsequence line diff).</summary>
    private static void AppendFieldDiff(StringBuilder sb, string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var lcs = new int[e.Length + 1, a.Length + 1];
        for (int i = e.Length - 1; i >= 0; i--)
            for (int j = a.Length - 1; j >= 0; j--)
                lcs[i, j] = e[i] == a[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        int x = 0, y = 0;
        while (x < e.Length || y < a.Length)
        {
            if (x < e.Length && y < a.Length && e[x] == a[y]) { x++; y++; }
            else if (y < a.Length && (x == e.Length || lcs[x, y + 1] >= lcs[x + 1, y])) sb.AppendLine("+ " + a[y++].TrimEnd());
            else sb.AppendLine("- " + e[x++].TrimEnd());
        }
    }

    private static void AppendByteDiff(StringBuilder sb, byte[] e, byte[] a)
    {
        if (e.Length != a.Length) sb.AppendLine($"length: expected {e.Length}, actual {a.Length}");
        int shown = 0;
        for (int i = 0; i < Math.Min(e.Length, a.Length) && shown < 16; i++)
        {
            if (e[i] == a[i]) continue;
            sb.AppendLine($"offset 0x{i:x4}: expected {e[i]:x2}, actual {a[i]:x2}");
            shown++;
        }
    }
}
