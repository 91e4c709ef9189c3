using System.Diagnostics;

namespace NetStack.Tests.Support;

/// <summary>
/// Runs tshark as an independent decoder (test oracle) and returns field values per frame.
/// Each field holds all occurrences joined by ',' (e.g. the outer and the quoted ip.src of an ICMP error).
/// </summary>
public static class Tshark
{
    /// <summary>
    /// <c>tshark -r FILE -T fields -e frame.number -e F1 -e F2 ...</c>: one row per frame shown (after the
    /// optional display filter), keyed by frame number; each row holds the requested fields in order
    /// (empty string when absent). Extra arguments (for example <c>-o ip.check_checksum:TRUE</c>) go before the fields.
    /// </summary>
    public static IReadOnlyDictionary<int, string[]> Fields(string capture, IReadOnlyList<string> fields,
        string? displayFilter = null, params string[] extraArguments)
    {
        var psi = new ProcessStartInfo("tshark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-n");
        psi.ArgumentList.Add("-r");
        psi.ArgumentList.Add(Path.IsPathRooted(capture) ? capture : Captures.PathOf(capture));
        foreach (var a in extraArguments) psi.ArgumentList.Add(a);
        if (displayFilter is not null) { psi.ArgumentList.Add("-Y"); psi.ArgumentList.Add(displayFilter); }
        foreach (var a in new[] { "-T", "fields", "-E", "separator=/t", "-E", "aggregator=,", "-E", "occurrence=a", "-e", "frame.number" })
            psi.ArgumentList.Add(a);
        foreach (var f in fields) { psi.ArgumentList.Add("-e"); psi.ArgumentList.Add(f); }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("tshark did not start");
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException("tshark took more than 60 s"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"tshark failed ({p.ExitCode}): {stderr.Result}");

        var rows = new Dictionary<int, string[]>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var cells = line.TrimEnd('\r').Split('\t');
            var row = new string[fields.Count];
            for (int i = 0; i < row.Length; i++) row[i] = i + 1 < cells.Length ? cells[i + 1] : "";
            rows[int.Parse(cells[0], System.Globalization.CultureInfo.InvariantCulture)] = row;
        }
        return rows;
    }

    /// <summary>The first occurrence of a multi-occurrence cell ("a,b" -> "a").</summary>
    public static string First(string cell) => cell.Split(',')[0];

    /// <summary>The last occurrence of a multi-occurrence cell ("a,b" -> "b").</summary>
    public static string Last(string cell) => cell.Split(',')[^1];

    /// <summary>Parses a tshark number cell in decimal or 0x-hex.</summary>
    public static long Number(string cell) => cell.StartsWith("0x", StringComparison.Ordinal)
        ? Convert.ToInt64(cell[2..], 16)
        : long.Parse(cell, System.Globalization.CultureInfo.InvariantCulture);
}
