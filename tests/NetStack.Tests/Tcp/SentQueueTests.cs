using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>The per-segment send record RACK reads (RFC 8985 §5.2) and the lost-octet count RFC 6675 pipe subtracts.</summary>
public sealed class SentQueueTests
{
    private static readonly Instant T = Instant.FromSeconds(1);

    private static SentQueue Three()
    {
        var q = new SentQueue(4, 64);
        for (uint i = 0; i < 3; i++) q.Append(new SeqNumber(1000 + 100 * i), new SeqNumber(1100 + 100 * i), T, 7);
        return q;
    }

    [Fact]
    public void Lost_octets_follow_marking_retransmission_SACK_and_cumulative_ACK()
    {
        var q = Three();
        Assert.True(q.MarkLost(0));
        Assert.True(q.MarkLost(1));
        Assert.False(q.MarkLost(1)); // already lost
        Assert.Equal(200, q.LostBytes);
        q.MarkRetransmitted(0, T, 8);
        Assert.Equal(100, q.LostBytes);
        Assert.True(q[0].Retransmitted);
        q.AckTo(new SeqNumber(1150));   // half of the lost record 1
        Assert.Equal(50, q.LostBytes);
        Assert.Equal(new SeqNumber(1150), q[0].Start);
        q.MarkSacked(0);
        Assert.Equal(0, q.LostBytes);
        Assert.Equal(-1, q.FirstLost());
    }

    [Fact]
    public void Splitting_keeps_the_lost_octets_and_reports_when_nothing_was_split()
    {
        var q = Three();
        q.MarkLost(2);
        Assert.False(q.Split(2, new SeqNumber(1200))); // at the start: nothing to split
        Assert.False(q.Split(3, new SeqNumber(1250))); // past the last record
        Assert.True(q.Split(2, new SeqNumber(1250)));
        Assert.Equal(4, q.Count);
        Assert.Equal(100, q.LostBytes);
        q.MarkRetransmitted(2, T, 9);
        Assert.Equal(50, q.LostBytes);
        Assert.Equal(3, q.FirstLost());
    }

    [Fact]
    public void A_full_queue_joins_new_data_to_the_last_record()
    {
        // Bounded: 4 records at most; the fifth transmission extends the fourth (with the later transmit time).
        var q = new SentQueue(4, 4);
        for (uint i = 0; i < 5; i++) q.Append(new SeqNumber(100 * i), new SeqNumber(100 * i + 100), T + TimeSpan.FromMilliseconds(i), 1);
        Assert.Equal(4, q.Count);
        Assert.Equal(new SeqNumber(500), q[3].End);
        Assert.Equal(T + TimeSpan.FromMilliseconds(4), q[3].XmitTs);
    }

    [Theory]
    [InlineData(CongestionAlgorithm.Bbr, true)]
    [InlineData(CongestionAlgorithm.Cubic, false)]
    [InlineData(CongestionAlgorithm.NewReno, false)]
    public void Records_are_stamped_for_rate_samples_only_when_the_controller_reads_them(CongestionAlgorithm algorithm, bool stamped)
    {
        // ICongestionControl.UsesRateSamples is the one source: the queue asks the controller it feeds.
        var q = new SentQueue(4, 64) { Controller = CongestionControlFactory.Create(algorithm) };
        Assert.Equal(stamped, q.StampRates);
        for (uint i = 0; i < 3; i++) q.Append(new SeqNumber(1000 + 100 * i), new SeqNumber(1100 + 100 * i), T, 7);
        q.MarkRetransmitted(1, T + TimeSpan.FromMilliseconds(10), 8);
        for (int i = 0; i < q.Count; i++) Assert.Equal(stamped, q[i].TxStamped);
    }

    [Fact]
    public void A_queue_without_a_controller_stamps_nothing_and_follows_a_controller_change()
    {
        var q = new SentQueue(4, 64);
        q.Append(new SeqNumber(1000), new SeqNumber(1100), T, 7);
        Assert.False(q[0].TxStamped);
        q.Controller = CongestionControlFactory.Create(CongestionAlgorithm.Bbr); // the connection switched to BBR
        q.Append(new SeqNumber(1100), new SeqNumber(1200), T, 7);
        Assert.True(q[1].TxStamped);
        q.Controller = CongestionControlFactory.Create(CongestionAlgorithm.Cubic); // and back
        q.MarkRetransmitted(0, T + TimeSpan.FromMilliseconds(10), 8);
        q.Append(new SeqNumber(1200), new SeqNumber(1300), T, 7);
        Assert.False(q[0].TxStamped);
        Assert.False(q[2].TxStamped);
    }
}
