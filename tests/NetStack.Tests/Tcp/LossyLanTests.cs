using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// The loss recovery rules that keep random loss on a LAN from ending in retransmission timeouts (bench/tcp/lossy.sh:
/// 5 % loss both ways, where every RTO costs at least 200 ms, thousands of round trips), segment by segment. As in
/// <see cref="RackTests"/>, every connection has a 100 ms round trip: SRTT = 100 ms, RTTVAR = 50 ms, RTO = 300 ms,
/// PTO = 2·SRTT = 200 ms.
/// </summary>
public sealed class LossyLanTests
{
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan OneMicro = TimeSpan.FromTicks(10);
    private const int Seg = 1448; // MSS 1460 less the timestamps option

    private static (TcpBench B, TcpConnection C) Connected(IpVersion family, TcpSettings? settings = null) =>
        TcpBench.Established(Rtt, family, settings);

    private static TcpSackBlocks Sack(SeqNumber left, SeqNumber right) => TcpBench.Sack(left, right);

    private static List<SentSegment> Data(TcpBench b) => b.TakeData();

    [Theory, BothFamilies]
    public void In_fast_recovery_a_lost_retransmission_with_nothing_after_it_is_probed_after_PTO_not_left_to_the_RTO(IpVersion family)
    {
        // RFC 8985 §6.2: RACK finds a lost retransmission only when a segment sent after it is delivered; with nothing
        // more to send, nothing is. The recovery probe (TcpConnection.RecoveryTailStalled): after PTO = 2·SRTT the first
        // hole is retransmitted again, regardless of cwnd (RFC 6675 §5 step 4.2), a third of the RTO earlier.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg * 4]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(4, s.Count);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[3].Seq + Seg));
        var rtx = Assert.Single(Data(b)); // three SACKed, no reordering seen: reo_wnd = 0, the fast retransmit at once
        Assert.Equal(s[0].Seq, rtx.Seq);
        var sentAt = b.Now;
        // The retransmission is lost; no ACK comes.
        b.Advance(2 * Rtt - OneMicro);
        Assert.Empty(Data(b));
        b.Advance(OneMicro);
        var probe = Assert.Single(Data(b));
        Assert.Equal(s[0].Seq, probe.Seq);
        Assert.Equal(sentAt + 2 * Rtt, b.Now);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        // It arrives: everything is acknowledged, recovery ends, no RTO ever fires.
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[3].Seq + Seg);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(2));
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.Equal(0, c.SendQueueLength);
    }

    [Theory, BothFamilies]
    public void In_fast_recovery_a_stalled_tail_is_probed_with_new_data_whose_SACK_lets_RACK_find_the_lost_retransmission(IpVersion family)
    {
        // With new data queued the recovery probe is a new segment (RFC 8985 §7.3's first choice): its SACK is a delivery
        // sent after the lost retransmission, so RACK deems that lost (RFC 8985 §6.2 step 5) and it is resent.
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, Congestion = CongestionAlgorithm.NewReno, TailLossProbeSegments = 1 });
        c.Send(new byte[Seg * 4]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(4, s.Count);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, s[3].Seq + Seg));
        Assert.Equal(s[0].Seq, Assert.Single(Data(b)).Seq);
        c.Send(new byte[Seg * 4]); // more data now: PRR lets at most one segment of it out (cwnd = pipe + sndcnt), then no ACK comes
        b.Poll();
        var more = Data(b);
        Assert.True(more.Count <= 1);
        var next = more.Count == 0 ? s[3].Seq + Seg : more[0].Seq + Seg;
        b.Advance(2 * Rtt);
        var probe = Assert.Single(Data(b));
        Assert.Equal(next, probe.Seq); // new data
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[0].Seq, sack: Sack(s[1].Seq, probe.Seq + Seg));
        b.Advance(Rtt / 4);
        Assert.Contains(Data(b), x => x.Seq == s[0].Seq);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
    }

    [Theory, BothFamilies]
    public void An_unanswered_probe_of_new_data_is_followed_by_a_second_probe_before_the_RTO(IpVersion family)
    {
        // RFC 8985 §7.3 probes with new data; a receiver may delay its ACK of that one segment (RFC 9293 §3.8.6.3), and
        // when the probe or that ACK is lost the RFC leaves the tail to the RTO. One PTO plus the peer's delayed ACK
        // (40 ms) after the probe, still before the RTO, the last segment goes again (the original TLP probe): a
        // duplicate is acknowledged at once (RFC 5681 §4.2).
        var (b, c) = Connected(family, new TcpSettings { SendBufferSize = 1 << 20, TailLossProbeSegments = 1 }); // the RFC's one-segment probe
        c.Send(new byte[Seg * 12]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(10, s.Count); // initial window
        b.Advance(2 * Rtt);
        var probe = Assert.Single(Data(b));
        Assert.Equal(s[9].Seq + Seg, probe.Seq);
        var probedAt = b.Now;
        b.Advance(2 * Rtt + TimeSpan.FromMilliseconds(40) - OneMicro);
        Assert.Empty(Data(b));
        b.Advance(OneMicro);
        var second = Assert.Single(Data(b));
        Assert.Equal(probe.Seq, second.Seq); // the last segment again
        Assert.Equal(2, b.Layer.Stats.TailLossProbes);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        // Nothing answers either: the RTO, re-armed by the first probe (RFC 8985 §7.3), fires 300 ms after it; no third probe.
        b.Advance(probedAt + TimeSpan.FromMilliseconds(300) - b.Now - OneMicro);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        b.Advance(OneMicro);
        Assert.Equal(1, b.Layer.Stats.Timeouts);
        Assert.Equal(s[0].Seq, Data(b)[0].Seq);
        Assert.Equal(2, b.Layer.Stats.TailLossProbes);
    }

    [Theory, BothFamilies]
    public void A_probe_that_retransmits_gets_no_second_probe(IpVersion family)
    {
        // With nothing new to send the first probe is already the last segment again (RFC 8985 §7.3): one probe, then the RTO.
        var (b, c) = Connected(family);
        c.Send(new byte[Seg * 3]);
        b.Poll();
        var s = Data(b);
        b.Advance(2 * Rtt);
        Assert.Equal(s[2].Seq, Assert.Single(Data(b)).Seq);
        b.RunUntil(b.Now + TimeSpan.FromMilliseconds(299));
        Assert.Empty(Data(b));
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        b.RunUntil(b.Now + TimeSpan.FromMilliseconds(2));
        Assert.Equal(1, b.Layer.Stats.Timeouts);
    }

    [Theory, BothFamilies]
    public void A_probe_of_new_data_is_two_segments_so_that_a_delaying_receiver_acknowledges_it_at_once(IpVersion family)
    {
        // TcpSettings.TailLossProbeSegments = 2 (the default): after a lost ACK of the whole flight, a lone new segment
        // would wait for the receiver's delayed ACK (RFC 9293 §3.8.6.3, 40 ms or more); a second full segment must be
        // acknowledged at once (RFC 5681 §4.2). cwnd does not apply to the probe (RFC 8985 §7.3); the RTO is re-armed.
        var (b, c) = Connected(family);
        int seg = c.SendMss;
        c.Send(new byte[seg * 12]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(10, s.Count); // initial window
        b.Advance(2 * Rtt);
        var probe = Data(b);
        Assert.Equal(2, probe.Count);
        Assert.Equal(s[9].Seq + seg, probe[0].Seq);
        Assert.Equal(probe[0].Seq + seg, probe[1].Seq);
        Assert.All(probe, p => Assert.Equal(seg, p.Payload.Length));
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        Assert.Equal(0, c.Retransmissions);
        // Everything arrived, the ACK for the probe comes one RTT later: no retransmission, no RTO.
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: probe[1].Seq + seg);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(2));
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.Equal(0, c.Retransmissions);
    }

    [Theory, BothFamilies]
    public void A_probe_sends_one_segment_when_only_one_is_queued(IpVersion family)
    {
        var (b, c) = Connected(family);
        int seg = c.SendMss;
        c.Send(new byte[seg * 11]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(10, s.Count);
        b.Advance(2 * Rtt);
        var probe = Assert.Single(Data(b));
        Assert.Equal(s[9].Seq + seg, probe.Seq);
    }

    [Theory, BothFamilies]
    public void On_a_sub_millisecond_LAN_the_first_probe_goes_at_the_1_ms_floor(IpVersion family)
    {
        // RTT 0.1 ms: 2·SRTT is below TcpSettings.TailLossProbeMinimum (1 ms, QUIC's kGranularity, RFC 9002 §6.1.2), so the
        // probe after a lost ACK of a whole flight goes 1 ms after the flight, not 2·SRTT (a spurious probe then) nor the
        // former 2 ms: on a lossy LAN each such loss costs the floor (bench/README.md, "Loss recovery on a lossy LAN").
        var b = new TcpBench(new TcpSettings { SendBufferSize = 1 << 20 }, family: family);
        var c = b.Accept(handshakeRtt: TimeSpan.FromMicroseconds(100));
        Assert.True(c.SmoothedRtt < TimeSpan.FromMilliseconds(0.5), $"SRTT {c.SmoothedRtt}"); // (timestamps count milliseconds: 0 here)
        Assert.Equal(TimeSpan.FromMilliseconds(1), new TcpSettings().TailLossProbeMinimum);
        int seg = c.SendMss;
        c.Send(new byte[seg * 12]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(10, s.Count);
        var start = b.Now;
        b.RunUntil(start + TimeSpan.FromMilliseconds(1) - OneMicro);
        Assert.Empty(Data(b));
        b.RunUntil(start + TimeSpan.FromMilliseconds(1));
        var probe = Data(b);
        Assert.Equal(2, probe.Count); // two new segments (TailLossProbeSegments)
        Assert.Equal(s[9].Seq + seg, probe[0].Seq);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
    }

    [Theory, BothFamilies]
    public void On_a_LAN_unanswered_probes_are_repeated_with_exponential_backoff_before_the_RTO(IpVersion family)
    {
        // RTT 1 ms: PTO = 2·SRTT = 2 ms (above TcpSettings.TailLossProbeMinimum), RTO = 200 ms (the minimum). The first probe is
        // two new segments; when nothing at all answers (the probe or its ACK lost, one in ten at 5 % loss each way), further
        // probes retransmit the last segment after PTO, then 2·PTO, 4·PTO... (RFC 9002 §6.2.1's backoff) while that is still
        // before the RTO (TcpSettings.MaxTailLossProbes): one answered probe then saves the 200 ms and the cwnd collapse.
        var (b, c) = TcpBench.Established(TimeSpan.FromMilliseconds(1), family);
        int seg = c.SendMss;
        c.Send(new byte[seg * 12]);
        b.Poll();
        var s = Data(b);
        Assert.Equal(10, s.Count);
        var start = b.Now;
        var probes = new List<(Instant At, List<SentSegment> Segments)>();
        while (b.Now < start + TimeSpan.FromMilliseconds(150))
        {
            b.RunUntil(Instant.Min(b.Layer.NextDeadline, start + TimeSpan.FromMilliseconds(150)));
            var sent = Data(b);
            if (sent.Count > 0) probes.Add((b.Now, sent));
        }
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.True(probes.Count >= 6, $"{probes.Count} probes in 150 ms: {string.Join(", ", probes.Select(p => (p.At - start).TotalMilliseconds))}");
        Assert.Equal(start + TimeSpan.FromMilliseconds(2), probes[0].At);
        Assert.Equal(2, probes[0].Segments.Count); // new data
        var last = probes[0].Segments[1].Seq;
        for (int i = 1; i < probes.Count; i++)
        {
            Assert.Equal(TimeSpan.FromMilliseconds(2 << (i - 1)), probes[i].At - probes[i - 1].At);
            Assert.Equal(last, Assert.Single(probes[i].Segments).Seq); // the last segment again
        }
        // The latest probe is answered: everything arrived, no RTO ever fires.
        b.PeerSends(TcpFlags.Ack, ack: last + seg);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(2));
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        Assert.Equal(0, c.SendQueueLength);
    }

    [Theory, BothFamilies]
    public void A_SACK_of_the_data_of_the_FIN_segment_is_a_delivery_that_lets_RACK_find_the_hole_before_it(IpVersion family)
    {
        // A SACK block covers data (RFC 2018 §3; our receiver leaves the FIN's octet out, Linux's includes it): the last
        // segment, which carries the FIN, counts as delivered when its data is SACKed, so RACK (RFC 8985 §6.2) deems the
        // unacknowledged segment before it lost after the reordering window (min_RTT / 4), not after a probe or the RTO.
        var (b, c) = Connected(family);
        int seg = c.SendMss;
        c.Send(new byte[seg * 3]);
        c.Close();
        b.Poll();
        var s = Data(b);
        Assert.Equal(3, s.Count);
        Assert.True(s[2].Has(TcpFlags.Fin));
        b.Advance(Rtt);
        b.PeerSends(TcpFlags.Ack, ack: s[1].Seq, sack: Sack(s[2].Seq, s[2].Seq + seg));
        b.Advance(Rtt / 4 + OneMicro);
        var rtx = Assert.Single(Data(b));
        Assert.Equal(s[1].Seq, rtx.Seq);
        Assert.Equal(0, b.Layer.Stats.TailLossProbes);
        Assert.Equal(0, b.Layer.Stats.Timeouts);
    }
}
