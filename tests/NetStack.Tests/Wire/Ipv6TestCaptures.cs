using System.Diagnostics;
using System.Globalization;
using SharpPcap;
using SharpPcap.LibPcap;

namespace NetStack.Tests.Wire;

/// <summary>
/// Private helpers of the IPv6-side wire tests: read the frames of a capture in pcaps/ and run tshark
/// over the same file, so decoded fields can be compared with an independent dissector.
/// </summary>
internal static class Ipv6TestCaptures
{
    public static string PcapPath(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "pcaps"))) dir = dir.Parent;
        if (dir is null) throw new DirectoryNotFoundException("pcaps/ not found above " + AppContext.BaseDirectory);
        return Path.Combine(dir.FullName, "pcaps", name);
    }

    /// <summary>Every frame of the capture, in order.</summary>
    public static List<byte[]> ReadFrames(string name)
    {
        var frames = new List<byte[]>();
        using var device = new CaptureFileReaderDevice(PcapPath(name));
        device.Open();
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            frames.Add(capture.GetPacket().Data);
        }
        return frames;
    }

    /// <summary>
    /// Runs <c>tshark -T fields</c> with IPv6 reassembly off (each frame is dissected on its own, as we
    /// parse it) and returns one tab-joined line per frame. Multiple occurrences are comma-joined and
    /// hexadecimal numbers are rewritten in decimal so both sides print numbers the same way.
    /// </summary>
    public static List<string> Tshark(string name, params string[] fields) => RunTshark(PcapPath(name), fields);

    /// <summary>
    /// As <see cref="Tshark"/> for several captures at once: they are concatenated with mergecap into a
    /// temporary file so tshark starts once (its start-up dominates), then split again by frame counts.
    /// </summary>
    public static Dictionary<string, List<string>> TsharkMany(IReadOnlyList<string> names, params string[] fields)
    {
        string merged = Path.Combine(Path.GetTempPath(), $"netstack-ipv6-{Environment.ProcessId}-{Guid.NewGuid():N}.pcapng");
        try
        {
            var args = new List<string> { "-a", "-F", "pcapng", "-w", merged };
            args.AddRange(names.Select(PcapPath));
            Run("mergecap", args);
            var lines = RunTshark(merged, fields);
            var result = new Dictionary<string, List<string>>();
            int at = 0;
            foreach (var n in names)
            {
                int count = ReadFrames(n).Count;
                result[n] = lines.GetRange(at, Math.Min(count, lines.Count - at));
                at += count;
            }
            if (at != lines.Count) throw new InvalidOperationException($"tshark printed {lines.Count} lines for {at} frames");
            return result;
        }
        finally
        {
            File.Delete(merged);
        }
    }

    private static string Run(string tool, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException(tool + " did not start");
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException(tool); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} exited {p.ExitCode}: {stderr.Result}");
        return output;
    }

    private static List<string> RunTshark(string path, string[] fields)
    {
        var args = new List<string> { "-r", path, "-n", "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "separator=/t", "-E", "aggregator=," };
        foreach (var f in fields) { args.Add("-e"); args.Add(f); }
        string output = Run("tshark", args);
        return output.Split('\n', StringSplitOptions.None)[..^1]
            .Select(line => string.Join('\t', line.TrimEnd('\r').Split('\t').Select(Normalize)))
            .ToList();
    }

    private static string Normalize(string column) =>
        string.Join(',', column.Split(',').Select(v =>
            v.StartsWith("0x", StringComparison.Ordinal) && ulong.TryParse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var n)
                ? n.ToString(CultureInfo.InvariantCulture)
                : v));

    /// <summary>Joins values of one field the way tshark's aggregator does.</summary>
    public static string Join<T>(IEnumerable<T> values) => string.Join(',', values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
}
