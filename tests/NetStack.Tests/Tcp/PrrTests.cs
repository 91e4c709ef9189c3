using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Proportional Rate Reduction (RFC 9937, the Standards Track successor of RFC 6937) during fast recovery, segment by
/// segment. Every scenario starts from a flight of 20 full segments (the initial window of 10, each acknowledged
/// singly, doubles in one round trip) with a 100 ms round trip; the peer then reports what arrived, one ACK per segment.
/// </summary>
public sealed class PrrTests
{
    private static readonly TimeSpan Rtt = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan AckGap = TimeSpan.FromMilliseconds(2);
    private const int Seg = 1448; // MSS 1460 less the timestamps option
    private const int FlightSegments = 20;

    private static TcpSettings Settings(CongestionAlgorithm algorithm, bool prr = true, bool rack = true) => new()
    {
        SendBufferSize = 1 << 20, Congestion = algorithm, ProportionalRateReduction = prr, Rack = rack,
    };

    /// <summary>A connection with 20 segments in flight (and plenty more queued), all sent at the same instant.</summary>
    private static (TcpBench B, TcpConnection C, List<SentSegment> Flight) Flight(IpVersion family, TcpSettings settings)
    {
        var b = new TcpBench(settings, family: family);
        var c = b.Accept(handshakeRtt: Rtt);
        c.Send(new byte[Seg * 200]);
        b.Poll();
        var iw = Data(b);
        Assert.Equal(10, iw.Count);
        b.Advance(Rtt);
        var flight = new List<SentSegment>();
        foreach (var s in iw)
        {
            // RFC 5681 §3.1 slow start: every ACK of a full segment opens the window by one segment (and frees one).
            PeerAcks(b, s, s.Seq + Seg);
            flight.AddRange(Data(b));
        }
        Assert.Equal(FlightSegments, flight.Count);
        Assert.All(flight, s => Assert.Equal(Seg, s.Payload.Length));
        b.Advance(Rtt);
        return (b, c, flight);
    }

    /// <summary>The peer's ACK for what <paramref name="echoOf"/> brought, echoing its TSval (RFC 7323 §4.3).</summary>
    private static void PeerAcks(TcpBench b, SentSegment echoOf, SeqNumber ack, TcpSackBlocks sack = default)
    {
        b.LastOurTsVal = echoOf.Repr.Timestamps is { } ts ? ts.Value : 0;
        b.PeerSends(TcpFlags.Ack, ack: ack, sack: sack);
    }

    private static List<SentSegment> Data(TcpBench b) => b.TakeData();

    private static TcpSackBlocks Sack(SeqNumber left, SeqNumber right) => TcpBench.Sack(left, right);

    /// <summary>
    /// One loss (the first segment): the first ACK SACKs segments 1-3 (RACK then deems segment 0 lost at once, RFC 8985
    /// §6.2, and recovery starts with RecoverFS = 20 segments), each next ACK SACKs one more, up to segment 19.
    /// Returns, per ACK, the data segments it released, and the ssthresh recovery started with.
    /// </summary>
    private static (List<List<SentSegment>> PerAck, int Ssthresh) OneLoss(TcpBench b, TcpConnection c, List<SentSegment> f)
    {
        var perAck = new List<List<SentSegment>>();
        int ssthresh = 0;
        for (int last = 3; last < FlightSegments; last++)
        {
            PeerAcks(b, f[last], f[0].Seq, Sack(f[1].Seq, f[last].Seq + Seg));
            if (last == 3) ssthresh = c.SlowStartThreshold;
            perAck.Add(Data(b));
            b.Advance(AckGap);
        }
        return (perAck, ssthresh);
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.Cubic)]
    [FamilyData(CongestionAlgorithm.NewReno)]
    public void With_one_loss_the_sender_sends_ssthresh_over_RecoverFS_segments_per_segment_delivered(IpVersion family, CongestionAlgorithm algorithm)
    {
        // RFC 9937 §6.2. While pipe > ssthresh (the proportional part), prr_out, all that was sent in recovery (the fast
        // retransmit included), stays within one segment below CEIL(prr_delivered · ssthresh / RecoverFS): CUBIC
        // (β = 0.7, RFC 9438 §4.6) sends 7 segments per 10 delivered, NewReno (RFC 5681 eq. 4) 1 per 2. Once pipe has
        // fallen to ssthresh the reduction bound holds it there (pipe never above ssthresh again), so recovery ends
        // with exactly ssthresh in flight.
        var (b, c, f) = Flight(family, Settings(algorithm));
        var (perAck, ssthresh) = OneLoss(b, c, f);
        Assert.Equal(algorithm == CongestionAlgorithm.Cubic ? 14 * Seg : 10 * Seg, ssthresh);
        long recoverFs = FlightSegments * Seg; // nothing was SACKed before the ACK that started recovery
        long delivered = 0, sent = 0;
        int proportionalAcks = 0;
        for (int i = 0; i < perAck.Count; i++)
        {
            delivered += (i == 0 ? 3 : 1) * Seg;
            // pipe when the ACK arrived: the 19 segments not lost, less those delivered, plus all sent in recovery so far.
            long pipeBefore = (FlightSegments - 1) * Seg - delivered + sent;
            sent += perAck[i].Sum(s => s.Payload.Length);
            long allowed = (delivered * ssthresh + recoverFs - 1) / recoverFs;
            if (pipeBefore > ssthresh)
            {
                proportionalAcks++;
                Assert.True(sent <= Math.Max(allowed, Seg) && sent > allowed - Seg,
                    $"ACK {i}: sent {sent} bytes for {delivered} delivered, PRR allows {allowed}");
            }
            else
            {
                Assert.True((FlightSegments - 1) * Seg - delivered + sent <= ssthresh, $"ACK {i}: pipe above ssthresh");
            }
        }
        Assert.True(proportionalAcks >= perAck.Count / 2, $"only {proportionalAcks} ACKs in the proportional part");
        Assert.Equal(f[0].Seq, perAck[0][0].Seq); // the fast retransmit first (RFC 6675 NextSeg rule 1)
        // At the end: 19 delivered, pipe = 19 - 19 + sent = ssthresh.
        Assert.Equal(ssthresh / Seg, perAck.Sum(a => a.Count));
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.Cubic)]
    [FamilyData(CongestionAlgorithm.NewReno)]
    public void With_one_loss_the_sending_is_spread_over_the_recovery_with_no_burst_and_no_silence(IpVersion family, CongestionAlgorithm algorithm)
    {
        // The first example of RFC 6937 §3.1 (one loss in a flight of 20): PRR (RFC 9937) sends on most ACKs through the
        // recovery, at most 2 segments on one ACK and never more than two silent ACKs in a row, where RFC 6675 is silent
        // for the first (pipe - ssthresh) ACKs (3 for CUBIC, 7 for NewReno here: the next test).
        var (b, c, f) = Flight(family, Settings(algorithm));
        var (perAck, _) = OneLoss(b, c, f);
        Assert.All(perAck, a => Assert.True(a.Count <= 2, $"burst of {a.Count}"));
        Assert.True(LongestSilence(perAck) <= 2, $"silent for {LongestSilence(perAck)} ACKs: {Pattern(perAck)}");
        Assert.True(perAck.Count(a => a.Count > 0) >= perAck.Count / 2, Pattern(perAck));
        // The last quarter of the recovery still sends (no silence at the end either).
        Assert.True(perAck.Skip(perAck.Count * 3 / 4).Sum(a => a.Count) >= 2, Pattern(perAck));
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.Cubic, 3)]
    [FamilyData(CongestionAlgorithm.NewReno, 7)]
    public void Without_PRR_RFC_6675_is_silent_until_pipe_falls_below_ssthresh_then_sends_one_per_ACK(IpVersion family, CongestionAlgorithm algorithm, int silentAcks)
    {
        // TcpSettings.ProportionalRateReduction = false: RFC 6675 §5, cwnd = ssthresh on entry; after the fast
        // retransmit pipe is 17 segments, so nothing goes until it falls below ssthresh (CUBIC 14, NewReno 10), then one
        // segment per ACK: the behaviour before PRR.
        var (b, c, f) = Flight(family, Settings(algorithm, prr: false));
        var (perAck, ssthresh) = OneLoss(b, c, f);
        Assert.Equal(ssthresh, c.CongestionWindow);
        Assert.Equal(f[0].Seq, Assert.Single(perAck[0]).Seq);
        Assert.All(perAck.Skip(1).Take(silentAcks), a => Assert.Empty(a));
        Assert.All(perAck.Skip(1 + silentAcks), a => Assert.Single(a));
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.Cubic)]
    [FamilyData(CongestionAlgorithm.NewReno)]
    public void At_recovery_exit_cwnd_is_ssthresh_and_the_exit_ACK_releases_no_burst(IpVersion family, CongestionAlgorithm algorithm)
    {
        // RFC 9937 §6: on leaving recovery cwnd = ssthresh. PRR brought pipe close to ssthresh, so the ACK that ends
        // recovery (the retransmission arrived: everything up to the recovery point acknowledged) sends at most 2 segments.
        var (b, c, f) = Flight(family, Settings(algorithm));
        var (perAck, ssthresh) = OneLoss(b, c, f);
        int sentInRecovery = perAck.Sum(a => a.Count) - 1; // new segments (the retransmission is now acknowledged)
        PeerAcks(b, perAck[0][0], f[^1].Seq + Seg);
        var atExit = Data(b);
        Assert.Equal(ssthresh, c.SlowStartThreshold);
        Assert.Equal(ssthresh, c.CongestionWindow);
        Assert.True(atExit.Count <= 2, $"the exit ACK released {atExit.Count} segments");
        Assert.True((sentInRecovery + atExit.Count) * Seg <= ssthresh, "the flight after recovery is above ssthresh");
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.Cubic)]
    [FamilyData(CongestionAlgorithm.NewReno)]
    public void After_heavy_loss_PRR_grows_by_at_most_DeliveredData_plus_one_segment_per_ACK_not_a_burst(IpVersion family, CongestionAlgorithm algorithm)
    {
        // RFC 9937 §6.2 reduction bound, on the second example of RFC 6937 §3.1 (a burst of 15 losses in a flight of
        // 20): pipe (2 segments once 3 are SACKed) is far below ssthresh (CUBIC 14, NewReno 10). An ACK that only SACKs
        // (not safe) sends no more than it delivered (PRR-CRB, packet conservation); an ACK that advances SND.UNA with
        // no new loss may send one segment more (PRR-SSRB: slow start toward ssthresh); pipe never exceeds ssthresh.
        const int Lost = 15;
        var (b, c, f) = Flight(family, Settings(algorithm));
        PeerAcks(b, f[Lost + 2], f[0].Seq, Sack(f[Lost].Seq, f[Lost + 3].Seq));
        int ssthresh = c.SlowStartThreshold;
        var first = Data(b);
        Assert.Equal(3, first.Count);                 // 3 delivered: 3 retransmissions (CRB), not ssthresh - pipe
        Assert.Equal(f[0].Seq, first[0].Seq);
        int pipe = FlightSegments - Lost - 3 + first.Count;
        var retransmitted = new List<SentSegment>(first);
        for (int last = Lost + 3; last < FlightSegments; last++)
        {
            b.Advance(AckGap);
            PeerAcks(b, f[last], f[0].Seq, Sack(f[Lost].Seq, f[last].Seq + Seg));
            var sent = Data(b);
            Assert.True(sent.Count <= 1, $"a SACK of one segment released {sent.Count}");
            pipe += sent.Count - 1;
            retransmitted.AddRange(sent);
        }
        // The retransmissions arrive in order: each ACK advances SND.UNA by one segment and shows no new loss (safe).
        int grew = 0;
        for (int i = 0; i < retransmitted.Count; i++)
        {
            b.Advance(AckGap);
            var ack = retransmitted[i].Seq + Seg;
            if (ack >= f[Lost].Seq) break; // the last hole filled: recovery ends
            PeerAcks(b, retransmitted[i], ack, Sack(f[Lost].Seq, f[^1].Seq + Seg));
            var sent = Data(b);
            Assert.True(sent.Count <= 2, $"a safe ACK of one segment released {sent.Count}");
            pipe += sent.Count - 1;
            Assert.True(pipe * Seg <= ssthresh, $"pipe {pipe} segments above ssthresh");
            if (sent.Count == 2) grew++;
            retransmitted.AddRange(sent.Where(s => s.Seq < f[Lost].Seq));
        }
        Assert.True(grew >= 3, $"PRR-SSRB grew the flight on {grew} ACKs only");
    }

    [Theory, BothFamilies]
    public void Without_PRR_heavy_loss_releases_a_burst_up_to_ssthresh(IpVersion family)
    {
        // The old RFC 6675 behaviour the reduction bound replaces (RFC 6937 §3.1, second example): cwnd = ssthresh (CUBIC:
        // 14 segments) with pipe at 2 sends 12 retransmissions on the first ACK.
        var (b, c, f) = Flight(family, Settings(CongestionAlgorithm.Cubic, prr: false));
        PeerAcks(b, f[17], f[0].Seq, Sack(f[15].Seq, f[18].Seq));
        Assert.Equal(12, Data(b).Count);
    }

    [Theory, BothFamilies]
    public void With_the_RFC_6937_bound_every_ACK_may_send_one_segment_more_than_it_delivered(IpVersion family)
    {
        // TcpSettings.PrrBound = SlowStartOnEveryAck: RFC 6937 §3.1 PRR-SSRB on every ACK, not only on safe ones
        // (RFC 9937): the first ACK of the heavy-loss case, 3 segments delivered, sends 4.
        var (b, c, f) = Flight(family, Settings(CongestionAlgorithm.Cubic) with { PrrBound = PrrReductionBound.SlowStartOnEveryAck });
        PeerAcks(b, f[17], f[0].Seq, Sack(f[15].Seq, f[18].Seq));
        Assert.Equal(4, Data(b).Count);
    }

    [Theory, BothFamilies]
    public void The_fast_retransmit_goes_even_when_the_proportional_part_is_zero(IpVersion family)
    {
        // RFC 9937 §6.2: "if prr_out is 0 AND sndcnt is 0, sndcnt = SMSS". Here recovery starts from the RACK
        // reordering timer (RFC 8985 §6.3) with no ACK, so prr_delivered = 0 and the proportional part is 0: the
        // fast retransmit still goes, and only it.
        var (b, c, f) = Flight(family, Settings(CongestionAlgorithm.Cubic));
        PeerAcks(b, f[1], f[0].Seq, Sack(f[1].Seq, f[1].Seq + Seg));
        var before = Data(b); // RFC 6675 before recovery: one new segment for the one that left the network
        Assert.Single(before);
        b.Advance(b.Layer.NextDeadline - b.Now); // RACK.rtt + reo_wnd after segment 0 was sent
        Assert.Equal(1, b.Layer.Stats.FastRetransmits);
        Assert.Equal(f[0].Seq, Assert.Single(Data(b)).Seq);
    }

    [Theory, BothFamilies]
    public void The_first_ACK_of_recovery_sends_the_fast_retransmit_when_the_proportional_part_is_under_a_segment(IpVersion family)
    {
        // RFC 9937 §6.2 / RFC 6675 §5 step 4.2: with DupThresh (RACK off) and NewReno, the third duplicate ACK delivers one
        // segment: CEIL(1 · 10 / 22) segments is under one, yet the retransmission goes at once.
        var (b, c, f) = Flight(family, Settings(CongestionAlgorithm.NewReno, rack: false));
        PeerAcks(b, f[1], f[0].Seq, Sack(f[1].Seq, f[2].Seq));
        PeerAcks(b, f[2], f[0].Seq, Sack(f[1].Seq, f[3].Seq));
        Assert.Equal(2, Data(b).Count); // RFC 6675: new data while pipe < cwnd before recovery
        PeerAcks(b, f[3], f[0].Seq, Sack(f[1].Seq, f[4].Seq));
        Assert.Equal(f[0].Seq, Assert.Single(Data(b)).Seq);
        Assert.Equal(1, b.Layer.Stats.FastRetransmits);
    }

    [Theory, BothFamilies]
    public void Without_SACK_duplicate_ACKs_count_one_segment_delivered_each(IpVersion family)
    {
        // RFC 9937 §6.2: without SACK, DeliveredData is one SMSS per duplicate ACK; NewReno (ssthresh = 10 of 20 segments)
        // then sends one new segment per two duplicate ACKs, where RFC 6675 without SACK would send nothing until the
        // partial ACK (pipe never falls without SACK information).
        var b = new TcpBench(new TcpSettings { SendBufferSize = 1 << 20, Congestion = CongestionAlgorithm.NewReno, Sack = false }, family: family);
        var c = b.Accept(handshakeRtt: Rtt);
        c.Send(new byte[Seg * 200]);
        b.Poll();
        var iw = Data(b);
        b.Advance(Rtt);
        var f = new List<SentSegment>();
        foreach (var s in iw) { PeerAcks(b, s, s.Seq + Seg); f.AddRange(Data(b)); }
        Assert.Equal(FlightSegments, f.Count);
        b.Advance(Rtt);
        for (int i = 0; i < 3; i++) PeerAcks(b, f[i + 1], f[0].Seq);
        Assert.Equal(f[0].Seq, Assert.Single(Data(b)).Seq); // the third: fast retransmit (RFC 5681 §3.2)
        int sent = 0;
        for (int i = 0; i < 10; i++)
        {
            PeerAcks(b, f[i + 4], f[0].Seq);
            sent += Data(b).Count;
        }
        // 11 duplicate ACKs since recovery started (the third and 10 more): prr_delivered · ssthresh / RecoverFS =
        // 11 · 10 / 20 = 5.5 segments' worth, so 5 segments: the retransmission and 4 new ones.
        Assert.Equal(4, sent);
    }

    [Theory, BothFamilies]
    public void An_RTO_leaves_PRR_and_cwnd_is_one_segment(IpVersion family)
    {
        // RFC 9937 §6: PRR covers fast recovery only; a retransmission timeout applies RFC 5681 / RFC 9438 §4.8
        // (cwnd = 1 SMSS).
        var (b, c, f) = Flight(family, Settings(CongestionAlgorithm.Cubic));
        PeerAcks(b, f[3], f[0].Seq, Sack(f[1].Seq, f[4].Seq));
        Data(b);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(2));
        Assert.True(b.Layer.Stats.Timeouts >= 1);
        Assert.Equal(Seg, c.CongestionWindow);
    }

    private static int LongestSilence(List<List<SentSegment>> perAck)
    {
        int longest = 0, run = 0;
        foreach (var a in perAck) { run = a.Count == 0 ? run + 1 : 0; longest = Math.Max(longest, run); }
        return longest;
    }

    private static string Pattern(List<List<SentSegment>> perAck) => string.Join(" ", perAck.Select(a => a.Count));
}
