using System.Net;
using System.Security.Cryptography;
using NetStack.Sockets;
using NetStack.Tap;

namespace NetStack.Tests.Observability;

/// <summary>
/// Every TCP instrument of the "NetStack" meter moves when TCP moves (they once read counters nobody wrote and stayed at
/// 0 after 200 MB), with the OpenTelemetry attribute names (<c>network.transport</c>, <c>network.type</c>,
/// <c>network.io.direction</c>) and units.
/// </summary>
public sealed class TcpMetricsTests
{
    private static async Task<(TcpConnectionStream Client, TcpConnectionStream Server, AsyncTcpListener Listener)> ConnectAsync(ObservedPair p, string server, int port)
    {
        var listener = await p.B.ListenTcpAsync(new IPEndPoint(IPAddress.IPv6Any, port));
        var accepting = listener.AcceptAsync().AsTask();
        var client = await p.A.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse(server), port)).WaitAsync(ObservedPair.Limit);
        var accepted = await accepting.WaitAsync(ObservedPair.Limit);
        return (client, accepted, listener);
    }

    private static async Task MoveAsync(TcpConnectionStream from, TcpConnectionStream to, int bytes)
    {
        var data = RandomNumberGenerator.GetBytes(bytes);
        var got = new byte[bytes];
        var reading = to.ReadExactlyAsync(got).AsTask(); // read while writing: the buffers hold less than a write
        await from.WriteAsync(data).AsTask().WaitAsync(ObservedPair.Limit);
        await reading.WaitAsync(ObservedPair.Limit);
        Assert.Equal(data, got);
    }

    [Theory]
    [InlineData("192.0.2.2", "ipv4")]
    [InlineData("2001:db8::2", "ipv6")]
    public async Task Segments_count_both_directions_by_family(string server, string family)
    {
        await using var p = await ObservedPair.StartAsync();
        var (c, s, l) = await ConnectAsync(p, server, 5001);
        await using var _ = l;
        await using var __ = c;
        await using var ___ = s;
        await MoveAsync(c, s, 300_000);
        await MoveAsync(s, c, 100_000);
        foreach (var stack in new[] { p.A, p.B })
        {
            var r = Reading.Collect(stack);
            // 300 kB one way and 100 kB the other are at least ~70 and ~200 segments of data (MSS 1460) plus their ACKs.
            long sent = Reading.Sum(r, "netstack.tcp.segments", ("network.type", family), ("network.io.direction", "transmit"), ("network.transport", "tcp"));
            long received = Reading.Sum(r, "netstack.tcp.segments", ("network.type", family), ("network.io.direction", "receive"), ("network.transport", "tcp"));
            Assert.True(sent >= 60, $"{stack.Name} sent {sent} {family} segments");
            Assert.True(received >= 60, $"{stack.Name} received {received} {family} segments");
            // And they agree with the layer's own counters (no other TCP in this pair), read in one work item on the loop
            // so that no segment goes out between the two readings.
            var (onLoop, layerSent) = await stack.InvokeAsync(_ => (Reading.Collect(stack), stack.Tcp.Stats.SegmentsSent));
            Assert.Equal(layerSent, Reading.Sum(onLoop, "netstack.tcp.segments", ("network.io.direction", "transmit")));
            Assert.Equal(0, Reading.Sum(r, "netstack.tcp.segments", ("network.type", family == "ipv4" ? "ipv6" : "ipv4")));
            Assert.All(r.Where(x => x.Instrument == "netstack.tcp.segments"), x => Assert.Equal("{segment}", x.Unit));
        }
    }

    [Fact]
    public async Task Retransmissions_and_timeouts_count_when_the_link_loses_data()
    {
        await using var p = await ObservedPair.StartAsync();
        var (c, s, l) = await ConnectAsync(p, "192.0.2.2", 5002);
        await using var _ = l;
        await using var __ = c;
        await using var ___ = s;
        var before = Reading.Collect(p.A);
        Assert.Equal(0, Reading.Sum(before, "netstack.tcp.retransmissions"));
        Assert.Equal(0, Reading.Sum(before, "netstack.tcp.timeouts"));

        p.DeviceA.Blocked = true; // A's data and its retransmissions are lost until the RTO fires (RFC 6298 §5.4)
        await c.WriteAsync(new byte[1000]).AsTask().WaitAsync(ObservedPair.Limit);
        var lossy = await Reading.WaitAsync(p.A,
            r => Reading.Sum(r, "netstack.tcp.timeouts") >= 1 && Reading.Sum(r, "netstack.tcp.retransmissions") >= 1, "RTO and retransmission");
        Assert.Equal("{timeout}", lossy.First(x => x.Instrument == "netstack.tcp.timeouts").Unit);
        Assert.Equal("{segment}", lossy.First(x => x.Instrument == "netstack.tcp.retransmissions").Unit);
        var (onLoop, layerRetransmissions) = await p.A.InvokeAsync(_ => (Reading.Collect(p.A), p.A.Tcp.Stats.Retransmissions));
        Assert.Equal(layerRetransmissions, Reading.Sum(onLoop, "netstack.tcp.retransmissions"));

        p.DeviceA.Blocked = false; // the next retransmission gets through
        var got = new byte[1000];
        await s.ReadExactlyAsync(got).AsTask().WaitAsync(ObservedPair.Limit);
    }

    [Fact]
    public async Task Opens_count_active_on_the_client_and_passive_on_the_server()
    {
        await using var p = await ObservedPair.StartAsync();
        var (c, s, l) = await ConnectAsync(p, "2001:db8::2", 5003);
        await using var _ = l;
        await using var __ = c;
        await using var ___ = s;
        var a = Reading.Collect(p.A);
        var b = Reading.Collect(p.B);
        Assert.Equal(1, Reading.Sum(a, "netstack.tcp.opens", ("netstack.tcp.open", "active")));
        Assert.Equal(0, Reading.Sum(a, "netstack.tcp.opens", ("netstack.tcp.open", "passive")));
        Assert.Equal(1, Reading.Sum(b, "netstack.tcp.opens", ("netstack.tcp.open", "passive")));
        Assert.Equal(0, Reading.Sum(b, "netstack.tcp.opens", ("netstack.tcp.open", "active")));
    }

    [Fact]
    public async Task Connection_count_goes_up_with_a_connection_and_down_when_it_is_gone()
    {
        await using var p = await ObservedPair.StartAsync();
        Assert.Equal(0, Reading.Sum(Reading.Collect(p.A), "netstack.tcp.connection.count"));
        var (c, s, l) = await ConnectAsync(p, "192.0.2.2", 5004);
        await using var _ = l;
        var open = Reading.Collect(p.A);
        Assert.Equal(1, Reading.Sum(open, "netstack.tcp.connection.count", ("network.transport", "tcp")));
        Assert.Equal("{connection}", open.First(x => x.Instrument == "netstack.tcp.connection.count").Unit);
        // Aborted on both sides (RST): no TIME-WAIT, the entries go.
        c.Abort();
        s.Abort();
        await Reading.WaitAsync(p.A, r => Reading.Sum(r, "netstack.tcp.connection.count") == 0, "connection count back to 0");
    }
}
