using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// DESIGN principles 4 and 7, issue 12 item 3: a bulk TCP transfer between two whole stacks (Ethernet, IPv4 or IPv6, TCP)
/// over an in-memory link allocates nothing per segment once it runs: segments are built in pooled frame buffers with
/// headroom (IIpLayer.SendInPlace), the link holds frames in a pool of its own, received payload goes from the frame into
/// the receive ring. Both directions carry data at once, so data, pure ACKs and piggybacked ACKs are all counted.
/// Everything runs on this thread on a virtual clock, so <see cref="GC.GetAllocatedBytesForCurrentThread"/> sees all of it.
/// With the link's veth offloads (<see cref="LinkOptions.Offloads"/>) 64 KB super-frames cross whole, and the same holds.
/// </summary>
public sealed class TcpSteadyStateAllocationTests
{
    private const int Port = 5001;

    private sealed class Pair
    {
        private readonly NetworkStack _a;
        private readonly NetworkStack _b;
        private readonly TcpConnection _client;
        private readonly TcpConnection _server;
        private readonly byte[] _data = new byte[64 * 1024];
        private readonly byte[] _sink = new byte[64 * 1024];

        public Pair(bool v6, bool superSegments, bool linkOffloads)
        {
            Now = Instant.FromSeconds(1);
            var random = new SeededRandom(7);
            var link = Link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"),
                new LinkOptions { Latency = TimeSpan.FromMicroseconds(200), Offloads = linkOffloads ? LinkOptions.VethOffloads : DeviceOffloads.None });
            var options = new StackOptions { Ipv6 = new NetStack.Network.Ipv6.Ipv6Settings { DupAddrDetectTransmits = 0 } };
            _a = new NetworkStack(options, random);
            _b = new NetworkStack(options, random);
            _a.AddInterface(link.A, v6
                ? new InterfaceConfig { Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::1/64")], EnableIpv4 = false }
                : new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, Now);
            _b.AddInterface(link.B, v6
                ? new InterfaceConfig { Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::2/64")], EnableIpv4 = false }
                : new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")], EnableIpv6 = false }, Now);
            // 256 KB windows: hundreds of frames in flight on the link at once.
            var settings = new TcpSettings { SendBufferSize = 256 * 1024, ReceiveBufferSize = 256 * 1024, SegmentationOffload = superSegments };
            TcpA = new TcpLayer(_a, random, settings);
            TcpB = new TcpLayer(_b, random, settings);
            _a.RegisterTransport(IpProtocol.Tcp, TcpA);
            _b.RegisterTransport(IpProtocol.Tcp, TcpB);
            IpAddress addressB = v6 ? Ipv6Address.Parse("2001:db8::2") : Ipv4Address.Parse("192.0.2.2");
            var listener = TcpB.Listen(new IpEndpoint(addressB, Port), 4);
            _client = TcpA.Connect(new IpEndpoint(addressB, Port), Now);
            TcpConnection? server = null;
            for (int i = 0; i < 10_000 && server is null; i++)
            {
                Step();
                TcpLayer.TryAccept(listener, out server);
            }
            _server = server ?? throw new InvalidOperationException("no connection");
            new Random(7).NextBytes(_data);
        }

        public InMemoryLink Link { get; }
        public TcpLayer TcpA { get; }
        public TcpLayer TcpB { get; }
        public Instant Now { get; private set; }
        public long ReceivedByA { get; private set; }
        public long ReceivedByB { get; private set; }

        /// <summary>One turn: both applications write what fits and read what arrived, both stacks poll, 50 µs pass.</summary>
        public void Step()
        {
            if (_server is not null)
            {
                _client.Send(_data);
                _server.Send(_data);
                int n;
                while ((n = _server.Receive(_sink)) > 0) ReceivedByB += n;
                while ((n = _client.Receive(_sink)) > 0) ReceivedByA += n;
            }
            _a.Poll(Now);
            _b.Poll(Now);
            Now += TimeSpan.FromMicroseconds(50);
        }

        public long Segments => TcpA.Stats.SegmentsSent + TcpB.Stats.SegmentsSent;
    }

    [Theory]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public void Bulk_transfer_both_ways_allocates_nothing_per_segment(bool v6, bool superSegments, bool linkOffloads)
    {
        var pair = new Pair(v6, superSegments, linkOffloads);
        for (int i = 0; i < 4_000; i++) pair.Step(); // warm-up: slow start over, pools and tables at their size, JIT done
        Assert.True(pair.ReceivedByA > 1_000_000 && pair.ReceivedByB > 1_000_000,
            $"warm-up moved too little: A got {pair.ReceivedByA}, B {pair.ReceivedByB} bytes");

        // The cheapest of five rounds: an allocation per segment shows in every round, a one-time allocation of the runtime
        // on this thread (tiered JIT, on-stack replacement) in at most one.
        long best = long.MaxValue, segments = 0, bytes = 0;
        for (int round = 0; round < 5 && best > 0; round++)
        {
            long segmentsBefore = pair.Segments, bytesBefore = pair.ReceivedByA + pair.ReceivedByB;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1_000; i++) pair.Step();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated < best)
            {
                best = allocated;
                segments = pair.Segments - segmentsBefore;
                bytes = pair.ReceivedByA + pair.ReceivedByB - bytesBefore;
            }
        }
        Assert.True(segments >= 1_000, $"only {segments} segments in a measured round");
        Assert.True(bytes >= 1_000_000, $"only {bytes} bytes in a measured round");
        Assert.True(best == 0, $"{best} bytes allocated over {segments} segments ({bytes} bytes delivered)");
        Assert.Equal(0, pair.TcpA.Stats.Retransmissions + pair.TcpB.Stats.Retransmissions);
        if (linkOffloads)
        {
            Assert.True(pair.Link.AToBStatistics.SuperFrames > 0 && pair.Link.BToAStatistics.SuperFrames > 0,
                $"no super-frame crossed the link: {pair.Link.AToBStatistics}, {pair.Link.BToAStatistics}");
            Assert.Equal(0, pair.Link.AToBStatistics.SegmentedOnDelivery + pair.Link.BToAStatistics.SegmentedOnDelivery);
        }
        else
        {
            Assert.Equal(0, pair.Link.AToBStatistics.OffloadedFrames + pair.Link.BToAStatistics.OffloadedFrames);
        }
    }
}
