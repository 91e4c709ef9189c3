using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Traceroute;

/// <summary>
/// Answers no kernel router sends, crafted by the lab's <see cref="CraftingResponder"/> at hop 3, ours beside Linux
/// traceroute 2.1, line by line (round-trip times masked): an RFC 4884 extension object that is not MPLS, a destination
/// unreachable code above 15, and "fragmentation needed" answering a probe sent without DF (issue 15, items 2 and 6).
/// The extension case runs in both families; the others are IPv4 only (ICMPv4 codes).
/// </summary>
[Collection(TracerouteLabCollection.Name)]
public sealed class CraftedAnswerTests(TracerouteLabFixture fixture, ITestOutputHelper log)
{
    private const string Header = "traceroute to {0} ({0}), {1} hops max, 60 byte packets\n";
    private const string FirstHops = " 1  198.51.100.1  N ms  N ms  N ms\n 2  192.0.2.2  N ms  N ms  N ms\n";

    [SkippableTheory]
    [InlineData("", "", false)]
    [InlineData("", "-e", false)]
    [InlineData("-I", "", false)]
    [InlineData("-I", "-e", false)]
    [InlineData("", "", true)]
    [InlineData("", "-e", true)]
    [InlineData("-I", "", true)]
    [InlineData("-I", "-e", true)]
    public async Task A_non_mpls_extension_object_prints_as_linux_prints_it(string method, string flag, bool v6)
    {
        Root.Require();
        var lab = fixture.Lab;
        lab.StartCraftingResponder();
        string target = v6 ? CraftingResponder.ExtensionTargetV6 : CraftingResponder.ExtensionTarget;
        var (linux, ours) = await lab.RunBothAsync([.. Args(method, flag), "-n", "-w", "2", "-q", "3", target]);
        // Linux's -e prints every object it does not decode as "<class/c-type:word,word>", the words in lower-case hex.
        string extension = flag == "-e" ? " <2/14:0000000c,c0000201>" : "";
        string expected = v6
            ? $"traceroute to {target} ({target}), 30 hops max, 80 byte packets\n" +
              " 1  2001:db8:1::1  N ms  N ms  N ms\n 2  2001:db8:12::2  N ms  N ms  N ms\n" +
              $" 3  {CraftingResponder.HopAddressV6}{extension}  N ms  N ms  N ms\n 4  {target}  N ms  N ms  N ms\n"
            : string.Format(System.Globalization.CultureInfo.InvariantCulture, Header, target, 30) + FirstHops +
              $" 3  {CraftingResponder.HopAddress}{extension}  N ms  N ms  N ms\n 4  {target}  N ms  N ms  N ms\n";
        TraceText.AssertBothPrint(log, expected, linux, ours);
    }

    [SkippableTheory]
    [InlineData("", "")]
    [InlineData("", "-e")]
    [InlineData("-I", "")]
    [InlineData("-T", "")]
    public async Task An_unreachable_code_above_15_is_not_reported_and_the_trace_goes_on(string method, string flag)
    {
        // Linux's icmp_unreach() drops a code above NR_ICMP_UNREACH (15) before any socket sees it: stars, and the next hop.
        Root.Require();
        var lab = fixture.Lab;
        lab.StartCraftingResponder();
        string target = CraftingResponder.Code16Target;
        var (linux, ours) = await lab.RunBothAsync([.. Args(method, flag), "-n", "-w", "1", "-q", "3", "-m", "5", target]);
        TraceText.AssertBothPrint(log,
            string.Format(System.Globalization.CultureInfo.InvariantCulture, Header, target, 5) + FirstHops +
            " 3  192.0.2.26  N ms  N ms  N ms\n 4  * * *\n 5  * * *\n",
            linux, ours);
    }

    [SkippableTheory]
    [InlineData("", "", false)]
    [InlineData("-U -p 33434", "", false)]
    [InlineData("", "-F", true)]
    [InlineData("-I", "", true)]
    [InlineData("-I", "-F", true)]
    [InlineData("-T", "", true)]
    [InlineData("-T", "-F", true)]
    public async Task Fragmentation_needed_without_df_is_silent_for_udp_and_reported_for_icmp_and_tcp(string method, string flag, bool reported)
    {
        // Without -F traceroute 2.1's UDP sockets are IP_PMTUDISC_DONT and Linux's udp_err() keeps "fragmentation needed"
        // to itself (only the route's path MTU learns it): stars, and the trace goes on. Its ICMP and TCP methods read
        // the error through raw sockets, whose raw_err() queues it whatever the socket's IP_MTU_DISCOVER: "!F-1400", and
        // the trace stops, as with -F in every method.
        Root.Require();
        var lab = fixture.Lab;
        lab.StartCraftingResponder();
        string target = CraftingResponder.FragNeededTarget;
        try
        {
            lab.FlushClientRouteCache();
            var (linux, ours) = await lab.RunBothAsync([.. Args(method, flag), "-n", "-w", "1", "-q", "3", "-m", "5", target]);
            string tail = reported
                ? $" 3  192.0.2.26  N ms  N ms  N ms\n 4  {target}  N ms !F-1400  N ms !F-1400  N ms !F-1400\n"
                : " 3  192.0.2.26  N ms  N ms  N ms\n 4  * * *\n 5  * * *\n";
            TraceText.AssertBothPrint(log,
                string.Format(System.Globalization.CultureInfo.InvariantCulture, Header, target, 5) + FirstHops + tail,
                linux, ours);
        }
        finally
        {
            lab.FlushClientRouteCache();
        }
    }

    private static string[] Args(string method, string flag) =>
        [.. method.Split(' ', StringSplitOptions.RemoveEmptyEntries), .. flag.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
}
