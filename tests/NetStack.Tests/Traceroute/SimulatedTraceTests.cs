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
    public void Default_demo_shows_mpls_labels_only_with_extensions_as_linux_does()
    {
        // Linux traceroute prints ICMP extensions only with -e; the demo without it shows none.
        var text = Trace();
        Assert.DoesNotContain("MPLS", text, StringComparison.Ordinal);
        Assert.Contains(" 2  r2-lsr.sim.example (192.0.2.2)  N ms  N ms  N ms\n", text, StringComparison.Ordinal);
        Assert.Contains(" 2  r2-lsr.sim.example (2001:db8:2::2)  N ms  N ms  N ms\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_demo_traces_ipv4_then_ipv6_across_every_feature_of_the_network()
    {
        var text = Trace("-e");
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
        // As traceroute 2.1 (getaddrinfo's words, then the argument it could not use), exit 2.
        Assert.Equal("nowhere.example: Name or service not known\nCannot handle \"host\" cmdline arg `nowhere.example' on position 1 (argc 1)", e.Message);
        Assert.Equal(2, e.ExitCode);
    }

    [Theory]
    [InlineData("-4", "60", "203.0.113.10")]
    [InlineData("-6", "80", "2001:db8:8::10")]
    public void Tcp_probes_ignore_the_packet_length_and_reach_the_target(string family, string size, string target)
    {
        // traceroute 2.1's TCP method sends bare SYNs whatever length is asked; a SYN with data would be answered with an
        // RST acknowledging seq + 1 + length, which never matched, and the trace ran to the maximum TTL.
        var text = Trace("-T", family, "-n", "-q", "1", "far.sim.example", "1000");
        Assert.StartsWith($"traceroute to far.sim.example ({target}), 30 hops max, {size} byte packets\n", text, StringComparison.Ordinal);
        Assert.EndsWith($"\n 6  {target}  N ms\n", text, StringComparison.Ordinal);
        // Under --mtu too: the SYN is never too big, so no F= and the same six hops.
        text = Trace("-T", "--mtu", family, "-n", "-q", "1", "far.sim.example");
        Assert.StartsWith($"traceroute to far.sim.example ({target}), 30 hops max, {size} byte packets\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("F=", text, StringComparison.Ordinal);
        Assert.EndsWith($"\n 6  {target}  N ms\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-4", "192.0.2.22")]
    [InlineData("-6", "2001:db8:7::2")]
    public void Dont_fragment_probes_ignore_the_learned_path_mtu_so_every_one_is_answered_by_the_router(string family, string router)
    {
        // -F is IP_PMTUDISC_PROBE: after the first "!F-1400" the stack knows the path MTU, but every later probe still
        // leaves at its size and R5 answers each (Linux); refusing them locally printed "* !F-1400".
        var lines = Trace("-F", "-N", "1", "-n", "-q", "3", family, "far.sim.example", "1450").Split('\n');
        Assert.Equal($" 6  {router}  N ms !F-1400  N ms !F-1400  N ms !F-1400", lines[6]);
    }

    [Theory]
    [InlineData("", " 1  *  N ms !F-1500 *  N ms !F-1500")]   // UDP: a socket per probe, each gets its local error
    [InlineData("-I", " 1  *  N ms !F-1500 *")]                // ICMP: one socket, the error goes to the first probe
    [InlineData("-U", " 1  *  N ms !F-1500 *  N ms !F-1500")]
    public void A_dont_fragment_probe_larger_than_the_interface_prints_the_local_error_with_a_time(string method, string expected)
    {
        string[] args = method.Length > 0 ? [method] : [];
        var lines = Trace([.. args, "-F", "-n", "-q", "2", "-w", "1", "-4", "far.sim.example", "1600"]).Split('\n');
        Assert.Equal("traceroute to far.sim.example (203.0.113.10), 30 hops max, 1600 byte packets", lines[0]);
        Assert.Equal(expected, lines[1]);
        Assert.Equal(3, lines.Length); // the trace ends at the first hop
    }

    [Fact]
    public void Host_names_are_resolved_through_the_stack_resolver()
    {
        // Forward lookups go to the simulated DNS server through the client's own stack (as on a device), A for -4 (and
        // by default), AAAA for -6.
        Assert.StartsWith("traceroute to far.sim.example (2001:db8:8::10),", Trace("-6", "-n", "-q", "1", "far.sim.example"), StringComparison.Ordinal);
        Assert.StartsWith("traceroute to far.sim.example (203.0.113.10),", Trace("-n", "-q", "1", "far.sim.example"), StringComparison.Ordinal);
        Assert.StartsWith("traceroute to r5.sim.example (192.0.2.22),", Trace("-n", "-q", "1", "-m", "1", "r5.sim.example"), StringComparison.Ordinal);
    }

    [Fact]
    public void Back_prints_the_guessed_return_path_length_where_it_differs()
    {
        // --back: " '-N'" after the address when ttl2hops(received TTL) differs from the hop. The simulated routers answer
        // with TTL 64, so the way back is as long as the way there: nothing extra except where a router is silent.
        var text = Trace("--back", "-n", "-q", "1", "-4", "far.sim.example");
        Assert.Equal(" 1  198.51.100.1  N ms", text.Split('\n')[1]);
        Assert.DoesNotContain("'-", text, StringComparison.Ordinal);
        var o = TracerouteOptions.Parse(["--back", "h"], out _)!;
        Assert.True(o.Backward);
    }

    [Fact]
    public void Tcp_info_prints_the_flags_of_the_targets_answer()
    {
        // -O info: the far host listens on 80 (SYN-ACK), port 81 is closed (RST-ACK).
        Assert.EndsWith(" 6  203.0.113.10 <syn,ack>  N ms\n", Trace("-T", "-O", "info", "-n", "-q", "1", "-4", "far.sim.example"), StringComparison.Ordinal);
        Assert.EndsWith(" 6  203.0.113.10 <rst,ack>  N ms\n", Trace("-T", "-O", "info", "-p", "81", "-n", "-q", "1", "-4", "far.sim.example"), StringComparison.Ordinal);
        Assert.Equal("syn,ack", TcpProbeSender.FlagNames(0x12));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-T")]
    [InlineData("-U")]
    public void Sport_sends_every_probe_from_one_port_one_at_a_time(string method)
    {
        string[] args = method.Length > 0 ? [method] : [];
        var o = TracerouteOptions.Parse([.. args, "--sport=40000", "-n", "h"], out _)!;
        Assert.Equal((40000, 1, 0.0, 0.0), (o.SourcePort!.Value, o.SimultaneousProbes, o.WaitHere, o.WaitNear));
        var text = Trace([.. args, "--sport", "40000", "-n", "-q", "1", "-4", "far.sim.example"]);
        Assert.EndsWith(" 6  203.0.113.10  N ms\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Refused_inputs_get_linux_messages_and_exit_codes()
    {
        Assert.Null(TracerouteOptions.Parse(["-4", "2001:db8::1"], out var e));
        Assert.Equal("2001:db8::1: Address family for hostname not supported\nCannot handle \"host\" cmdline arg `2001:db8::1' on position 1 (argc 2)", e);
        Assert.Null(TracerouteOptions.Parse(["-n", "-6", "192.0.2.1"], out e));
        Assert.Equal("192.0.2.1: Address family for hostname not supported\nCannot handle \"host\" cmdline arg `192.0.2.1' on position 1 (argc 3)", e);
        Assert.Null(TracerouteOptions.Parse(["--address", "198.51.100.2/24", "h"], out e));
        Assert.Contains("--tap", e, StringComparison.Ordinal);
        Assert.Null(TracerouteOptions.Parse(["-T", "-O", "foo", "h"], out e));
        Assert.Equal("`foo' (argc 1): arguments are not allowed", e);
        Assert.True(TracerouteOptions.Parse(["-V"], out _)!.Version);
        Assert.True(TracerouteOptions.Parse(["--version"], out _)!.Version);
        Assert.True(TracerouteOptions.Parse(["-O", "help"], out _)!.ModuleHelp);

        // -s with an address that is not ours: bind() fails; the UDP methods have printed their header by then.
        var options = TracerouteOptions.Parse(["-s", "192.0.2.77", "-n", "203.0.113.10"], out _)!;
        var output = new StringWriter();
        var x = Assert.Throws<TracerouteException>(() => SimulatedRun.Run(options, output));
        Assert.Equal(("\nbind: Cannot assign requested address", 1), (x.Message, x.ExitCode));
        Assert.Equal("traceroute to 203.0.113.10 (203.0.113.10), 30 hops max, 60 byte packets", output.ToString());
        options = TracerouteOptions.Parse(["-I", "-s", "192.0.2.77", "-n", "203.0.113.10"], out _)!;
        output = new StringWriter();
        x = Assert.Throws<TracerouteException>(() => SimulatedRun.Run(options, output));
        Assert.Equal(("\nbind: Cannot assign requested address", 1), (x.Message, x.ExitCode));
        Assert.Equal("", output.ToString());
        // Our own address is fine.
        Assert.EndsWith(" 6  203.0.113.10  N ms\n", Trace("-s", "198.51.100.2", "-n", "-q", "1", "203.0.113.10"), StringComparison.Ordinal);
    }

    [Fact]
    public void Mda_lines_keep_names_and_annotations_and_its_json_lists_the_probes()
    {
        var text = Trace("--mda", "-4", "far.sim.example");
        var hop3 = text.Split('\n').Single(l => l.StartsWith(" 3 ", StringComparison.Ordinal));
        Assert.Contains("r3a.sim.example (192.0.2.6) [", hop3, StringComparison.Ordinal);
        Assert.Contains("r3b.sim.example (192.0.2.10) [", hop3, StringComparison.Ordinal);
        // An unreachable answer keeps its annotation: the far host's closed-port answer has none, a prohibited one "!X"-like
        // codes print after the count; with -e the MPLS label too.
        var withExt = Trace("--mda", "-e", "-n", "-4", "far.sim.example");
        Assert.Contains("192.0.2.2 [6/6] <MPLS:L=24001,E=0,S=1,T=1>", withExt, StringComparison.Ordinal);
        var tooBig = Trace("--mda", "-F", "-n", "-4", "far.sim.example", "1450");
        Assert.Contains("192.0.2.22 [6/6] !F-1400", tooBig, StringComparison.Ordinal);

        var options = TracerouteOptions.Parse(["--mda", "--json", "-n", "-4", "far.sim.example"], out _)!;
        var output = new StringWriter();
        SimulatedRun.Run(options, output);
        using var doc = JsonDocument.Parse(output.ToString());
        var trace = doc.RootElement.GetProperty("traces")[0];
        var probes = trace.GetProperty("probes");
        int sent = trace.GetProperty("hops").EnumerateArray().Sum(h => h.GetProperty("probes").GetInt32());
        Assert.Equal(sent, probes.GetArrayLength());
        Assert.Contains(probes.EnumerateArray(), p => p.GetProperty("address").GetString() == "192.0.2.10");
    }
}
