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

/// <summary>
/// Issue 15 item 11's --mda half, on the kernel-router lab (the simulated network's test is
/// SimulatedTraceTests.Mda_lines_keep_names_and_annotations_and_its_json_lists_the_probes): --mda lines keep the hops'
/// names and annotations, and its JSON lists every probe it sent.
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class MdaLabTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    [SkippableFact]
    public async Task Mda_lines_keep_the_names_and_the_annotation_of_a_prohibited_route()
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.StartDns();
        // R2 holds "prohibit" for ::102: every probe past R1 gets administratively prohibited (RFC 4443 code 1, "!X").
        string text = await lab.RunOursAsync("--mda", "--dns", TracerouteLab.TargetV4, "-w", "2", "2001:db8:99::102");
        log.WriteLine(text);
        var hops = TraceText.Hops(text);
        Assert.True(hops.Length == 2, text);
        Assert.Matches(@"^ 1  2001:db8:1::1 \(2001:db8:1::1\) \[(\d+)/\1\]$", hops[0]);
        Assert.Matches($@"^ 2  {Regex.Escape(TracerouteLab.R2Name)} \(2001:db8:12::2\) \[(\d+)/\1\] !X$", hops[1]);
    }

    [SkippableFact]
    public async Task Mda_json_lists_every_probe_with_its_answer()
    {
        Root.Require();
        string json = await fixture.Lab.RunOursAsync("--mda", "--json", "-n", "-w", "2", TracerouteLab.MultipathV6);
        log.WriteLine(json);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var trace = doc.RootElement.GetProperty("traces")[0];
        var probes = trace.GetProperty("probes").EnumerateArray().ToList();
        int sent = trace.GetProperty("hops").EnumerateArray().Sum(h => h.GetProperty("probes").GetInt32());
        Assert.True(sent > 0 && probes.Count == sent, $"{probes.Count} probes listed, {sent} sent:\n{json}");
        Assert.All(probes, p => Assert.True(p.GetProperty("rtt_ms").GetDouble() > 0, p.ToString()));
        // Every probe was answered; the ones of hop 4 by the target.
        Assert.All(probes.Where(p => p.GetProperty("ttl").GetInt32() == 4), p => Assert.Equal(TracerouteLab.MultipathV6, p.GetProperty("address").GetString()));
        Assert.Contains(probes, p => p.GetProperty("ttl").GetInt32() == 3);
    }
}
