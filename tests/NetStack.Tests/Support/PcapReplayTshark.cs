using System.Diagnostics;

namespace NetStack.Tests.Support;

/// <summary>Runs tshark, the independent decoder our capture tests compare against.</summary>
internal static class Tshark
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

    /// <summary>One line per frame: frame.len, frame.cap_len, frame.time_epoch (nanosecond digits).</summary>
    public static List<(int Len, int CapLen, string Epoch)> Frames(string path)
    {
        var list = new List<(int, int, string)>();
        foreach (var line in Run("-n", "-r", path, "-T", "fields", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch")
                     .Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            list.Add((int.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture), f[2]));
        }
        return list;
    }

    /// <summary>Formats nanoseconds since the epoch the way tshark prints frame.time_epoch.</summary>
    public static string Epoch(long nanoseconds) =>
        $"{nanoseconds / 1_000_000_000}.{nanoseconds % 1_000_000_000:D9}";

    /// <summary>The bytes of every frame, from tshark's hex dump (<c>-x</c>); extra data sources (reassembled data) are ignored.</summary>
    public static List<byte[]> FrameBytes(string path)
    {
        var frames = new List<byte[]>();
        List<byte>? current = null;
        bool extra = false;
        foreach (var raw in Run("-n", "-r", path, "-x").Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                if (current is not null) { frames.Add([.. current]); current = null; }
                extra = false;
                continue;
            }
            // "0000  ff ff ff ff ff ff 00 11 22 33 44 55 08 00 45 00   ........"
            if (line.Length < 6 || !IsHex(line.AsSpan(0, 4)) || line[4] != ' ')
            {
                extra = current is not null; // a label such as "Reassembled TCP (n bytes):" starts another data source
                continue;
            }
            if (extra) continue;
            current ??= [];
            var hex = line[6..];
            for (int i = 0; i + 2 <= hex.Length && i < 16 * 3; i += 3)
            {
                if (hex[i] == ' ') break;
                current.Add(Convert.ToByte(hex.Substring(i, 2), 16));
            }
        }
        if (current is not null) frames.Add([.. current]);
        return frames;
    }

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
