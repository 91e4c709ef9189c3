using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>Traceroute output with round-trip times masked, after checking they have Linux's form "  %.3f ms".</summary>
internal static partial class TraceText
{
    [GeneratedRegex(@"  \d+\.\d{3} ms")]
    private static partial Regex Rtt();

    [GeneratedRegex(@"\bms\b")]
    private static partial Regex AnyMs();

    /// <summary>Replaces every "  12.345 ms" by "  N ms"; any other "ms" left over (another format) fails.</summary>
    public static string Mask(string output, string who)
    {
        string masked = Rtt().Replace(output.Replace("\r\n", "\n", StringComparison.Ordinal), "  N ms");
        int others = AnyMs().Matches(masked).Count - Regex.Matches(masked, @"  N ms").Count;
        Assert.True(others == 0, $"{who}: a round-trip time not in the form '  %.3f ms':\n{output}");
        return masked;
    }

    /// <summary>Asserts that Linux printed <paramref name="expected"/> (the lab is what we think) and that ours printed the same, line by line.</summary>
    public static void AssertBothPrint(ITestOutputHelper log, string expected, string linux, string ours)
    {
        log.WriteLine($"Linux:\n{linux}\nours:\n{ours}");
        string l = Mask(linux, "Linux traceroute"), o = Mask(ours, "our traceroute");
        AssertRoundTripsArePositive(ours);
        Assert.True(l == expected, $"Linux traceroute in the lab printed:\n{linux}\nthe test expects:\n{expected}");
        var ll = l.Split('\n');
        var ol = o.Split('\n');
        for (int i = 0; i < Math.Max(ll.Length, ol.Length); i++)
        {
            string a = i < ll.Length ? ll[i] : "<none>", b = i < ol.Length ? ol[i] : "<none>";
            Assert.True(a == b, $"line {i + 1} differs:\n  Linux: '{a}'\n  ours:  '{b}'\nLinux:\n{linux}\nours:\n{ours}");
        }
    }

    /// <summary>
    /// A probe's round trip through a TAP and kernel routers takes microseconds at the least; "0.000 ms" means the answer
    /// was stamped with a time read before its probe was sent.
    /// </summary>
    public static void AssertRoundTripsArePositive(string ours) =>
        Assert.False(ours.Contains("  0.000 ms", StringComparison.Ordinal), $"a round trip of 0.000 ms in our output:\n{ours}");

    /// <summary>The hop lines (after the header) of a masked output.</summary>
    public static string[] Hops(string masked) => masked.TrimEnd('\n').Split('\n')[1..];
}
