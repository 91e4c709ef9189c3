using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Our traceroute (NetStack on a TAP) and Linux traceroute 2.1 (a namespace on the same bridge) trace the same kernel
/// routers at the same time; their outputs must be the same line for line: hop numbers, addresses, annotations, the
/// number of answers, and round-trip times in the form "  %.3f ms" (the times themselves are masked).
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class LinuxComparisonTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    private static string Path4(int q, string target = TracerouteLab.TargetV4, int size = 60) =>
        $"traceroute to {target} ({target}), 30 hops max, {size} byte packets\n" +
        $" 1  198.51.100.1{Answers(q)}\n 2  192.0.2.2{Answers(q)}\n 3  192.0.2.6{Answers(q)}\n 4  {target}{Answers(q)}\n";

    private static string Path6(int q, string target = TracerouteLab.TargetV6, int size = 80) =>
        $"traceroute to {target} ({target}), 30 hops max, {size} byte packets\n" +
        $" 1  2001:db8:1::1{Answers(q)}\n 2  2001:db8:12::2{Answers(q)}\n 3  2001:db8:23::6{Answers(q)}\n 4  {target}{Answers(q)}\n";

    private static string Answers(int q) => string.Concat(Enumerable.Repeat("  N ms", q));

    private static string[] Args(string extra, params string[] rest) =>
        [.. extra.Split(' ', StringSplitOptions.RemoveEmptyEntries), .. rest];

    [SkippableTheory]
    [InlineData("")]             // UDP to 33434 and up: port unreachable from the target
    [InlineData("-I")]           // ICMP echo: echo reply
    [InlineData("-T")]           // TCP SYN to port 80, open (socat listens): SYN-ACK
    [InlineData("-T -p 81")]     // TCP SYN to port 81, closed: RST
    [InlineData("-U -p 33434")]  // UDP to one fixed port
    public async Task Every_probe_method_reports_the_same_path_as_linux_in_both_families(string method)
    {
        Root.Require();
        var lab = fixture.Lab;
        var (linux4, ours4) = await lab.RunBothAsync(Args(method, "-n", "-w", "5", "-q", "3", TracerouteLab.TargetV4));
        TraceText.AssertBothPrint(log, Path4(3), linux4, ours4);
        var (linux6, ours6) = await lab.RunBothAsync(Args(method, "-n", "-w", "5", "-q", "3", TracerouteLab.TargetV6));
        TraceText.AssertBothPrint(log, Path6(3), linux6, ours6);
    }

    [SkippableTheory]
    [InlineData("")]
    [InlineData("-I")]
    [InlineData("-T")]
    public async Task A_router_that_sends_no_time_exceeded_is_a_line_of_stars_as_linux_prints_it(string method)
    {
        Root.Require();
        var lab = fixture.Lab;
        // R2 drops the time-exceeded messages it generates (RFC 792 / RFC 4443 §3.3), forwarding everything else.
        TracerouteLab.Nft(lab.R2, """
            table inet tracelab {
              chain out {
                type filter hook output priority 0;
                icmp type time-exceeded drop
                icmpv6 type time-exceeded drop
              }
            }
            """);
        try
        {
            var (linux4, ours4) = await lab.RunBothAsync(Args(method, "-n", "-w", "1", "-q", "3", TracerouteLab.TargetV4));
            TraceText.AssertBothPrint(log, Path4(3).Replace(" 2  192.0.2.2  N ms  N ms  N ms", " 2  * * *", StringComparison.Ordinal), linux4, ours4);
            var (linux6, ours6) = await lab.RunBothAsync(Args(method, "-n", "-w", "1", "-q", "3", TracerouteLab.TargetV6));
            TraceText.AssertBothPrint(log, Path6(3).Replace(" 2  2001:db8:12::2  N ms  N ms  N ms", " 2  * * *", StringComparison.Ordinal), linux6, ours6);
        }
        finally
        {
            TracerouteLab.RemoveNftTable(lab.R2, "inet", "tracelab");
        }
    }

    [SkippableTheory]
    [InlineData("203.0.113.101", "!H")] // ip route add unreachable: ICMP host unreachable (code 1)
    [InlineData("203.0.113.102", "!X")] // ip route add prohibit: communication administratively prohibited (code 13)
    [InlineData("203.0.113.200", "!N")] // no route at all: network unreachable (code 0)
    public async Task Ipv4_unreachable_routes_end_the_trace_with_linux_annotation(string target, string annotation)
    {
        Root.Require();
        var lab = fixture.Lab;
        // One probe per hop: Linux lets R2 send one such error per second to each source (see RouteErrorQuietPeriod).
        lab.RouteErrorQuietPeriod();
        var (linux, ours) = await lab.RunBothAsync("-n", "-w", "2", "-q", "1", target);
        TraceText.AssertBothPrint(log, 
            $"traceroute to {target} ({target}), 30 hops max, 60 byte packets\n 1  198.51.100.1  N ms\n 2  192.0.2.2  N ms {annotation}\n",
            linux, ours);
    }

    [SkippableTheory]
    [InlineData("2001:db8:99::101", "!N")] // ip -6 route add unreachable: ICMPv6 no route to destination (code 0)
    [InlineData("2001:db8:99::102", "!X")] // ip -6 route add prohibit: administratively prohibited (code 1)
    [InlineData("2001:db8:99::200", "!N")] // no route: code 0
    public async Task Ipv6_unreachable_routes_end_the_trace_with_linux_annotation(string target, string annotation)
    {
        Root.Require();
        var (linux, ours) = await fixture.Lab.RunBothAsync("-n", "-w", "2", "-q", "3", target);
        TraceText.AssertBothPrint(log, 
            $"traceroute to {target} ({target}), 30 hops max, 80 byte packets\n" +
            $" 1  2001:db8:1::1  N ms  N ms  N ms\n 2  2001:db8:12::2  N ms {annotation}  N ms {annotation}  N ms {annotation}\n",
            linux, ours);
    }

    [SkippableTheory]
    [InlineData("203.0.113.103", "60")]
    [InlineData("2001:db8:99::103", "80")]
    public async Task A_blackhole_route_is_silent_up_to_the_max_ttl(string target, string size)
    {
        Root.Require();
        var (linux, ours) = await fixture.Lab.RunBothAsync("-n", "-w", "1", "-q", "1", "-m", "4", target);
        string first = target.Contains(':', StringComparison.Ordinal) ? "2001:db8:1::1" : "198.51.100.1";
        TraceText.AssertBothPrint(log, 
            $"traceroute to {target} ({target}), 4 hops max, {size} byte packets\n 1  {first}  N ms\n 2  *\n 3  *\n 4  *\n",
            linux, ours);
    }

    [SkippableFact]
    public async Task Mtu_discovery_shows_F_1400_at_the_hop_after_the_smaller_link_as_linux_does()
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.SetR2R3Mtu(1400);
        try
        {
            // --mtu: probes start at 65000 bytes; the local interface (1500) and R2's "fragmentation needed, MTU 1400"
            // (RFC 1191) / "packet too big" (RFC 8201) shrink them, and the first probe that fits prints F=mtu.
            lab.FlushClientRouteCache();
            var (linux4, ours4) = await lab.RunBothAsync("-n", "-w", "2", "-q", "1", "--mtu", TracerouteLab.TargetV4);
            TraceText.AssertBothPrint(log, 
                "traceroute to 203.0.113.10 (203.0.113.10), 30 hops max, 65000 byte packets\n" +
                " 1  198.51.100.1  N ms F=1500\n 2  192.0.2.2  N ms\n 3  192.0.2.6  N ms F=1400\n 4  203.0.113.10  N ms\n", linux4, ours4);
            var (linux6, ours6) = await lab.RunBothAsync("-n", "-w", "2", "-q", "1", "--mtu", TracerouteLab.TargetV6);
            TraceText.AssertBothPrint(log, 
                "traceroute to 2001:db8:99::10 (2001:db8:99::10), 30 hops max, 65000 byte packets\n" +
                " 1  2001:db8:1::1  N ms F=1500\n 2  2001:db8:12::2  N ms\n 3  2001:db8:23::6  N ms F=1400\n 4  2001:db8:99::10  N ms\n", linux6, ours6);
        }
        finally
        {
            lab.SetR2R3Mtu(1500);
            lab.FlushClientRouteCache();
        }
    }

    [SkippableFact]
    public async Task Dont_fragment_probes_too_big_for_the_smaller_link_end_with_F_and_its_mtu()
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.SetR2R3Mtu(1400);
        try
        {
            // -F with 1500-byte packets: R2 cannot forward them (DF / IPv6 never fragments in transit) and says so
            // from its address toward us; Linux prints "!F-1400" and stops.
            lab.FlushClientRouteCache();
            var (linux4, ours4) = await lab.RunBothAsync("-n", "-w", "2", "-q", "1", "-F", TracerouteLab.TargetV4, "1500");
            TraceText.AssertBothPrint(log, 
                "traceroute to 203.0.113.10 (203.0.113.10), 30 hops max, 1500 byte packets\n" +
                " 1  198.51.100.1  N ms\n 2  192.0.2.2  N ms\n 3  192.0.2.2  N ms !F-1400\n", linux4, ours4);
            var (linux6, ours6) = await lab.RunBothAsync("-n", "-w", "2", "-q", "1", "-F", TracerouteLab.TargetV6, "1500");
            TraceText.AssertBothPrint(log, 
                "traceroute to 2001:db8:99::10 (2001:db8:99::10), 30 hops max, 1500 byte packets\n" +
                " 1  2001:db8:1::1  N ms\n 2  2001:db8:12::2  N ms\n 3  2001:db8:12::2  N ms !F-1400\n", linux6, ours6);
        }
        finally
        {
            lab.SetR2R3Mtu(1500);
            lab.FlushClientRouteCache();
        }
    }
}
