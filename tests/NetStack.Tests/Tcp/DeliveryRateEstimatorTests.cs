using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02, Linux tcp_rate.c) on the sent queue's
/// per-segment snapshots: samples computed by hand.
/// </summary>
public sealed class DeliveryRateEstimatorTests
{
    private static Instant Ms(double ms) => new((long)(ms * 1000));
    private static SeqNumber S(int i) => new((uint)(1000 + 1000 * i));

    /// <summary>A queue feeding a controller that reads rate samples (BBR), so that its records are stamped.</summary>
    private static SentQueue RateQueue() => new(16, 64) { Controller = CongestionControlFactory.Create(CongestionAlgorithm.Bbr) };

    /// <summary>Segment i is [1000+1000i, 2000+1000i); sent at <paramref name="at"/>.</summary>
    private static void Send(SentQueue q, int i, Instant at) => q.Append(S(i), S(i + 1), at, 0);

    /// <summary>A cumulative ACK of segments [0, upTo) as the connection reports it: deliveries, then the sample.</summary>
    private static RateSample AckTo(SentQueue q, int upTo, Instant now, long minRtt = 0)
    {
        long bytes = 0;
        for (int i = 0; i < q.Count && q[i].End <= S(upTo); i++)
        {
            if (q[i].Sacked) continue;
            q.Rate.OnDelivered(q[i]);
            bytes += q[i].Length;
        }
        q.AckTo(S(upTo));
        return q.Rate.GenerateSample(bytes, now, minRtt);
    }

    [Fact]
    public void Steady_flight_gives_the_delivered_bytes_over_the_longer_of_send_and_ACK_phases()
    {
        var q = RateQueue();
        for (int i = 0; i < 10; i++) Send(q, i, Ms(i)); // 10 x 1000 B, 1 ms apart, from idle
        // First ACK (segment 0) at 100 ms: delivered 1000 since the snapshot (0 B at 0 ms); send phase 0, ACK phase 100 ms.
        var rs = AckTo(q, 1, Ms(100));
        Assert.True(rs.IsValid);
        Assert.Equal(1000, rs.Delivered);
        Assert.Equal(0, rs.SendIntervalMicros);
        Assert.Equal(100_000, rs.AckIntervalMicros);
        Assert.Equal(10_000, rs.BytesPerSecond);
        // Segment 1 at 101 ms: its snapshot is still the idle start; 2000 B over max(1 ms, 101 ms).
        rs = AckTo(q, 2, Ms(101));
        Assert.Equal(2000, rs.Delivered);
        Assert.Equal(1000, rs.SendIntervalMicros);
        Assert.Equal(101_000, rs.IntervalMicros);
        // Segment 10 goes now (101 ms): snapshot delivered 2000 B at 101 ms, first_sent = segment 1's send (1 ms).
        Send(q, 10, Ms(101));
        Assert.Equal(2000, q[q.Count - 1].TxDelivered);
        Assert.Equal(Ms(101), q[q.Count - 1].TxDeliveredTime);
        Assert.Equal(Ms(1), q[q.Count - 1].TxFirstSentTime);
        for (int i = 3; i <= 10; i++) AckTo(q, i, Ms(100 + i - 1)); // segments 2..9 at 102..109 ms
        // Segment 10 ACKed at 201 ms: 11000 - 2000 = 9000 B over max(101 - 1, 201 - 101) = 100 ms = 90 kB/s.
        rs = AckTo(q, 11, Ms(201));
        Assert.True(rs.IsValid);
        Assert.Equal(9000, rs.Delivered);
        Assert.Equal(100_000, rs.SendIntervalMicros);
        Assert.Equal(100_000, rs.AckIntervalMicros);
        Assert.Equal(90_000, rs.BytesPerSecond);
        Assert.Equal(11_000, q.Rate.Delivered);
        Assert.Equal(Ms(201), q.Rate.DeliveredTime);
    }

    [Fact]
    public void SACKed_segments_count_once_and_the_most_recently_sent_gives_the_snapshot()
    {
        var q = RateQueue();
        for (int i = 0; i < 4; i++) Send(q, i, Ms(i));
        // An ACK SACKing segments 2 and 3 at 50 ms (segment 0 and 1 outstanding): 2000 B delivered, snapshot of
        // segment 3 (the latest sent): delivered 0 at 0 ms, send phase 3 ms, ACK phase 50 ms.
        q.Rate.OnDelivered(q[3]);
        q.MarkSacked(3);
        q.Rate.OnDelivered(q[2]); // reported out of order: segment 3 still wins (later send)
        q.MarkSacked(2);
        var rs = q.Rate.GenerateSample(2000, Ms(50), 0);
        Assert.Equal(2000, rs.Delivered);
        Assert.Equal(3000, rs.SendIntervalMicros);
        Assert.Equal(50_000, rs.IntervalMicros);
        // The cumulative ACK of all four at 60 ms delivers only 0 and 1 (2 and 3 were SACKed): 4000 B since segment 1's
        // snapshot (0 B at 0 ms), over max(1 ms, 60 ms).
        rs = AckTo(q, 4, Ms(60));
        Assert.Equal(2000, rs.AckedSacked);
        Assert.Equal(4000, rs.Delivered);
        Assert.Equal(60_000, rs.IntervalMicros);
        Assert.Equal(4000, q.Rate.Delivered);
    }

    [Fact]
    public void A_retransmission_takes_a_fresh_snapshot()
    {
        var q = RateQueue();
        for (int i = 0; i < 3; i++) Send(q, i, Ms(i));
        q.Rate.OnDelivered(q[2]); q.MarkSacked(2);
        q.Rate.GenerateSample(1000, Ms(40), 0);      // delivered 1000 at 40 ms
        q.MarkRetransmitted(0, Ms(45), 0);           // snapshot: 1000 B at 40 ms, first_sent = segment 2's send (2 ms)
        Assert.Equal(1000, q[0].TxDelivered);
        Assert.Equal(Ms(40), q[0].TxDeliveredTime);
        Assert.Equal(Ms(2), q[0].TxFirstSentTime);
        // The ACK of 0 and 1 at 85 ms: the retransmitted 0 was sent last (45 ms): 3000 - 1000 B over max(43, 45) ms.
        var rs = AckTo(q, 3, Ms(85));
        Assert.True(rs.IsRetransmission);
        Assert.Equal(2000, rs.Delivered);
        Assert.Equal(43_000, rs.SendIntervalMicros);
        Assert.Equal(45_000, rs.IntervalMicros);
    }

    [Fact]
    public void Intervals_shorter_than_the_minimum_RTT_give_no_sample()
    {
        var q = RateQueue();
        Send(q, 0, Ms(0));
        var rs = AckTo(q, 1, Ms(5), minRtt: 10_000);
        Assert.False(rs.IsValid);
        Assert.Equal(0, rs.BytesPerSecond);
        Assert.Equal(1000, rs.AckedSacked);
        Assert.Equal(1000, q.Rate.Delivered); // still counted as delivered
        Assert.False(q.Rate.LastSample.IsValid);
    }

    [Fact]
    public void App_limited_marks_the_flight_until_it_is_delivered()
    {
        var q = RateQueue();
        Send(q, 0, Ms(0));
        Send(q, 1, Ms(0));
        q.Rate.MarkAppLimited(2000); // ran out of data with 2000 B in flight: bubble until delivered > 2000
        Assert.Equal(2000, q.Rate.AppLimitedUntil);
        Send(q, 2, Ms(1));
        Assert.False(q[0].TxAppLimited);
        Assert.True(q[2].TxAppLimited);
        Assert.False(AckTo(q, 2, Ms(50)).IsAppLimited); // segment 1 was sent before the mark
        Assert.Equal(2000, q.Rate.AppLimitedUntil);    // delivered 2000: not past the mark yet
        var rs = AckTo(q, 3, Ms(51));
        Assert.True(rs.IsAppLimited);                  // segment 2 was sent inside the bubble
        Assert.Equal(0, q.Rate.AppLimitedUntil);       // 3000 > 2000: the bubble is gone
        Send(q, 3, Ms(52));
        Assert.False(q[0].TxAppLimited);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(7UL)]
    public void A_bulk_transfer_measures_the_bottleneck_rate(ulong seed)
    {
        // 2 MB/s bottleneck (wire bytes incl. 40 B of IP and framing per packet), 20 ms RTT. The data rate is
        // rate x payload / wire packet: the samples of a busy flight must come within 10 % of it, never above by more
        // than 2 % (the estimator's max(send, ACK) interval bounds it from above).
        const long rate = 2_000_000;
        // The estimator runs for a controller that reads its samples (ICongestionControl.UsesRateSamples): BBR.
        var sim = new TcpSimulation(seed, new PathConditions(TimeSpan.FromMilliseconds(20), RateBytesPerSecond: rate),
            new TcpSettings { Congestion = CongestionAlgorithm.Bbr });
        var bulk = new BulkTransfer(sim, 4_000_000);
        long best = 0;
        int samples = 0;
        bulk.Observe = () =>
        {
            var rs = bulk.Client.LastRateSample;
            if (!rs.IsValid || rs.IsAppLimited) return;
            samples++;
            best = Math.Max(best, rs.BytesPerSecond);
        };
        Assert.True(bulk.Run(TimeSpan.FromSeconds(60)), bulk.Describe());
        Assert.True(bulk.Intact, bulk.Describe());
        int mss = bulk.Client.SendMss;
        double dataRate = rate * (double)mss / (mss + 32 + 40); // TCP header with timestamps: 32 B
        Assert.True(samples > 100, $"seed {seed}: only {samples} samples");
        Assert.True(best <= dataRate * 1.02, $"seed {seed}: best sample {best} B/s above the data rate {dataRate:0}");
        Assert.True(best >= dataRate * 0.9, $"seed {seed}: best sample {best} B/s under 90 % of the data rate {dataRate:0}");
    }

    [Theory]
    [InlineData(CongestionAlgorithm.Bbr, true)]
    [InlineData(CongestionAlgorithm.Cubic, false)]
    public void A_connection_takes_rate_samples_only_for_a_controller_that_reads_them(CongestionAlgorithm algorithm, bool samples)
    {
        // The connection hands its controller to the sent queue; the queue stamps (and so samples) only for BBR.
        var sim = new TcpSimulation(3, new PathConditions(TimeSpan.FromMilliseconds(10), RateBytesPerSecond: 2_000_000),
            new TcpSettings { Congestion = algorithm });
        var bulk = new BulkTransfer(sim, 300_000);
        int valid = 0;
        bulk.Observe = () => { if (bulk.Client.LastRateSample.IsValid) valid++; };
        Assert.True(bulk.Run(TimeSpan.FromSeconds(60)), bulk.Describe());
        Assert.True(bulk.Intact, bulk.Describe());
        if (samples) Assert.True(valid > 0, $"{algorithm}: no rate sample");
        else Assert.Equal(0, valid);
    }
}
