using NetStack.Transport.Tcp;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Send-buffer auto-tuning (issue 12; Linux's tcp_sndbuf_expand, <see cref="TcpSettings.SendBufferMax"/>): a bulk sender
/// whose flight the 64 KB send buffer bounds, with room in the congestion window and the peer's window, grows the buffer
/// and nears the line rate; a peer that does not read, or auto-tuning turned off, keeps it at its initial size.
/// Deterministic simulations (virtual time, seeded); the seed is in every message.
/// </summary>
public sealed class SendAutoTuningTests(ITestOutputHelper output)
{
    // A 100 Mbit/s bottleneck with a 20 ms round trip: 250 KB in flight fill it, four times the 64 KB initial buffer.
    private const long LineRate = 12_500_000;
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(20);

    private static (BulkTransfer T, double Goodput) Bulk(ulong seed, TcpSettings sender, int size)
    {
        var sim = new TcpSimulation(seed, new PathConditions(Rtt, RateBytesPerSecond: LineRate), sender, new TcpSettings());
        var start = sim.Now;
        var t = new BulkTransfer(sim, size);
        Assert.True(t.Run(TimeSpan.FromMinutes(10)) && t.Intact, $"seed {seed}: transfer failed: {t.Describe()}");
        return (t, size / (t.CompletedAt!.Value - start).TotalSeconds);
    }

    [Theory]
    [InlineData(11UL)]
    [InlineData(12UL)]
    public void A_bulk_sender_held_by_its_send_buffer_grows_it_and_nears_line_rate(ulong seed)
    {
        var (t, goodput) = Bulk(seed, new TcpSettings(), 16 << 20);
        var client = t.Client;
        output.WriteLine($"seed {seed}: {goodput / 1e6:F2} MB/s, send buffer {client.SendBufferSize}, growths {t.Sim.A.Stats.SendBufferGrowths}, {t.Describe()}");
        Assert.True(client.SendBufferSize > 2 * 64 * 1024, $"seed {seed}: the send buffer stayed at {client.SendBufferSize} bytes");
        Assert.True(client.SendBufferSize <= new TcpSettings().SendBufferMax, $"seed {seed}: buffer {client.SendBufferSize} above the maximum");
        Assert.True(t.Sim.A.Stats.SendBufferGrowths > 0, $"seed {seed}: no growth counted");
        // A fixed 64 KB send buffer allows at most 64 KB per round trip, 26 % of the line rate here.
        Assert.True(goodput >= 0.80 * LineRate, $"seed {seed}: {goodput:0} B/s is under 80 % of the line rate {LineRate}");
    }

    [Fact]
    public void Without_auto_tuning_the_same_path_is_held_to_one_send_buffer_per_round_trip()
    {
        var (t, goodput) = Bulk(13, new TcpSettings { SendBufferMax = 0 }, 4 << 20);
        Assert.Equal(64 * 1024, t.Client.SendBufferSize);
        Assert.Equal(0, t.Sim.A.Stats.SendBufferGrowths);
        Assert.True(goodput <= 64 * 1024 / Rtt.TotalSeconds, $"{goodput:0} B/s exceeds 64 KB per round trip");
    }

    [Fact]
    public void A_peer_that_does_not_read_does_not_grow_the_send_buffer()
    {
        // The peer accepts but never reads: its window closes at its 64 KB receive buffer (no auto-tuning without reads),
        // so the peer's window, not the send buffer, bounds the flight, and the sender's buffer stays as it was.
        const ulong seed = 14;
        var sim = new TcpSimulation(seed, new PathConditions(Rtt, RateBytesPerSecond: LineRate), new TcpSettings(), new TcpSettings());
        var listener = sim.B.Listen(new IpEndpoint(sim.AddressB, 80), 1);
        var client = sim.A.Connect(new IpEndpoint(sim.AddressB, 80), sim.Now);
        var data = new byte[1 << 20];
        TcpConnection? server = null;
        int sent = 0;
        sim.Run(() => false, () =>
        {
            if (client.State == TcpState.Established && sent < data.Length) sent += client.Send(data.AsSpan(sent));
            if (server is null) listener.TryAccept(out server);
        }, TimeSpan.FromSeconds(10));
        Assert.NotNull(server);
        Assert.True(sent >= 64 * 1024, $"seed {seed}: only {sent} bytes queued");
        Assert.True(sent < data.Length, $"seed {seed}: everything was queued: the buffer grew to {client.SendBufferSize}");
        Assert.Equal(64 * 1024, client.SendBufferSize);
        Assert.Equal(0, sim.A.Stats.SendBufferGrowths);
    }
}
