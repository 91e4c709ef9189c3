using System.Text;
using NetStack.Tap.Receive;
using NetStack.Wire;

namespace NetStack.Tests.Flood;

/// <summary>
/// The counters that make the kernel SYN filter visible: its drops from the TAP's kernel TX "dropped" counter while it is
/// attached (<see cref="FilterDropCounter"/>, the counter's column in /proc/net/dev), and the proven sources it cannot
/// name beyond 64 per family (<see cref="NamedProvenSources"/>).
/// </summary>
public class KernelFilterCountersTests
{
    [Fact]
    public void Drops_are_the_counters_rise_while_the_filter_is_attached_only()
    {
        var c = new FilterDropCounter();
        c.Sample(100);                       // not attached: nothing counts
        Assert.Equal(0, c.Total);
        c.Attach(120);                       // read before attaching
        c.Sample(150);
        c.Sample(170);
        Assert.Equal(50, c.Total);
        c.Detach(180);                       // read after detaching: the last 10 count
        Assert.Equal(60, c.Total);
        Assert.False(c.Attached);
        c.Sample(1_000);                     // detached again: queue-full drops while the filter is off are not its drops
        c.Attach(1_100);
        c.Detach(1_107);
        Assert.Equal(67, c.Total);
    }

    [Fact]
    public void A_missing_or_falling_reading_counts_nothing_and_the_next_one_goes_on_from_it()
    {
        var c = new FilterDropCounter();
        c.Attach(null);                      // unreadable at attach: the first reading is the base
        c.Sample(40);
        Assert.Equal(0, c.Total);
        c.Sample(null);
        c.Sample(45);
        Assert.Equal(5, c.Total);
        c.Sample(3);                         // the counter reset (the interface was re-created)
        c.Sample(10);
        Assert.Equal(12, c.Total);
        c.Attach(12);                        // attached already (a level change): a sample
        Assert.Equal(14, c.Total);
    }

    private const string ProcNetDev =
        "Inter-|   Receive                                                |  Transmit\n" +
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" +
        "    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n" +
        "nt12t3: 5400 90 1 2 0 0 0 0 7200 120 0 123456789 0 0 0 0\n" +
        "  nt12t31:    5    6    7    8    9    10    11    12    13    14    15    16    17    18    19    20\n";

    [Theory]
    [InlineData("lo", 0L)]
    [InlineData("nt12t3", 123_456_789L)]
    [InlineData("nt12t31", 16L)]
    public void The_transmit_drop_column_of_the_named_interface_is_read(string name, long expected)
    {
        Assert.True(LinkDropCounter.TryParseTransmitDropped(Encoding.ASCII.GetBytes(ProcNetDev), name, out long dropped));
        Assert.Equal(expected, dropped);
    }

    [Theory]
    [InlineData("nt12")]
    [InlineData("face")]
    public void An_interface_not_listed_has_no_reading(string name) =>
        Assert.False(LinkDropCounter.TryParseTransmitDropped(Encoding.ASCII.GetBytes(ProcNetDev), name, out _));

    private static IpAddress V4(int i) => Ipv4Address.Parse($"198.51.100.{i}");
    private static IpAddress V6(int i) => Ipv6Address.Parse($"2001:db8::{i:x}");
    private static Instant Sec(double s) => new((long)(s * 1_000_000));

    [Fact]
    public void The_filter_names_64_proven_sources_per_family_and_counts_those_it_cannot_name()
    {
        var named = new NamedProvenSources(TimeSpan.FromMinutes(10));
        for (int i = 1; i <= 64; i++)
        {
            Assert.True(named.Note(V4(i), Sec(i)));
            Assert.True(named.Note(V6(i), Sec(i)));
        }
        Assert.Equal(128, named.Count);
        Assert.Equal(0, named.Unnamed);
        Assert.False(named.Note(V4(1), Sec(100)));    // proven again: refreshed in place, no change to the program
        Assert.True(named.Note(V4(65), Sec(101)));     // the 65th: the least recently proven (198.51.100.2) loses its name
        Assert.Equal(1, named.Unnamed);
        var now = named.ToArray();
        Assert.Equal(128, now.Length);
        Assert.Contains(V4(1), now);
        Assert.Contains(V4(65), now);
        Assert.DoesNotContain(V4(2), now);
        Assert.Equal(SynShedFilter.Build(1, now).Length, SynShedFilter.Build(1, [.. now, V4(2)]).Length); // 64 is the program's limit too
    }

    [Fact]
    public void A_source_whose_proof_expired_is_replaced_without_counting()
    {
        var named = new NamedProvenSources(TimeSpan.FromMinutes(10));
        for (int i = 1; i <= 64; i++) named.Note(V4(i), Sec(i));
        named.Note(V4(100), Sec(60 + 11 * 60));       // 11 minutes on: the oldest (1 s) is no longer proven
        Assert.Equal(0, named.Unnamed);
        named.Note(V6(1), Sec(60 + 11 * 60));         // the other family has room
        Assert.Equal(0, named.Unnamed);
        Assert.Equal(65, named.Count);
    }
}
