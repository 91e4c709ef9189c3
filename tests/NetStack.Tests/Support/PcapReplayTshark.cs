using System.Diagnostics;

namespace NetStack.Tests.Support;

/// <summary>Runs tshark, the independent decoder our capture tests compare against.</summary>
internal static class TsharkDump
{
    /// <summary>Runs <c>tshark</c> with <paramref name="args"/> and returns its standard output (throws when it fails).</summary>
    public static string Run(params string[] args)
    {
        var psi = new ProcessStartInfo("tshark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("tshark did not start");
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"tshark {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result}");
        return stdout;
    }

    /// <summary>What tshark shows of one frame: frame.len, frame.cap_len, frame.time_epoch (nanosecond digits) and the bytes.</summary>
    public sealed record Frame(int Len, int CapLen, string Epoch, byte[] Bytes)
    {
        public (int Len, int CapLen, string Epoch) Meta => (Len, CapLen, Epoch);
    }

    /// <summary>
    /// Every frame of a capture from one tshark run: a summary line of custom columns (<c>-P</c>) followed by the
    /// hex dump (<c>-x</c>); extra data sources (reassembled data) after the frame's own bytes are ignored.
    /// </summary>
    public static List<Frame> Dump(string path)
    {
        var frames = new List<Frame>();
        (int, int, string)? meta = null;
        List<byte>? bytes = null;
        bool extra = false;
        void Flush()
        {
            if (meta is { } m) frames.Add(new Frame(m.Item1, m.Item2, m.Item3, [.. bytes ?? []]));
            meta = null; bytes = null; extra = false;
        }
        var output = Run("-n", "-P", "-x", "-r", path, "-o",
            "gui.column.format:\"L\",\"%Cus:frame.len\",\"C\",\"%Cus:frame.cap_len\",\"T\",\"%Cus:frame.time_epoch\"");
        foreach (var raw in output.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var parts = line.Split(' ');
            // A frame without a timestamp (pcapng Simple Packet Block) has an empty time column.
            if (parts.Length is 2 or 3 && int.TryParse(parts[0], out int len) && int.TryParse(parts[1], out int cap)
                && (parts.Length == 2 || parts[2].Contains('.', StringComparison.Ordinal)))
            {
                Flush();
                meta = (len, cap, parts.Length == 3 ? parts[2] : "");
                continue;
            }
            // "0000  ff ff ff ff ff ff 00 11 22 33 44 55 08 00 45 00   ........"
            if (raw.Length < 6 || !IsHex(raw.AsSpan(0, 4)) || raw[4] != ' ') { extra = bytes is not null; continue; }
            if (extra) continue;
            bytes ??= [];
            var hex = raw[6..];
            for (int i = 0; i + 2 <= hex.Length && i < 16 * 3; i += 3)
            {
                if (hex[i] == ' ') break;
                bytes.Add(Convert.ToByte(hex.Substring(i, 2), 16));
            }
        }
        Flush();
        return frames;
    }

    /// <summary>Formats nanoseconds since the epoch the way tshark prints frame.time_epoch.</summary>
    public static string Epoch(long nanoseconds) =>
        $"{nanoseconds / 1_000_000_000}.{nanoseconds % 1_000_000_000:D9}";

    /// <summary>Concatenates captures into one pcapng with <c>mergecap -a</c> (frames keep their order, timestamps and interfaces).</summary>
    public static void Concatenate(string output, IEnumerable<string> inputs)
    {
        var psi = new ProcessStartInfo("mergecap") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-a", "-F", "pcapng", "-w", output }) psi.ArgumentList.Add(a);
        foreach (var i in inputs) psi.ArgumentList.Add(i);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("mergecap did not start");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"mergecap exited {p.ExitCode}: {err}");
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s) if (!char.IsAsciiHexDigit(c)) return false;
        return true;
    }
}
