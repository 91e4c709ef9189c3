using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.TcpBench;

/// <summary>
/// The setting of the goodput table in bench/README.md (bench/tcp, smoltcp's netsim setting) as specifications, in
/// virtual time: two complete stacks (Ethernet, IPv4, TCP) over an <see cref="InMemoryLink"/> with one-way latency
/// RTT/2, and a <see cref="FaultInjector"/> on each end dropping the same share of what it transmits. Deterministic:
/// the seed is in every message.
/// </summary>
public sealed class GoodputSimulationTests
{
    private const int Port = 5001;
    private static readonly Ipv4Address AddressB = Ipv4Address.Parse("192.0.2.2");

    private readonly record struct Outcome(double BytesPerSecond, bool Intact, long Received, long Retransmissions);

    private static Outcome Transfer(ulong seed, int rttMs, double loss, TcpSettings settings, int bytes)
    {
        var start = Instant.FromSeconds(1);
        var sim = new Simulator(seed, start);
        using var link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"),
            new LinkOptions { Latency = TimeSpan.FromMicroseconds(rttMs * 500.0) });
        var drop = new FaultProfile { DropRate = loss };
        using var devA = new FaultInjector(link.A, sim.Random, transmit: drop);
        using var devB = new FaultInjector(link.B, sim.Random, transmit: drop);
        var a = new NetworkStack(null, sim.Random);
        var b = new NetworkStack(null, sim.Random);
        a.AddInterface(devA, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, start);
        b.AddInterface(devB, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")], EnableIpv6 = false }, start);
        var tcpA = new TcpLayer(a, sim.Random, settings);
        var tcpB = new TcpLayer(b, sim.Random, settings);
        a.RegisterTransport(IpProtocol.Tcp, tcpA);
        b.RegisterTransport(IpProtocol.Tcp, tcpB);

        var data = new byte[bytes];
        new Random((int)seed).NextBytes(data);
        var received = new byte[bytes];
        var listener = tcpB.Listen(new IpEndpoint(AddressB, Port), 4);
        var client = tcpA.Connect(new IpEndpoint(AddressB, Port), start);
        TcpConnection? server = null;
        int sent = 0, got = 0;
        bool Step()
        {
            bool progress = false;
            if (sent < bytes)
            {
                int n = client.Send(data.AsSpan(sent));
                sent += n;
                progress |= n > 0;
                if (sent == bytes) client.Close();
            }
            if (server is null && !listener.TryAccept(out server)) return progress;
            int r;
            while (got < bytes && (r = server!.Receive(received.AsSpan(got))) > 0) { got += r; progress = true; }
            return progress;
        }
        sim.AddNode("A", new Driven(a, Step), devA);
        sim.AddNode("B", new Driven(b, Step), devB);
        sim.RunUntil(() => got == bytes, start + TimeSpan.FromHours(1));
        double seconds = (sim.Now - start).TotalSeconds;
        return new Outcome(got / seconds, got == bytes && received.AsSpan().SequenceEqual(data), got, tcpA.Stats.Retransmissions);
    }

    /// <summary>Polls a stack with the applications' step on either side; re-polls at once when they queued data.</summary>
    private sealed class Driven(IPollable stack, Func<bool> step) : IPollable
    {
        public Instant Poll(Instant now)
        {
            step();
            var next = stack.Poll(now);
            return step() ? now : next;
        }
    }

    private static TcpSettings Buffers32K(CongestionAlgorithm cc) =>
        new() { SendBufferSize = 32 * 1024, ReceiveBufferSize = 32 * 1024, Congestion = cc };

    [Theory]
    [InlineData(CongestionAlgorithm.Cubic)]
    [InlineData(CongestionAlgorithm.NewReno)]
    public void Without_loss_goodput_reaches_the_receive_window_per_round_trip_and_never_exceeds_it(CongestionAlgorithm cc)
    {
        // RFC 9293 §3.8.6: the sender keeps at most one receive window in flight, so goodput <= window / RTT.
        const ulong seed = 1;
        var o = Transfer(seed, 100, 0, Buffers32K(cc), 2 << 20);
        double bound = 32 * 1024 / 0.100;
        Assert.True(o.Intact, $"seed {seed}: received {o.Received}");
        Assert.True(o.BytesPerSecond <= bound, $"seed {seed}: {o.BytesPerSecond:0} B/s exceeds window/RTT {bound:0}");
        Assert.True(o.BytesPerSecond >= 0.9 * bound, $"seed {seed}: {o.BytesPerSecond:0} B/s is under 90 % of window/RTT {bound:0}");
        Assert.Equal(0, o.Retransmissions);
    }

    [Theory]
    [InlineData(CongestionAlgorithm.Cubic, 11UL)]
    [InlineData(CongestionAlgorithm.NewReno, 12UL)]
    public void At_one_percent_loss_and_100_ms_the_transfer_is_intact_and_within_the_loss_throughput_bound(CongestionAlgorithm cc, ulong seed)
    {
        // Mathis et al. (1997): a congestion-controlled flow gets about (MSS / RTT) * 1.22 / sqrt(p); with the 1448-byte
        // payload (MSS 1460 less the timestamps option) that is about 177 kB/s here. Half of it is the floor accepted.
        var o = Transfer(seed, 100, 0.01, Buffers32K(cc), 2 << 20);
        double mathis = 1448 / 0.100 * 1.22 / Math.Sqrt(0.01);
        Assert.True(o.Intact, $"seed {seed}: received {o.Received}");
        Assert.True(o.Retransmissions > 0, $"seed {seed}: no retransmission at 1 % loss");
        Assert.True(o.BytesPerSecond >= 0.5 * mathis, $"seed {seed}: {o.BytesPerSecond:0} B/s is under half the Mathis bound {mathis:0}");
        Assert.True(o.BytesPerSecond <= 32 * 1024 / 0.100, $"seed {seed}: {o.BytesPerSecond:0} B/s exceeds window/RTT");
    }
}
