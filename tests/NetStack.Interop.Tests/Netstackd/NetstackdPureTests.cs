using NetStack.Samples.Netstackd;
using NetStack.Samples.Netstackd.Services;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>netstackd's pure pieces (no root needed): byte ranges, path confinement, the command line.</summary>
public sealed class NetstackdPureTests
{
    [Theory]
    [InlineData("bytes=0-9", 100, RangeKind.Partial, 0, 9)]
    [InlineData("bytes=90-", 100, RangeKind.Partial, 90, 99)]
    [InlineData("bytes=-10", 100, RangeKind.Partial, 90, 99)]
    [InlineData("bytes=-1000", 100, RangeKind.Partial, 0, 99)]          // RFC 9110 §14.1.2: a suffix longer than the file is the whole file
    [InlineData("bytes=50-1000", 100, RangeKind.Partial, 50, 99)]       // last-pos past the end is clamped
    [InlineData("BYTES=1-1", 100, RangeKind.Partial, 1, 1)]             // the unit is case-insensitive
    [InlineData("bytes=100-", 100, RangeKind.Unsatisfiable, 0, 99)]     // first-pos at the end
    [InlineData("bytes=-0", 100, RangeKind.Unsatisfiable, 0, 99)]
    [InlineData("bytes=0-0", 0, RangeKind.Unsatisfiable, 0, -1)]        // nothing to range over
    [InlineData("bytes=99999999999999999999999-", 100, RangeKind.Unsatisfiable, 0, 99)]
    [InlineData("bytes=9-1", 100, RangeKind.Whole, 0, 99)]              // invalid: ignored
    [InlineData("bytes=0-1,5-6", 100, RangeKind.Whole, 0, 99)]          // several ranges: we send the whole file
    [InlineData("items=0-1", 100, RangeKind.Whole, 0, 99)]
    [InlineData("bytes=a-b", 100, RangeKind.Whole, 0, 99)]
    [InlineData(null, 100, RangeKind.Whole, 0, 99)]
    public void Range_headers_are_read_per_RFC_9110(string? header, long length, RangeKind kind, long first, long last)
    {
        Assert.Equal(kind, HttpRange.Parse(header, length, out long f, out long l));
        if (kind == RangeKind.Partial) Assert.Equal((first, last), (f, l));
    }

    [Theory]
    [InlineData("/a/b.txt", "/srv/www/a/b.txt")]
    [InlineData("/a/./b.txt?x=1#top", "/srv/www/a/b.txt")]
    [InlineData("/", "/srv/www")]
    [InlineData("/with%20space", "/srv/www/with space")]
    [InlineData("/..", null)]
    [InlineData("/a/../b", null)]
    [InlineData("/%2e%2e/etc/passwd", null)]
    [InlineData("/a%2f..%2f..%2fetc", null)]
    [InlineData("/a\\..\\b", null)]
    [InlineData("/a%00b", null)]
    [InlineData("relative", null)]
    public void Request_targets_never_leave_the_root(string target, string? expected) =>
        Assert.Equal(expected, SafePath.Resolve("/srv/www", target));

    [Fact]
    public void The_issue_command_line_parses()
    {
        Assert.True(NetstackdOptions.TryParse(
            ["--tap", "tap0", "--mac", "02:00:00:00:00:03", "--address", "198.51.100.3/24", "--address", "2001:db8:1::3/64",
             "--gateway", "198.51.100.1", "--gateway", "2001:db8:1::1", "--slaac", "--tcp-echo", "7", "--udp-echo", "7",
             "--discard", "9", "--chargen", "19", "--http", "80", "--http-root", "/", "--record", "x.pcap"], out var o, out var error), error);
        Assert.Equal("tap0", o.Tap);
        Assert.Single(o.Ipv4Addresses);
        Assert.Single(o.Ipv6Addresses);
        Assert.Equal(80, o.Http);
        Assert.True(o.Slaac && !o.Dhcp);
        Assert.Equal(1024, o.Backlog);
        Assert.Equal(4096, o.QueueLength);
        Assert.Null(o.SynQueue);
    }

    [Fact]
    public void Slaac_is_on_by_default_and_no_slaac_turns_it_off_RFC4862()
    {
        Assert.True(NetstackdOptions.TryParse(["--tap", "t", "--address", "2001:db8:1::3/64"], out var o, out var error), error);
        Assert.False(o.NoSlaac);
        Assert.True(NetstackdOptions.TryParse(["--tap", "t", "--address", "2001:db8:1::3/64", "--no-slaac"], out o, out error), error);
        Assert.True(o.NoSlaac);
        Assert.False(NetstackdOptions.TryParse(["--tap", "t", "--slaac", "--no-slaac"], out _, out error));
        Assert.Contains("contradict", error, StringComparison.Ordinal);
        // --no-slaac is not an address source.
        Assert.False(NetstackdOptions.TryParse(["--tap", "t", "--no-slaac"], out _, out error));
        Assert.Contains("no address", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Backlog_and_SYN_queue_parse()
    {
        Assert.True(NetstackdOptions.TryParse(["--tap", "t", "--dhcp", "--tcp-echo", "7", "--backlog", "64", "--syn-queue", "0", "--queue-len", "100"], out var o, out var error), error);
        Assert.Null(o.LoopNice);
        Assert.Equal(100, o.QueueLength);
        Assert.Equal(64, o.Backlog);
        Assert.Equal(0, o.SynQueue);
        Assert.True(NetstackdOptions.TryParse(["--tap", "t", "--dhcp", "--loop-nice", "-10"], out o, out error), error);
        Assert.Equal(-10, o.LoopNice);
    }

    [Theory]
    [InlineData("exactly one of --tap NAME or --pcap IFACE is needed", "--address", "198.51.100.3/24")]
    [InlineData("exactly one of --tap NAME or --pcap IFACE is needed", "--tap", "a", "--pcap", "b", "--dhcp")]
    [InlineData("--address: '198.51.100.3' is not ADDRESS/PREFIX", "--tap", "t", "--address", "198.51.100.3")]
    [InlineData("--tcp-echo: '0' is not a port (1 to 65535)", "--tap", "t", "--dhcp", "--tcp-echo", "0")]
    [InlineData("two TCP services on one port", "--tap", "t", "--dhcp", "--tcp-echo", "7", "--discard", "7")]
    [InlineData("--fault-drop: '2' is not a probability between 0 and 1", "--tap", "t", "--dhcp", "--fault-drop", "2")]
    [InlineData("--mac needs a value", "--tap", "t", "--mac")]
    [InlineData("--backlog: '0' is not between 1 and 65535", "--tap", "t", "--dhcp", "--backlog", "0")]
    [InlineData("--syn-queue: '-1' is not between 0 and 65535", "--tap", "t", "--dhcp", "--syn-queue", "-1")]
    [InlineData("--loop-nice: '-21' is not between -20 and 19", "--tap", "t", "--dhcp", "--loop-nice", "-21")]
    [InlineData("--gateway 203.0.113.1 is not on any IPv4 subnet given", "--tap", "t", "--address", "198.51.100.3/24", "--gateway", "203.0.113.1")]
    [InlineData("--tap is given more than once", "--tap", "t", "--tap", "u", "--dhcp")]
    [InlineData("--mac: '03:00:00:00:00:01' is a group or zero address, not an interface address", "--tap", "t", "--dhcp", "--mac", "03:00:00:00:00:01")]
    [InlineData("--mac: '00:00:00:00:00:00' is a group or zero address, not an interface address", "--tap", "t", "--dhcp", "--mac", "00:00:00:00:00:00")]
    [InlineData("--address: '::ffff:198.51.100.3/96' is IPv4-mapped; give the IPv4 address itself", "--tap", "t", "--address", "::ffff:198.51.100.3/96")]
    [InlineData("--address: '224.0.0.5/24' is not a unicast address", "--tap", "t", "--address", "224.0.0.5/24")]
    [InlineData("--address: 'ff02::1/64' is not a unicast address", "--tap", "t", "--address", "ff02::1/64")]
    public void Bad_command_lines_give_one_reason(string reason, params string[] args)
    {
        Assert.False(NetstackdOptions.TryParse(args, out _, out var error));
        Assert.Equal(reason, error);
    }
}
