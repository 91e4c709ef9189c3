using System.Text.RegularExpressions;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Issue 15's "done means", cell by cell: for every scenario of the lab below, both families, the four probe methods
/// (UDP, ICMP, TCP, UDP to one port) and each of no flag, <c>-e</c>, <c>-F</c>, <c>--mtu</c>, <c>-N 1</c>, ours prints
/// what Linux traceroute 2.1 prints at the same time through the same routers, line by line (round-trip times masked).
/// Before comparing, Linux's own output is checked against the scenario (so a broken lab cannot pass as parity).
/// The other lab tests cover what needs its own set-up: -F against a learned path MTU, -F beyond the interface MTU,
/// TCP and the packet length, --back, --sport, -O info, refused inputs, the wall time of the sequential modes
/// (<see cref="LinuxParityTests"/>), equal-cost paths (<see cref="EcmpParityTests"/>), RTTs over a delayed hop.
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class ParityMatrixTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    public enum Scenario
    {
        /// <summary>The plain path to T: three routers, every probe answered.</summary>
        Path,
        /// <summary>R2 has a "prohibit" route for .102 / ::102: it answers every probe with administratively prohibited (!X).</summary>
        Prohibited,
        /// <summary>The R2-R3 link has MTU 1400 and the probes are 1500 bytes (TCP ignores the length).</summary>
        Bottleneck,
        /// <summary>R2 sends no time-exceeded (nftables drops them on output): hop 2 is a line of stars.</summary>
        Silent,
        /// <summary>R2 has an "unreachable" route for .101 / ::101: host unreachable (!H) in IPv4, no route (!N) in IPv6.</summary>
        Unreachable,
        /// <summary>R2 has no route at all for .200 / ::200: network unreachable / no route to destination (!N).</summary>
        NoRoute,
        /// <summary>R2 has a "blackhole" route for .103 / ::103: silence from hop 2 on (traced to -m 2).</summary>
        Blackhole,
    }

    private static readonly string[] Methods = ["", "-I", "-T", "-U -p 33434"];
    private static readonly string[] Flags = ["", "-e", "-F", "--mtu", "-N 1"];

    public static TheoryData<Scenario, string, string, bool> Cells()
    {
        var data = new TheoryData<Scenario, string, string, bool>();
        foreach (var scenario in Enum.GetValues<Scenario>())
            foreach (bool v6 in new[] { false, true })
                foreach (var method in Methods)
                    foreach (var flag in Flags)
                        data.Add(scenario, method, flag, v6);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cells))]
    public async Task Each_cell_of_the_matrix_prints_what_linux_prints(Scenario scenario, string method, string flag, bool v6)
    {
        Root.Require();
        var lab = fixture.Lab;
        string target = scenario switch
        {
            Scenario.Prohibited => v6 ? "2001:db8:99::102" : "203.0.113.102",
            Scenario.Unreachable => v6 ? "2001:db8:99::101" : "203.0.113.101",
            Scenario.NoRoute => v6 ? "2001:db8:99::200" : "203.0.113.200",
            Scenario.Blackhole => v6 ? "2001:db8:99::103" : "203.0.113.103",
            _ => v6 ? TracerouteLab.TargetV6 : TracerouteLab.TargetV4,
        };
        // IPv4 route errors: one per second per source (see RouteErrorQuietPeriod), so one probe per hop. Where probes
        // go unanswered, each costs the whole wait in the sequential modes: two probes, one second.
        bool routeError = scenario is Scenario.Prohibited or Scenario.Unreachable or Scenario.NoRoute;
        bool silence = scenario is Scenario.Silent or Scenario.Blackhole;
        int q = routeError && !v6 ? 1 : silence ? 2 : 3;
        string[] args =
        [
            .. method.Split(' ', StringSplitOptions.RemoveEmptyEntries), .. flag.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            "-n", "-w", silence ? "1" : "2", "-q", q.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. scenario == Scenario.Blackhole ? new[] { "-m", "2" } : [], target,
            .. scenario == Scenario.Bottleneck && flag != "--mtu" ? new[] { "1500" } : [],
        ];
        // IPv6 routers never fragment: without -F the first 1500-byte probe past R2 gets "packet too big" and the source
        // learns MTU 1400, so the probes sent AFTER that answer leave fragmented and reach R3. Which probes those are is
        // a race in the parallel mode: on these veths Linux's kernel runs the whole round trip (R1, R2, the ICMPv6 error,
        // the PMTU update) inside the sendto() of the probe, before traceroute sends the next one, so the other probes of
        // hop 3 reach R3 ("!F-1400 2001:db8:23::6  N ms  N ms"); ours writes the probes of a turn to the TAP before it
        // reads the answers, as Linux itself does on any path whose round trip is longer than the gap between two
        // sendto() calls (then every probe of the hop prints "!F-1400"). A send gap longer than the lab's round trip
        // (-z 10 ms) decides the race the same way for both; -N 1 and --mtu are sequential anyway.
        if (scenario == Scenario.Bottleneck && v6 && flag is "" or "-e" && method != "-T") args = ["-z", "0.01", .. args];
        if (scenario == Scenario.Bottleneck) lab.SetR2R3Mtu(1400);
        // R2 drops the time-exceeded messages it generates (RFC 792 / RFC 4443 §3.3), forwarding everything else.
        if (scenario == Scenario.Silent)
        {
            TracerouteLab.Nft(lab.R2, """
                table inet tracematrix {
                  chain out {
                    type filter hook output priority 0;
                    icmp type time-exceeded drop
                    icmpv6 type time-exceeded drop
                  }
                }
                """);
        }
        try
        {
            lab.FlushClientRouteCache();
            if (routeError && !v6) lab.RouteErrorQuietPeriod();
            var (linux, ours) = await lab.RunBothAsync(args);
            string cell = $"traceroute {string.Join(' ', args)} ({scenario})";
            log.WriteLine($"{cell}\nLinux:\n{linux}\nours:\n{ours}");
            string l = TraceText.Mask(linux, "Linux traceroute"), o = TraceText.Mask(ours, "our traceroute");
            TraceText.AssertRoundTripsArePositive(ours);
            CheckLinux(scenario, method, flag, v6, q, l, $"{cell}: Linux traceroute printed\n{linux}");
            var ll = l.Split('\n');
            var ol = o.Split('\n');
            for (int i = 0; i < Math.Max(ll.Length, ol.Length); i++)
            {
                string a = i < ll.Length ? ll[i] : "<none>", b = i < ol.Length ? ol[i] : "<none>";
                Assert.True(a == b, $"{cell}: line {i + 1} differs:\n  Linux: '{a}'\n  ours:  '{b}'\nLinux:\n{linux}\nours:\n{ours}");
            }
        }
        finally
        {
            if (scenario == Scenario.Bottleneck) lab.SetR2R3Mtu(1500);
            if (scenario == Scenario.Silent) TracerouteLab.RemoveNftTable(lab.R2, "inet", "tracematrix");
            lab.FlushClientRouteCache();
        }
    }

    /// <summary>What the scenario must look like in Linux's output (F=mtu marks aside, which only --mtu prints).</summary>
    private static void CheckLinux(Scenario scenario, string method, string flag, bool v6, int q, string masked, string because)
    {
        string h1 = v6 ? "2001:db8:1::1" : "198.51.100.1", h2 = v6 ? "2001:db8:12::2" : "192.0.2.2", h3 = v6 ? "2001:db8:23::6" : "192.0.2.6";
        bool tcp = method == "-T";
        string answers = string.Concat(Enumerable.Repeat("  N ms", q));
        var hops = TraceText.Hops(Regex.Replace(masked, @" F=\d+", ""));
        var header = masked.Split('\n')[0];
        int size = flag == "--mtu" && !tcp ? 65000 : scenario == Scenario.Bottleneck && !tcp ? 1500 : v6 ? 80 : 60;
        int maxTtl = scenario == Scenario.Blackhole ? 2 : 30;
        Assert.True(header.EndsWith($"{maxTtl} hops max, {size} byte packets", StringComparison.Ordinal), because);
        string target = v6 ? TracerouteLab.TargetV6 : TracerouteLab.TargetV4;
        string stars = string.Concat(Enumerable.Repeat(" *", q));
        string Noted(string note) => string.Concat(Enumerable.Repeat($"  N ms {note}", q));
        switch (scenario)
        {
            case Scenario.Path:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2  {h2}{answers}", $" 3  {h3}{answers}", $" 4  {target}{answers}"]), because);
                break;
            case Scenario.Silent:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2 {stars}", $" 3  {h3}{answers}", $" 4  {target}{answers}"]), because);
                break;
            case Scenario.Blackhole:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2 {stars}"]), because);
                break;
            case Scenario.Prohibited:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2  {h2}{Noted("!X")}"]), because);
                break;
            case Scenario.Unreachable:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2  {h2}{Noted(v6 ? "!N" : "!H")}"]), because);
                break;
            case Scenario.NoRoute:
                Assert.True(hops.SequenceEqual([$" 1  {h1}{answers}", $" 2  {h2}{Noted("!N")}"]), because);
                break;
            case Scenario.Bottleneck:
                // Hops 1 and 2 answer whatever the method; what follows (fragments, !F-1400, F=1400) is what is compared.
                Assert.True(hops.Length >= 3 && hops[0] == $" 1  {h1}{answers}" && hops[1] == $" 2  {h2}{answers}", because);
                break;
        }
    }
}
