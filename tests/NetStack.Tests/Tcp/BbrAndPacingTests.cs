using NetStack.Transport.Tcp;
using Xunit.Abstractions;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Pacing in the sender and BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00) in the deterministic simulator:
/// virtual time, a bottleneck of known rate and delay, seeded loss (the seed is in every message).
/// </summary>
public sealed class BbrAndPacingTests(ITestOutputHelper output)
{
    private const long LinkRate = 2_000_000;                        // bytes per second on the wire
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(40);

    private static TcpSettings Bbr => new() { Congestion = CongestionAlgorithm.Bbr, SendBufferMax = 4 << 20 };

    /// <summary>The data rate a full link carries: the wire rate less TCP (with timestamps), IP and framing headers.</summary>
    private static double DataRate(TcpConnection c) => LinkRate * (double)c.SendMss / (c.SendMss + 32 + 40);

    private sealed record Outcome(double BytesPerSecond, long MaxQueueMicros, long MedianQueueMicros, BulkTransfer Bulk);

    /// <summary>A transfer of <paramref name="size"/> bytes from A (settings <paramref name="sender"/>) to B; goodput and
    /// the bottleneck queue A's packets met after the first two seconds (past Startup).</summary>
    private static Outcome Transfer(ulong seed, TcpSettings sender, int size, double loss = 0, long rate = LinkRate)
    {
        var sim = new TcpSimulation(seed, new PathConditions(Rtt, Loss: loss, RateBytesPerSecond: rate), sender, new TcpSettings());
        var queue = new List<long>();
        long max = 0;
        sim.OnTransmit = (side, now, _, q) =>
        {
            if (side != 0 || now.Microseconds < 2_000_000) return;
            queue.Add(q);
            max = Math.Max(max, q);
        };
        var bulk = new BulkTransfer(sim, size);
        var start = sim.Now;
        Assert.True(bulk.Run(TimeSpan.FromSeconds(600)), bulk.Describe());
        Assert.True(bulk.Intact, bulk.Describe());
        queue.Sort();
        double seconds = (bulk.CompletedAt!.Value - start).TotalSeconds;
        return new Outcome(size / seconds, max, queue.Count > 0 ? queue[queue.Count / 2] : 0, bulk);
    }

    [Theory]
    [InlineData(3UL)]
    [InlineData(11UL)]
    public void Pacing_spreads_a_window_based_senders_bursts(ulong seed)
    {
        // No bottleneck: without pacing a window leaves in one instant; with it (once SRTT is known, after the first
        // round trips) no instant carries more than the
        // autosized super-segment (about 1 ms at the pacing rate, 2 segments at least, 64 KB at most).
        int Burst(TcpSettings settings)
        {
            var sim = new TcpSimulation(seed, new PathConditions(Rtt), settings, new TcpSettings());
            var perInstant = new Dictionary<long, int>();
            sim.OnTransmit = (side, now, bytes, _) =>
            {
                if (side == 0 && now.Microseconds > 100_000) perInstant[now.Microseconds] = perInstant.GetValueOrDefault(now.Microseconds) + bytes;
            };
            var bulk = new BulkTransfer(sim, 8_000_000);
            Assert.True(bulk.Run(TimeSpan.FromSeconds(120)), bulk.Describe());
            Assert.True(bulk.Intact, bulk.Describe());
            return perInstant.Values.Max();
        }
        int unpaced = Burst(new TcpSettings());
        int paced = Burst(new TcpSettings { Pacing = true });
        Assert.True(paced <= 64 * 1024 + 2 * 100, $"seed {seed}: a paced instant carried {paced} B");
        Assert.True(unpaced >= 4 * paced, $"seed {seed}: unpaced bursts {unpaced} B are not much larger than paced {paced} B");
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(5UL)]
    public void Bbr_fills_the_bottleneck_and_keeps_its_queue_small(ulong seed)
    {
        var o = Transfer(seed, Bbr, 16_000_000);
        double data = DataRate(o.Bulk.Client);
        var bbr = Assert.IsType<BbrCongestionControl>(o.Bulk.Client.CongestionControl);
        string what = $"seed {seed}: {o.BytesPerSecond:0} B/s of {data:0}, queue median {o.MedianQueueMicros} µs max {o.MaxQueueMicros} µs, " +
            $"BtlBw {bbr.BottleneckBandwidth} RTprop {bbr.RoundTripPropagation} state {bbr.State}";
        Assert.True(o.BytesPerSecond >= 0.85 * data, what);
        Assert.True(o.BytesPerSecond <= 1.01 * data, what);
        // The model: BtlBw within 10 % of the data rate, RTprop the path's 40 ms (plus at most a few ms of queue).
        Assert.InRange(bbr.BottleneckBandwidth, (long)(0.9 * data), (long)(1.1 * data));
        Assert.InRange(bbr.RoundTripPropagation, 40_000, 45_000);
        // Small queue: median under a quarter of the RTT (a loss-based sender fills the buffer it is given).
        Assert.True(o.MedianQueueMicros <= 10_000, what);
    }

    [Theory]
    [InlineData(2UL)]
    [InlineData(9UL)]
    public void Bbr_keeps_most_of_the_bandwidth_at_five_percent_random_loss(ulong seed)
    {
        var bbr = Transfer(seed, Bbr, 8_000_000, loss: 0.05);
        var cubic = Transfer(seed, new TcpSettings(), 2_000_000, loss: 0.05);
        double data = DataRate(bbr.Bulk.Client);
        string what = $"seed {seed}: BBR {bbr.BytesPerSecond:0} B/s, CUBIC {cubic.BytesPerSecond:0} B/s, data rate {data:0}";
        Assert.True(bbr.BytesPerSecond >= 0.5 * data, what);
        Assert.True(bbr.BytesPerSecond >= 3 * cubic.BytesPerSecond, what);
    }

    [Theory]
    [InlineData(4UL)]
    public void Bbr_visits_ProbeRTT_when_the_minimum_RTT_is_ten_seconds_old(ulong seed)
    {
        var o = Transfer(seed, Bbr, 30_000_000); // about 16 s at the data rate
        var bbr = Assert.IsType<BbrCongestionControl>(o.Bulk.Client.CongestionControl);
        Assert.True(bbr.ProbeRttVisits >= 1, $"seed {seed}: no ProbeRTT in {o.Bulk.CompletedAt}");
        Assert.True(o.BytesPerSecond >= 0.8 * DataRate(o.Bulk.Client), $"seed {seed}: {o.BytesPerSecond:0} B/s");
    }

    [Theory]
    [InlineData(6UL)]
    public void Two_bbr_flows_share_the_bottleneck(ulong seed)
    {
        var sim = new TcpSimulation(seed, new PathConditions(Rtt, RateBytesPerSecond: LinkRate), Bbr, new TcpSettings());
        var a = new BulkTransfer(sim, 8_000_000, port: 80);
        var b = new BulkTransfer(sim, 8_000_000, port: 81);
        var start = sim.Now;
        Assert.True(sim.Run(() => a.Complete || b.Complete, () => { a.Step(); b.Step(); }, TimeSpan.FromSeconds(600)), a.Describe());
        // When the first completes, the other has moved at least half as much data (BBRv1 converges, not exactly).
        double ratio = (double)Math.Min(a.Received, b.Received) / Math.Max(a.Received, b.Received);
        double total = (a.Received + b.Received) / (sim.Now - start).TotalSeconds;
        string what = $"seed {seed}: received {a.Received} and {b.Received}, together {total:0} B/s of {DataRate(a.Client):0}";
        Assert.True(ratio >= 0.5, what);
        Assert.True(total >= 0.8 * DataRate(a.Client), what);
    }

    private const long GigabitRate = 125_000_000; // bytes per second: a 1 Gbit/s LAN as over netstackd's TAP

    private sealed record LanOutcome(double Goodput, double DataRate, BbrCongestionControl Bbr, TcpConnection Client, string What);

    /// <summary>BBR sends <paramref name="size"/> bytes over a 1 Gbit/s, 200 µs path set up by <paramref name="sim"/>'s caller.</summary>
    private static LanOutcome LanTransfer(TcpSimulation sim, int size)
    {
        var bulk = new BulkTransfer(sim, size);
        var start = sim.Now;
        Assert.True(bulk.Run(TimeSpan.FromSeconds(600)), bulk.Describe());
        Assert.True(bulk.Intact, bulk.Describe());
        double seconds = (bulk.CompletedAt!.Value - start).TotalSeconds;
        double goodput = size / seconds;
        double data = GigabitRate * (double)bulk.Client.SendMss / (bulk.Client.SendMss + 32 + 40);
        var bbr = Assert.IsType<BbrCongestionControl>(bulk.Client.CongestionControl);
        string what = $"seed {sim.Seed}: {goodput:0} B/s of {data:0} ({seconds:0.000} virtual s), BtlBw {bbr.BottleneckBandwidth}, " +
            $"RTprop {bbr.RoundTripPropagation} µs, ACK-aggregation allowance {bbr.AckAggregationAllowance} B, cwnd {bbr.Window}, " +
            $"{bulk.Client.Retransmissions} retransmissions, state {bbr.State}";
        return new LanOutcome(goodput, data, bbr, bulk.Client, what);
    }

    [Theory]
    [InlineData(21UL)]
    [InlineData(22UL)]
    [InlineData(23UL)]
    public void Bbr_keeps_its_rate_at_five_percent_loss_when_timers_wake_late(ulong seed)
    {
        // A LAN as over netstackd's TAP: 1 Gbit/s, 200 µs RTT, 5 % random loss both ways, and timers that fire 50 µs
        // late (a poll() loop's timer slack). At this loss BBR is in fast recovery nearly all the time. Before, new data
        // in recovery went one paced segment at a time (a gap of ~12 µs each, then a timer 50 µs late, the lateness lost):
        // BBR sent at a fraction of its pacing rate and its bandwidth samples fell with it.
        var sim = new TcpSimulation(seed, new PathConditions(TimeSpan.FromMicroseconds(200), Loss: 0.05, RateBytesPerSecond: GigabitRate), Bbr, new TcpSettings())
        {
            TimerSlackMicros = 50,
        };
        var r = LanTransfer(sim, 30_000_000);
        Assert.True(r.Goodput >= 0.7 * r.DataRate, r.What);
        // RTprop the path's 200 µs (plus serialisation and a little queue), not the 0 ms of a 1 ms TSecr sample taken
        // from an ACK that covered retransmitted segments only (it was 1 µs after clamping).
        Assert.InRange(r.Bbr.RoundTripPropagation, 200, 400);
    }

    [Fact]
    public void Bbr_keeps_the_pipe_full_when_the_receiver_acknowledges_in_bursts()
    {
        // 1 Gbit/s, 200 µs RTT, and a receiver whose ACKs wait up to 4 ms for a newer one (a busy receiver behind GRO, or
        // the kernel's srtt of 2-10 ms seen over the lossy relay): the pipe stays full only with about rate x (RTT + 4 ms)
        // = 525 kB in flight, where 2 x BDP + 3 send quanta is ~240 kB. tcp_bbr.c's ACK-aggregation allowance adds what
        // the ACKs delivered beyond BtlBw's account; without it BBR sent at 62 % of the data rate here, with it 98 %.
        // No loss, reordering or duplication: the seed does not change the outcome.
        var receiver = new TcpSettings { ReceiveBufferSize = 4 << 20 };
        var sim = new TcpSimulation(31, new PathConditions(TimeSpan.FromMicroseconds(200), RateBytesPerSecond: GigabitRate), Bbr, receiver)
        {
            AckHoldMicros = 4_000,
        };
        var r = LanTransfer(sim, 60_000_000);
        output.WriteLine(r.What);
        Assert.True(r.Goodput >= 0.75 * r.DataRate, r.What);
        // No loss on this path: at most a tail loss probe or two, sent while the last ACK waited (RFC 8985 §7).
        Assert.True(r.Client.Retransmissions <= 2, r.What);
        Assert.True(r.Bbr.AckAggregationAllowance > 0, r.What);
    }
}
