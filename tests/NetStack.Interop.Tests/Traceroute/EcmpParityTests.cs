using System.Text.RegularExpressions;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Equal-cost multipath, ours beside Linux traceroute 2.1, line by line. R2 reaches 203.0.113.20 / 2001:db8:99::20 over
/// R3 and R3b and hashes the destination address, the protocol and both ports, not the source address
/// (fib_multipath_hash_policy=3, fields 0x36, a fixed seed): a probe of ours and a probe of Linux's with the same ports
/// take the same path although they come from different addresses.
/// <para>
/// The comparison rule. Linux picks a fresh ephemeral source port per probe (a socket per probe), so its paths are
/// only comparable with <c>--sport</c>, which both honour (and which implies <c>-N 1</c>). Linux 2.1 has no
/// <c>--paris</c>; its fixed-flow form is <c>-U -p PORT --sport=N</c> (UDP, one destination port), and ours with
/// <c>--paris -p PORT --sport=N</c> must print exactly what that prints: one flow, so one of the two routers at hop 3
/// for every probe. Without <c>--paris</c>, the classic method with <c>--sport</c> changes the destination port per
/// probe in both, so hop 3 shows both routers, in the same order in both outputs. ICMP echo has no ports: R2 sends
/// every echo probe, Linux's and ours, the same way. Round-trip times are masked as in every parity test.
/// </para>
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class EcmpParityTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    private static readonly string[] Hop3V4 = ["192.0.2.6", "192.0.2.14"];
    private static readonly string[] Hop3V6 = ["2001:db8:23::6", "2001:db8:25::14"];

    [SkippableTheory]
    // Classic UDP, destination port per probe: the probes of hop 3 spread over both routers.
    [InlineData("--sport=40001", "--sport=40001", 2, TracerouteLab.MultipathV4)]
    [InlineData("--sport=40001", "--sport=40001", 2, TracerouteLab.MultipathV6)]
    // One flow: Linux's fixed-port UDP and our --paris (and our -U) keep one path.
    [InlineData("-U -p 33434 --sport=40001", "--paris -p 33434 --sport=40001", 1, TracerouteLab.MultipathV4)]
    [InlineData("-U -p 33434 --sport=40001", "--paris -p 33434 --sport=40001", 1, TracerouteLab.MultipathV6)]
    [InlineData("-U -p 33434 --sport=40001", "-U -p 33434 --sport=40001", 1, TracerouteLab.MultipathV4)]
    [InlineData("-U -p 33434 --sport=40001", "-U -p 33434 --sport=40001", 1, TracerouteLab.MultipathV6)]
    // TCP SYNs from one source port to port 80: one flow, with and without --paris.
    [InlineData("-T --sport=40001", "-T --sport=40001", 1, TracerouteLab.MultipathV4)]
    [InlineData("-T --sport=40001", "-T --paris --sport=40001", 1, TracerouteLab.MultipathV6)]
    // ICMP echo: no ports, one flow per destination, with and without --paris.
    [InlineData("-I", "-I", 1, TracerouteLab.MultipathV4)]
    [InlineData("-I", "-I --paris", 1, TracerouteLab.MultipathV6)]
    public async Task Equal_cost_paths_print_what_linux_prints(string linuxArgs, string oursArgs, int routersAtHop3, string target)
    {
        Root.Require();
        var lab = fixture.Lab;
        string[] common = ["-n", "-w", "2", "-q", "10", target];
        var linuxTask = Task.Run(() => lab.RunLinux([.. linuxArgs.Split(' '), .. common]));
        string ours = await lab.RunOursAsync([.. oursArgs.Split(' '), .. common]);
        string linux = await linuxTask;
        log.WriteLine($"Linux traceroute {linuxArgs}:\n{linux}\nours {oursArgs}:\n{ours}");
        string l = TraceText.Mask(linux, "Linux traceroute"), o = TraceText.Mask(ours, "our traceroute");
        TraceText.AssertRoundTripsArePositive(ours);

        // The lab does what the case needs: Linux's hop 3 shows one router or both, every probe answered.
        var hops = TraceText.Hops(l);
        Assert.True(hops.Length == 4, $"Linux:\n{linux}");
        var routers = target.Contains(':', StringComparison.Ordinal) ? Hop3V6 : Hop3V4;
        var seen = Regex.Matches(hops[2], @"[0-9a-f:.]+(?=  N ms)").Select(m => m.Value).Distinct().ToList();
        Assert.True(seen.Count == routersAtHop3 && seen.All(routers.Contains), $"Linux's hop 3 should show {routersAtHop3} of {string.Join(", ", routers)}:\n{linux}");
        Assert.True(hops.All(h => Regex.Matches(h, "  N ms").Count == 10), $"Linux:\n{linux}");

        var ll = l.Split('\n');
        var ol = o.Split('\n');
        for (int i = 0; i < Math.Max(ll.Length, ol.Length); i++)
        {
            string a = i < ll.Length ? ll[i] : "<none>", b = i < ol.Length ? ol[i] : "<none>";
            Assert.True(a == b, $"line {i + 1} differs:\n  Linux: '{a}'\n  ours:  '{b}'\nLinux:\n{linux}\nours:\n{ours}");
        }
    }
}
