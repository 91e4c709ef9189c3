using System.Text.RegularExpressions;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// R2 reaches 203.0.113.20 / 2001:db8:99::20 over two equal-cost next hops (R3 and R3b), hashing each flow's
/// destination, protocol and ports (fib_multipath_hash_policy=3, see <see cref="TracerouteLab"/>). Classic probes change the port per probe and so wander between the two;
/// --paris keeps one flow and one path, --mda sends flows on purpose until both are found.
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class MultipathTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    private static readonly string[] Hop3V4 = ["192.0.2.6", "192.0.2.14"];
    private static readonly string[] Hop3V6 = ["2001:db8:23::6", "2001:db8:25::14"];

    [SkippableTheory]
    [InlineData("", TracerouteLab.MultipathV4)]
    [InlineData("", TracerouteLab.MultipathV6)]
    [InlineData("-T", TracerouteLab.MultipathV4)]
    [InlineData("-T", TracerouteLab.MultipathV6)]
    public async Task Paris_probes_all_take_one_of_the_equal_cost_paths(string method, string target)
    {
        Root.Require();
        string[] args = [.. method.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--paris", "-n", "-w", "2", "-q", "10", target];
        string raw = await fixture.Lab.RunOursAsync(args);
        log.WriteLine(raw);
        TraceText.AssertRoundTripsArePositive(raw);
        string text = TraceText.Mask(raw, "our traceroute");
        var hops = TraceText.Hops(text);
        Assert.True(hops.Length == 4, text);
        var hop3 = Regex.Matches(hops[2], @"[0-9a-f:.]+(?=  N ms)").Select(m => m.Value).ToList();
        // One address printed once, then nine more answers from it: "  N ms" ten times, no second address.
        Assert.True(hop3.Count == 1 && Regex.Matches(hops[2], "  N ms").Count == 10, text);
        Assert.Contains(hop3[0], target.Contains(':', StringComparison.Ordinal) ? Hop3V6 : Hop3V4);
        Assert.True(hops[3] == $" 4  {target}{string.Concat(Enumerable.Repeat("  N ms", 10))}", text);
    }

    [SkippableTheory]
    [InlineData(TracerouteLab.MultipathV4)]
    [InlineData(TracerouteLab.MultipathV6)]
    public async Task Mda_finds_both_next_hops_of_the_load_balancer(string target)
    {
        Root.Require();
        var expected = target.Contains(':', StringComparison.Ordinal) ? Hop3V6 : Hop3V4;
        // The MDA stops at 95% confidence by design: after 6 probes all on one path (probability 2/64 with two
        // uniformly hashed paths) it concludes there is one interface. One more run makes a miss 1 in 1000.
        string text = "";
        for (int attempt = 0; attempt < 2; attempt++)
        {
            text = await fixture.Lab.RunOursAsync("--mda", "-n", "-w", "2", target);
            log.WriteLine(text);
            var hops = TraceText.Hops(text);
            if (hops.Length == 4 && expected.All(a => hops[2].Contains($" {a} [", StringComparison.Ordinal))) break;
        }
        var lines = TraceText.Hops(text);
        Assert.True(lines.Length == 4, text);
        Assert.Matches(@"^ 3  \S+ \[\d+/11\] \S+ \[\d+/11\]$", lines[2]);
        Assert.All(expected, a => Assert.Contains($" {a} [", lines[2], StringComparison.Ordinal));
        Assert.Matches($@"^ 4  {Regex.Escape(target)} \[6/6\]$", lines[3]);
    }
}
