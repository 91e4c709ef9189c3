using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Issue 12 (the in-memory data path): RACK's loss detection (RFC 8985 §6.2 step 5) runs on every ACK, and once the
/// send and receive buffers have auto-tuned up to megabytes on a link with no latency, thousands of segments are in
/// flight. A walk of the whole flight per ACK made a bulk transfer quadratic: `TcpThroughput mem` with the default
/// buffers fell to 6-32 CPU s/GB (from 0.5-0.6 before send-buffer auto-tuning). The detection must stop at the first
/// segment sent after the RACK segment, as Linux's walk of its time-sorted queue does, so that it costs a few records
/// per ACK however large the flight.
/// </summary>
public sealed class RackDetectionCostTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void Rack_examines_a_few_records_per_ack_with_thousands_in_flight(int latencyMicros)
    {
        const ulong seed = 12;
        var now = Instant.FromSeconds(1);
        var random = new SeededRandom(seed);
        using var link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"),
            new LinkOptions { Latency = TimeSpan.FromMicroseconds(latencyMicros) });
        var a = new NetworkStack(new StackOptions(), random);
        var b = new NetworkStack(new StackOptions(), random);
        a.AddInterface(link.A, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, now);
        b.AddInterface(link.B, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")], EnableIpv6 = false }, now);
        // The default 64 KB buffers auto-tune to megabytes on the real clock of `TcpThroughput mem` (the loop is descheduled
        // for milliseconds between polls); here the large buffers are set outright, so that the flight is as large on
        // the virtual clock.
        var settings = new TcpSettings { SendBufferSize = 4 << 20, ReceiveBufferSize = 4 << 20 };
        var tcpA = new TcpLayer(a, random, settings);
        var tcpB = new TcpLayer(b, random, settings);
        a.RegisterTransport(IpProtocol.Tcp, tcpA);
        b.RegisterTransport(IpProtocol.Tcp, tcpB);
        var listener = tcpB.Listen(new IpEndpoint(Ipv4Address.Parse("192.0.2.2"), 5001), 4);
        var client = tcpA.Connect(new IpEndpoint(Ipv4Address.Parse("192.0.2.2"), 5001), now);
        TcpConnection? server = null;
        var data = new byte[64 * 1024];
        var sink = new byte[64 * 1024];
        long received = 0;
        int maxInFlight = 0;
        // As TcpThroughput mem does: the sender fills its buffer, the receiver drains, both stacks poll; the clock moves on
        // (20 µs a turn, the loop's pace on a loaded machine) so that RTT samples, auto-tuning and the timers all run.
        for (int turn = 0; turn < 4_000; turn++)
        {
            while (client.Send(data) > 0) { }
            if (server is null) TcpLayer.TryAccept(listener, out server);
            int n;
            while (server is not null && (n = server.Receive(sink)) > 0) received += n;
            a.Poll(now);
            b.Poll(now);
            maxInFlight = Math.Max(maxInFlight, client.SentRecords);
            now += TimeSpan.FromMicroseconds(20);
        }
        string context = $"seed={seed} latency={latencyMicros}µs received={received} maxInFlight={maxInFlight} acks={tcpA.Stats.SegmentsReceived} examined={client.RackRecordsExamined}";
        Assert.True(received > 50_000_000, context);
        Assert.Equal(0, tcpA.Stats.Retransmissions);
        // The regime of the regression: a flight far larger than 64 KB buffers hold (45 segments).
        Assert.True(maxInFlight >= 100, context);
        // At most a few records per ACK (the walk stops at the first one sent after the RACK segment); a walk of the
        // whole flight costs hundreds to thousands per ACK here.
        Assert.True(client.RackRecordsExamined <= 4 * tcpA.Stats.SegmentsReceived, context);
    }
}
