using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// RACK-TLP (RFC 8985): time-based loss detection (§6) and tail loss probes (§7), segment by segment.
/// Every connection here has a 100 ms round trip (handshake and data), so SRTT = min_RTT = 100 ms and the
/// reordering window RACK.reo_wnd = min_RTT / 4 = 25 ms.
/// </summary>
public sealed class RackTests
{
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan OneMicro = TimeSpan.FromTicks(10);
    private const int Seg = 1448; // MSS 1460 less the timestamps option

    private static (TcpBench B, TcpConnection C) Connected(IpVersion family, TcpSettings? settings = null) =>
        TcpBench.Established(Rtt, family, settings);

    private static TcpSackBlocks Sack(SeqNumber left, SeqNumber right) => TcpBench.Sack(left, right);

    private static List<SentSegment> Data(TcpBench b) => b.TakeData();

    [Theory, BothFamilies]
    public void A_lost_segment_is_retransmitted_one_reordering_window_after_a_single_SACK_not_after_three_duplicate_ACKs(IpVersion family)
    {
        // RFC 8985 §6.2 step 5: segment 0 is lost once a later-sent segment is delivered and RACK.rtt + RACK.reo_wnd
        // have passed since it was sent; one SACK is enough, no DupThresh.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg * 4]);
        b.Poll();
        var s = b.TakeSent();
        Assert.Equal(4, s.Count);
        var t0 = b.Now;
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[2].Seq));
        b.Nothing();
        b.Advance(Rtt / 4 - OneMicro);
        b.Nothing();
        b.Advance(OneMicro);
        var rtx = b.Single();
        Assert.Equal(s[0].Seq, rtx.Seq);
        Assert.Equal(Seg, rtx.Payload.Length);
        Assert.Equal(t0 + Rtt + Rtt / 4, b.Now);
        Assert.Equal(1, b.Layer.Stats.RackLosses);
        Assert.Equal(1, b.Layer.Stats.FastRetransmits);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
    }

    [Theory, BothFamilies]
    public void The_reordering_timer_fires_at_xmit_ts_plus_RACK_rtt_plus_reo_wnd(IpVersion family)
    {
        // RFC 8985 §6.2 step 6 / §6.3: a segment not yet lost by time when the ACK arrives gets a timer for when it will be.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg]);
        b.Poll();
        var s0 = b.Single();
        var t0 = b.Now;
        b.Advance(TimeSpan.FromMilliseconds(10));
        c.Send(new byte[Seg]);
        b.Poll();
        var s1 = b.Single();
        b.Advance(Rtt); // s1 SACKed 100 ms after it was sent: RACK.rtt = 100 ms
        b.PeerSends(TcpFlags.Ack, ack: s0.Seq, sack: Sack(s1.Seq, s1.Seq + Seg));
        b.Nothing();
        Assert.Equal(t0 + Rtt + Rtt / 4, b.Layer.NextDeadline); // s0.xmit_ts + RACK.rtt + RACK.reo_wnd
        b.Advance(b.Layer.NextDeadline - b.Now);
        Assert.Equal(s0.Seq, b.Single().Seq);
    }

    [Theory, BothFamilies]
    public void Reordering_within_the_reordering_window_causes_no_retransmission(IpVersion family)
    {
        // RFC 8985 §6.2 step 4-5: the late segment arrives 10 ms after the SACK, inside reo_wnd (25 ms): no loss.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg * 4]);
        b.Poll();
        var s = b.TakeSent();
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[2].Seq));
        b.Advance(TimeSpan.FromMilliseconds(10));
        b.PeerSends(TcpFlags.Ack, ack: s[2].Seq);
        b.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Empty(Data(b));
        Assert.Equal(0, b.Layer.Stats.RackLosses);
        Assert.Equal(0, c.Retransmissions);
    }

    [Theory, BothFamilies]
    public void A_lost_retransmission_is_detected_without_an_RTO(IpVersion family)
    {
        // RFC 8985 §6.2 (and its §3.3.2 example): the retransmission of segment 0 is lost as well; new data sent after it
        // is SACKed one RTT later, which proves the retransmission lost by time: it is sent again, with no timeout.
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, Congestion = CongestionAlgorithm.NewReno });
        c.Send(new byte[Seg * 6]);
        b.Poll();
        var s = b.TakeSent();
        Assert.Equal(6, s.Count);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[5].Seq + Seg)); // 5 SACKed: reo_wnd = 0
        Assert.Equal(s[0].Seq, b.Single().Seq);                                          // first retransmission (lost)
        c.Send(new byte[Seg * 2]);
        b.Poll();
        var fresh = Data(b);
        Assert.Equal(2, fresh.Count);
        Assert.Equal(s[5].Seq + Seg, fresh[0].Seq);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, fresh[1].Seq + Seg));
        var again = Data(b);
        Assert.Equal(s[0].Seq, Assert.Single(again).Seq);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.Equal(2, c.Retransmissions);
    }

    [Theory, BothFamilies]
    public void A_DSACK_widens_the_reordering_window(IpVersion family)
    {
        // RFC 8985 §6.2 step 4 (RFC 2883 D-SACK: a first SACK block below the cumulative ACK): reo_wnd_mult becomes 2,
        // so reo_wnd = 2 · min_RTT / 4 = 50 ms.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg]);
        b.Poll();
        var a = b.Single();
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: a.Seq + Seg, sack: Sack(a.Seq, a.Seq + Seg));
        Assert.Equal(1, b.Layer.Stats.DsacksReceived);
        c.Send(new byte[Seg * 2]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(2, s.Count);
        var t1 = b.Now;
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[1].Seq + Seg));
        Assert.Equal(t1 + Rtt + Rtt / 2, b.Layer.NextDeadline);
        b.Advance(Rtt / 2 - OneMicro);
        Assert.Empty(Data(b));
        b.Advance(OneMicro);
        Assert.Equal(s[0].Seq, Assert.Single(Data(b)).Seq);
    }

    [Theory, BothFamilies]
    public void Tail_loss_of_the_last_segment_is_repaired_by_a_probe_not_an_RTO(IpVersion family)
    {
        // RFC 8985 §7.2-7.3: the last segment is lost and nothing follows it; the probe timeout (capped at the RTO
        // expiry) retransmits it, the peer acknowledges it, and no retransmission timeout happens.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg * 3]);
        b.Poll();
        var s = b.TakeSent();
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[2].Seq);
        b.Nothing();
        b.Advance(b.Layer.NextDeadline - b.Now);
        var probe = b.Single();
        Assert.Equal(s[2].Seq, probe.Seq);
        Assert.Equal(Seg, probe.Payload.Length);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[2].Seq + Seg);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(5));
        Assert.Empty(Data(b));
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.Equal(0, c.SendQueueLength);
    }

    [Theory, BothFamilies]
    public void A_probe_sends_new_data_when_there_is_some_and_the_receive_window_allows(IpVersion family)
    {
        // RFC 8985 §7.3: the probe is a new segment if one is available (cwnd does not apply), after PTO = 2·SRTT.
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, TailLossProbeSegments = 1 }); // the RFC's one-segment probe
        c.Send(new byte[Seg * 12]);
        b.Poll();
        var s = b.TakeSent();
        Assert.Equal(10, s.Count); // initial window
        var t0 = b.Now;
        Assert.Equal(t0 + 2 * Rtt, b.Layer.NextDeadline);
        b.Advance(2 * Rtt);
        var probe = b.Single();
        Assert.Equal(s[9].Seq + Seg, probe.Seq);
        Assert.Equal(0, c.Retransmissions);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
    }

    [Theory, BothFamilies]
    public void Without_RACK_one_SACK_is_not_enough_and_DupThresh_applies(IpVersion family)
    {
        // TcpSettings.Rack = false: RFC 6675 §5 / RFC 5681 §3.2, three duplicate ACKs (or DupThresh SACKed segments).
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, Rack = false });
        c.Send(new byte[Seg * 4]);
        b.Poll();
        var s = b.TakeSent();
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[2].Seq));
        b.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Empty(Data(b));
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[3].Seq));
        Assert.Empty(Data(b));
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[3].Seq + Seg));
        Assert.Equal(s[0].Seq, Assert.Single(Data(b)).Seq);
        Assert.Equal(0, b.Layer.Stats.RackLosses);
    }

    [Theory, BothFamilies]
    public void An_RTO_marks_the_first_segment_lost_and_leaves_a_recently_sent_one_in_flight(IpVersion family)
    {
        // RFC 8985 §6.3: on RTO, SND.UNA's segment is lost; another only when RACK.rtt + reo_wnd passed since it was sent.
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, Congestion = CongestionAlgorithm.NewReno });
        c.Send(new byte[Seg]);
        b.Poll();
        var w = b.Single();
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: w.Seq + Seg); // RACK.rtt = 100 ms
        c.Send(new byte[Seg]);
        b.Poll();
        var s0 = b.Single();
        b.Advance(b.Layer.NextDeadline - b.Now);
        Assert.Equal(s0.Seq, b.Single().Seq); // the tail loss probe (lost too)
        var rtoAt = b.Layer.NextDeadline;
        b.Advance(rtoAt - b.Now - TimeSpan.FromMilliseconds(40));
        c.Send(new byte[Seg]);
        b.Poll();
        var s1 = b.Single();
        b.Advance(rtoAt - b.Now);
        Assert.Equal(1, b.Layer.Stats.Timeouts);
        Assert.Equal(s0.Seq, Assert.Single(Data(b)).Seq); // s1, sent 40 ms ago, stays in flight
        Assert.NotEqual(s0.Seq, s1.Seq);
    }
}
