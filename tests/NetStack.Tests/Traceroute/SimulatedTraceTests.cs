using System.Text.Json;
using System.Text.RegularExpressions;
using NetStack.Samples.Traceroute;

namespace NetStack.Tests.Traceroute;

/// <summary>
/// The traceroute sample across its built-in simulated network (NetStack routers in virtual time): the README's first
/// command, asserted line by line with round-trip times masked. No root needed.
/// </summary>
public partial class SimulatedTraceTests
{
    [GeneratedRegex(@"\d+\.\d{3} ms")]
    private static partial Regex Rtt();

    private static string Trace(params string[] args)
    {
        var options = TracerouteOptions.Parse(args, out var error) ?? throw new InvalidOperationException(error);
        var output = new StringWriter();
        Assert.Equal(0, SimulatedRun.Run(options, output));
        return Rtt().Replace(output.ToString(), "N ms");
    }

    [Fact]
    public void Default_demo_traces_ipv4_then_ipv6_across_every_feature_of_the_network()
    {
        var text = Trace();
        Assert.Equal(
            """
            traceroute to far.sim.example (203.0.113.10), 30 hops max, 60 byte packets
             1  r1.sim.example (198.51.100.1)  N ms  N ms  N ms
             2  r2-lsr.sim.example (192.0.2.2) <MPLS:L=24001,E=0,S=1,T=1>  N ms  N ms  N ms
             3  r3a.sim.example (192.0.2.6)  N ms  N ms  N ms
             4  * * *
             5  r5.sim.example (192.0.2.22)  N ms  N ms  N ms
             6  far.sim.example (203.0.113.10)  N ms  N ms  N ms

            traceroute to far.sim.example (2001:db8:8::10), 30 hops max, 80 byte packets
             1  r1.sim.example (2001:db8:1::1)  N ms  N ms  N ms
             2  r2-lsr.sim.example (2001:db8:2::2) <MPLS:L=24001,E=0,S=1,T=1>  N ms  N ms  N ms
             3  r3b.sim.example (2001:db8:4::2)  N ms r3a.sim.example (2001:db8:3::2)  N ms r3b.sim.example (2001:db8:4::2)  N ms
             4  * * *
             5  r5.sim.example (2001:db8:7::2)  N ms  N ms  N ms
             6  far.sim.example (2001:db8:8::10)  N ms  N ms  N ms

            """.Replace("\r\n", "\n", StringComparison.Ordinal), text);
    }

    [Fact]
    public void Numeric_output_prints_addresses_only()
    {
        var text = Trace("-n", "-q", "1", "-4", "far.sim.example");
        Assert.Equal(
            "traceroute to far.sim.example (203.0.113.10), 30 hops max, 60 byte packets\n" +
            " 1  198.51.100.1  N ms\n 2  192.0.2.2  N ms\n 3  192.0.2.10  N ms\n 4  *\n 5  192.0.2.22  N ms\n 6  203.0.113.10  N ms\n",
            text);
    }

    [Theory]
    [InlineData("-I")]
    [InlineData("-T")]
    [InlineData("-U")]
    public void Every_probe_method_reaches_the_far_host_in_both_families(string method)
    {
        foreach (var family in new[] { "-4", "-6" })
        {
            var text = Trace(method, family, "-n", "-q", "1", "far.sim.example");
            var last = text.TrimEnd('\n').Split('\n')[^1];
            Assert.Matches(family == "-4" ? @"^ 6  203\.0\.113\.10  N ms$" : @"^ 6  2001:db8:8::10  N ms$", last);
        }
    }

    [Fact]
    public void Paris_keeps_one_flow_so_the_load_balanced_hop_shows_one_address()
    {
        // Classic UDP probes change the destination port per probe, so R2's per-flow hash sends them both ways (IPv6 above);
        // with --paris every probe of the trace is one flow.
        foreach (var family in new[] { "-4", "-6" })
        {
            var hop3 = Trace("--paris", family, "-n", "-q", "6", "far.sim.example").Split('\n')[3];
            var addresses = Regex.Matches(hop3, @"(192\.0\.2\.\d+|2001:db8:\d::2)").Select(m => m.Value).Distinct().ToList();
            Assert.Single(addresses);
        }
    }

    [Fact]
    public void Mda_enumerates_both_equal_cost_interfaces_with_a_stated_confidence()
    {
        var text = Trace("--mda", "-n", "-4", "far.sim.example");
        Assert.Contains("multipath detection (95% confidence)", text, StringComparison.Ordinal);
        var hop3 = text.Split('\n').Single(l => l.StartsWith(" 3 ", StringComparison.Ordinal));
        Assert.Contains("192.0.2.6 [", hop3, StringComparison.Ordinal);
        Assert.Contains("192.0.2.10 [", hop3, StringComparison.Ordinal);
        Assert.Equal(6, MdaTracer.StoppingPoint(1));
        Assert.Equal(11, MdaTracer.StoppingPoint(2));
        Assert.Equal(16, MdaTracer.StoppingPoint(3));
    }

    [Fact]
    public void Mtu_discovery_reports_the_smaller_link()
    {
        var lines = Trace("--mtu", "-n", "-4", "far.sim.example").Split('\n');
        Assert.Contains("65000 byte packets", lines[0], StringComparison.Ordinal);
        Assert.Contains("F=1500", lines[1], StringComparison.Ordinal);
        Assert.Contains("F=1400", lines[6], StringComparison.Ordinal);
    }

    [Fact]
    public void Dont_fragment_without_mtu_discovery_reports_frag_needed_as_linux_does()
    {
        var lines = Trace("-F", "-n", "-q", "1", "-4", "far.sim.example", "1450").Split('\n');
        // The router before the 1400-byte link answers, from its address toward us (RFC 1812 §4.3.2.4, as Linux does).
        Assert.Equal(" 6  192.0.2.22  N ms !F-1400", lines[6]);
    }

    [Fact]
    public void Json_report_is_machine_readable()
    {
        var options = TracerouteOptions.Parse(["--json", "-n", "-q", "1", "far.sim.example"], out _)!;
        var output = new StringWriter();
        SimulatedRun.Run(options, output);
        using var doc = JsonDocument.Parse(output.ToString());
        var trace = doc.RootElement.GetProperty("traces")[0];
        Assert.True(trace.GetProperty("reached").GetBoolean());
        Assert.Equal("203.0.113.10", trace.GetProperty("address").GetString());
        Assert.Equal(6, trace.GetProperty("probes").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, trace.GetProperty("probes")[3].GetProperty("address").ValueKind);
    }

    [Fact]
    public void Unknown_host_is_a_clear_error()
    {
        var options = TracerouteOptions.Parse(["nowhere.example"], out _)!;
        var e = Assert.Throws<TracerouteException>(() => SimulatedRun.Run(options, new StringWriter()));
        Assert.Equal("nowhere.example: Name or service not known", e.Message);
    }
}
