using NetStack.Transport.Tcp;

namespace NetStack.Tests.Tcp;

/// <summary>The PRR arithmetic of RFC 9937 §6 on its own (bytes, integers), apart from any connection.</summary>
public sealed class ProportionalRateReductionTests
{
    private const int Smss = 1000;

    [Fact]
    public void The_proportional_part_rounds_up_and_subtracts_what_was_sent()
    {
        // RFC 9937 §6.2: sndcnt = CEIL(prr_delivered · ssthresh / RecoverFS) − prr_out; cwnd = pipe + sndcnt.
        var prr = new ProportionalRateReduction(PrrReductionBound.Rfc9937);
        prr.Start(recoverFs: 10 * Smss, ssthresh: 7 * Smss, Smss);
        Assert.Equal(15_000 + 700, prr.OnAck(1000, pipe: 15_000, safeAck: false, Smss, first: true));
        prr.OnSent(700);
        Assert.Equal(14_000 + 1, prr.OnAck(1, pipe: 14_000, safeAck: false, Smss, first: false)); // CEIL(1001 · 0.7) = 701
        Assert.Equal(1001, prr.Delivered);
        Assert.Equal(700, prr.Out);
        prr.OnSent(301);
        Assert.Equal(13_000, prr.OnAck(1, pipe: 13_000, safeAck: false, Smss, first: false)); // 701 − 1001 < 0: nothing
    }

    [Fact]
    public void An_ACK_that_delivers_nothing_changes_nothing()
    {
        // RFC 9937 §6.2: "if DeliveredData is 0, return".
        var prr = new ProportionalRateReduction(PrrReductionBound.Rfc9937);
        prr.Start(10 * Smss, 5 * Smss, Smss);
        int w = prr.OnAck(2 * Smss, 8 * Smss, false, Smss, true);
        Assert.Equal(w, prr.OnAck(0, 3 * Smss, false, Smss, false));
    }

    [Fact]
    public void A_first_call_with_nothing_to_send_still_allows_the_fast_retransmit()
    {
        // RFC 9937 §6.2: prr_out = 0 and sndcnt = 0 -> sndcnt = SMSS.
        var prr = new ProportionalRateReduction(PrrReductionBound.Rfc9937);
        prr.Start(10 * Smss, 5 * Smss, Smss);
        Assert.Equal(9 * Smss + Smss, prr.OnAck(0, 9 * Smss, false, Smss, first: true));
    }

    [Theory]
    [InlineData(PrrReductionBound.Rfc9937, false, 2 * Smss)]
    [InlineData(PrrReductionBound.Rfc9937, true, 3 * Smss)]
    [InlineData(PrrReductionBound.SlowStartOnEveryAck, false, 3 * Smss)]
    public void The_reduction_bound_adds_a_segment_on_safe_ACKs_or_on_every_ACK(PrrReductionBound bound, bool safe, int sndcnt)
    {
        // pipe (2 segments) ≤ ssthresh (10): sndcnt = min(ssthresh − pipe, MAX(prr_delivered − prr_out, DeliveredData)
        // [+ SMSS]).
        var prr = new ProportionalRateReduction(bound);
        prr.Start(20 * Smss, 10 * Smss, Smss);
        Assert.Equal(2 * Smss + sndcnt, prr.OnAck(2 * Smss, 2 * Smss, safe, Smss, first: true));
    }

    [Fact]
    public void The_reduction_bound_never_lets_pipe_exceed_ssthresh()
    {
        var prr = new ProportionalRateReduction(PrrReductionBound.SlowStartOnEveryAck);
        prr.Start(20 * Smss, 10 * Smss, Smss);
        Assert.Equal(10 * Smss, prr.OnAck(8 * Smss, 9 * Smss, true, Smss, first: true));
    }

    [Fact]
    public void Without_SACK_only_one_RecoverFS_of_duplicate_ACKs_counts_as_delivered()
    {
        // RFC 9937 §6.2 estimate (one SMSS per duplicate ACK), bounded so that a receiver splitting or inventing duplicate
        // ACKs cannot clock out more than a window; the cumulative ACK then delivers what the duplicates did not cover.
        var prr = new ProportionalRateReduction(PrrReductionBound.Rfc9937);
        prr.Start(4 * Smss, 2 * Smss, Smss);
        for (int i = 0; i < 4; i++) Assert.Equal(Smss, prr.EstimateDeliveredWithoutSack(dupAck: true, 0, Smss));
        Assert.Equal(0, prr.EstimateDeliveredWithoutSack(dupAck: true, 0, Smss));
        Assert.Equal(Smss, prr.EstimateDeliveredWithoutSack(dupAck: false, acked: 5 * Smss, Smss));
    }
}
