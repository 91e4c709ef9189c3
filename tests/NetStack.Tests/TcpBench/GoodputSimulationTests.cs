using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.TcpBench;

/// <summary>
/// The setting of the goodput table in bench/README.md (bench/tcp, smoltcp's netsim setting) as specifications, in
/// virtual time: two complete stacks (Ethernet, IPv4 or IPv6, TCP) in a <see cref="SimTcpPair"/> over an <see cref="InMemoryLink"/> with one-way latency
/// RTT/2, and a <see cref="FaultInjector"/> on each end dropping the same share of what it transmits. Deterministic:
/// the seed is in every message.
/// </summary>
public sealed class GoodputSimulationTests
{
    private readonly record struct Outcome(double BytesPerSecond, bool Intact, long Received, long Retransmissions);

    private static Outcome Transfer(ulong seed, IpVersion family, int rttMs, double loss, TcpSettings settings, int bytes)
    {
        using var pair = new SimTcpPair(seed, family, TimeSpan.FromMicroseconds(rttMs * 500.0), loss, settings);
        var o = pair.Transfer(bytes, TimeSpan.FromHours(1));
        return new Outcome(o.BytesPerSecond, o.Intact, o.Received, pair.TcpA.Stats.Retransmissions);
    }

    private static TcpSettings Buffers32K(CongestionAlgorithm cc) =>
        new() { SendBufferSize = 32 * 1024, SendBufferMax = 0, ReceiveBufferSize = 32 * 1024, Congestion = cc }; // fixed 32 KB: no send-buffer auto-tuning

    [Theory]
    [InlineData(CongestionAlgorithm.Cubic, IpVersion.V4)]
    [InlineData(CongestionAlgorithm.NewReno, IpVersion.V4)]
    [InlineData(CongestionAlgorithm.Cubic, IpVersion.V6)]
    [InlineData(CongestionAlgorithm.NewReno, IpVersion.V6)]
    public void Without_loss_goodput_reaches_the_receive_window_per_round_trip_and_never_exceeds_it(CongestionAlgorithm cc, IpVersion family)
    {
        // RFC 9293 §3.8.6: the sender keeps at most one receive window in flight, so goodput <= window / RTT.
        const ulong seed = 1;
        var o = Transfer(seed, family, 100, 0, Buffers32K(cc), 2 << 20);
        double bound = 32 * 1024 / 0.100;
        Assert.True(o.Intact, $"seed {seed}: received {o.Received}");
        Assert.True(o.BytesPerSecond <= bound, $"seed {seed}: {o.BytesPerSecond:0} B/s exceeds window/RTT {bound:0}");
        Assert.True(o.BytesPerSecond >= 0.9 * bound, $"seed {seed}: {o.BytesPerSecond:0} B/s is under 90 % of window/RTT {bound:0}");
        Assert.Equal(0, o.Retransmissions);
    }

    [Theory]
    [InlineData(CongestionAlgorithm.Cubic, 11UL, IpVersion.V4)]
    [InlineData(CongestionAlgorithm.NewReno, 12UL, IpVersion.V4)]
    [InlineData(CongestionAlgorithm.Cubic, 11UL, IpVersion.V6)]
    [InlineData(CongestionAlgorithm.NewReno, 12UL, IpVersion.V6)]
    public void At_one_percent_loss_and_100_ms_the_transfer_is_intact_and_within_the_loss_throughput_bound(CongestionAlgorithm cc, ulong seed, IpVersion family)
    {
        // Mathis et al. (1997): a congestion-controlled flow gets about (MSS / RTT) * 1.22 / sqrt(p); with the 1448-byte
        // payload over IPv4 (MSS 1460 less the timestamps option; 20 bytes less over IPv6) that is about 177 kB/s here.
        // Half of it is the floor accepted.
        var o = Transfer(seed, family, 100, 0.01, Buffers32K(cc), 2 << 20);
        int payload = 1448 - (Families.IpHeaderLength(family) - 20);
        double mathis = payload / 0.100 * 1.22 / Math.Sqrt(0.01);
        Assert.True(o.Intact, $"seed {seed}: received {o.Received}");
        Assert.True(o.Retransmissions > 0, $"seed {seed}: no retransmission at 1 % loss");
        Assert.True(o.BytesPerSecond >= 0.5 * mathis, $"seed {seed}: {o.BytesPerSecond:0} B/s is under half the Mathis bound {mathis:0}");
        Assert.True(o.BytesPerSecond <= 32 * 1024 / 0.100, $"seed {seed}: {o.BytesPerSecond:0} B/s exceeds window/RTT");
    }
}
