using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Retransmission timer (RFC 6298), fast retransmit (RFC 5681, RFC 6582) and SACK recovery (RFC 6675).</summary>
public sealed class TcpRetransmissionTests
{
    [Theory, BothFamilies]
    public void Lost_data_is_retransmitted_after_the_RTO_and_the_RTO_doubles(IpVersion family)
    {
        // RFC 6298 §5.4-5.6.
        var b = new TcpBench(new TcpSettings { Timestamps = false }, family: family);
        var c = b.Accept(options: false);
        c.Send(new byte[100]);
        b.Poll();
        var first = b.Single();
        var sentAt = b.Now;
        b.Advance(b.Layer.NextDeadline - b.Now);
        var r1 = b.Single();
        Assert.Equal(first.Seq, r1.Seq);
        var gap1 = b.Now - sentAt;
        var t1 = b.Now;
        b.Advance(b.Layer.NextDeadline - b.Now);
        var r2 = b.Single();
        Assert.Equal(first.Seq, r2.Seq);
        Assert.Equal(gap1 * 2, b.Now - t1);
    }

    [Theory, BothFamilies]
    public void The_RTO_follows_measured_round_trips(IpVersion family)
    {
        // RFC 6298 §2.2: first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4 RTTVAR) = 3R.
        var b = new TcpBench(new TcpSettings { Timestamps = false, MinRto = TimeSpan.FromMilliseconds(1) }, family: family);
        var c = b.Accept(options: false);
        c.Send(new byte[10]);
        b.Poll();
        b.TakeSent();
        b.Advance(TimeSpan.FromMilliseconds(100));
        b.PeerSends(TcpFlags.Ack, ack: b.OurSeq + 10);
        b.OurSeq += 10;
        Assert.Equal(TimeSpan.FromMilliseconds(100), c.SmoothedRtt);
        c.Send(new byte[10]);
        b.Poll();
        b.TakeSent();
        var sent = b.Now;
        Assert.Equal(sent + TimeSpan.FromMilliseconds(300), b.Layer.NextDeadline);
    }

    [Theory, BothFamilies]
    public void Three_duplicate_ACKs_trigger_a_fast_retransmit(IpVersion family)
    {
        // RFC 5681 §3.2: on the third duplicate ACK retransmit the missing segment without waiting for the RTO.
        var b = new TcpBench(new TcpSettings { Sack = false }, family: family);
        var c = b.Accept();
        c.Send(new byte[1448 * 6]);
        b.Poll();
        var sent = b.TakeSent();
        Assert.Equal(6, sent.Count);
        var una = sent[0].Seq;
        for (int i = 0; i < 2; i++) b.PeerSends(TcpFlags.Ack, ack: una);
        b.Nothing();
        b.PeerSends(TcpFlags.Ack, ack: una);
        var rtx = b.Single();
        Assert.Equal(una, rtx.Seq);
        Assert.Equal(1448, rtx.Payload.Length);
        Assert.Equal(1, b.Layer.Stats.FastRetransmits);
    }

    [Theory, BothFamilies]
    public void SACK_recovery_retransmits_only_the_holes(IpVersion family)
    {
        // RFC 6675 §5: retransmit unSACKed data below the highest SACKed sequence number.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.Send(new byte[1448 * 8]);
        b.Poll();
        var sent = b.TakeSent();
        Assert.Equal(8, sent.Count);
        var s = sent.Select(x => x.Seq).ToArray();
        // Segments 0 and 2 lost; 1, 3, 4, 5 arrive.
        var sack = new TcpSackBlocks();
        sack.TryAdd(new SackBlock(s[1], s[2]));
        b.PeerSends(TcpFlags.Ack, ack: s[0], sack: sack);
        sack.TryAdd(new SackBlock(s[3], s[4]));
        b.PeerSends(TcpFlags.Ack, ack: s[0], sack: sack);
        var sack2 = new TcpSackBlocks();
        sack2.TryAdd(new SackBlock(s[3], s[6]));
        sack2.TryAdd(new SackBlock(s[1], s[2]));
        b.PeerSends(TcpFlags.Ack, ack: s[0], sack: sack2);
        var rtx = b.TakeSent().Where(x => x.Payload.Length > 0).Select(x => x.Seq).ToArray();
        Assert.Equal(new[] { s[0], s[2] }, rtx);
    }

    [Theory, BothFamilies]
    public void A_partial_ACK_in_NewReno_recovery_retransmits_the_next_hole(IpVersion family)
    {
        // RFC 6582 §3.2 step 4.
        var b = new TcpBench(new TcpSettings { Sack = false }, family: family);
        var c = b.Accept();
        c.Send(new byte[1448 * 6]);
        b.Poll();
        var s = b.TakeSent().Select(x => x.Seq).ToArray();
        for (int i = 0; i < 3; i++) b.PeerSends(TcpFlags.Ack, ack: s[0]);
        Assert.Equal(s[0], b.Single().Seq);
        b.PeerSends(TcpFlags.Ack, ack: s[2]); // segment 2 was lost too
        var sent = b.TakeSent().Where(x => x.Payload.Length > 0).ToArray();
        Assert.Equal(s[2], sent[0].Seq);
    }

    [Theory, BothFamilies]
    public void A_tail_loss_probe_resends_the_last_segment_after_two_SRTT(IpVersion family)
    {
        // RFC 8985 §7.2-7.3: PTO = 2·SRTT (under the RTO); with no new data to send, retransmit the last segment.
        var b = new TcpBench(new TcpSettings { Timestamps = false }, family: family);
        var c = b.Accept();
        c.Send(new byte[1460 * 3]); // no timestamps: MSS 1460
        b.Poll();
        var s = b.TakeSent();
        Assert.Equal(3, s.Count);
        b.Advance(TimeSpan.FromMilliseconds(100));
        b.PeerSends(TcpFlags.Ack, ack: s[1].Seq); // first segment acknowledged: SRTT = 100 ms, RTO = 300 ms
        b.Nothing();
        var acked = b.Now;
        Assert.Equal(acked + TimeSpan.FromMilliseconds(200), b.Layer.NextDeadline);
        b.Advance(TimeSpan.FromMilliseconds(200));
        var probe = b.Single();
        Assert.Equal(s[2].Seq, probe.Seq);
        Assert.Equal(1460, probe.Payload.Length);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
    }

    [Theory, BothFamilies]
    public void Data_retransmissions_give_up_after_the_retry_limit(IpVersion family)
    {
        // RFC 1122 §4.2.3.5: R2 reached: close the connection and report it.
        var b = new TcpBench(new TcpSettings { MaxRetries = 3 }, family: family);
        var c = b.Accept();
        c.Send(new byte[10]);
        b.RunUntil(b.Now + TimeSpan.FromMinutes(10));
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.TimedOut, c.Error);
        // The segment, one tail loss probe (RFC 8985 §7.2: the PTO, capped at the RTO, fires first), three RTO retransmissions.
        Assert.Equal(5, b.TakeSent().Count);
        Assert.Equal(1, b.Layer.Stats.TailLossProbes);
        Assert.Equal(3, b.Layer.Stats.Timeouts);
    }

    [Theory, BothFamilies]
    public void Initial_window_is_ten_segments(IpVersion family)
    {
        // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)).
        var b = new TcpBench(new TcpSettings { SendBufferSize = 1 << 20 }, family: family);
        var c = b.Accept();
        c.Send(new byte[100_000]);
        b.Poll();
        Assert.Equal(10, b.TakeSent().Count);
    }

    [Theory]
    [FamilyData(CongestionAlgorithm.NewReno)]
    [FamilyData(CongestionAlgorithm.Cubic)]
    public void Slow_start_threshold_halves_or_shrinks_by_beta_on_fast_retransmit(IpVersion family, CongestionAlgorithm algorithm)
    {
        // RFC 5681 eq. 4 (FlightSize/2) and RFC 9438 §4.6 (cwnd * 0.7); without PRR, cwnd = ssthresh at once
        // (with PRR, RFC 9937, cwnd reaches ssthresh over the recovery: PrrTests).
        var b = new TcpBench(new TcpSettings { Sack = false, SendBufferSize = 1 << 20, Congestion = algorithm, ProportionalRateReduction = false }, family: family);
        var c = b.Accept();
        Assert.Equal(algorithm, c.Congestion);
        c.Send(new byte[1448 * 10]);
        b.Poll();
        var s = b.TakeSent().Select(x => x.Seq).ToArray();
        for (int i = 0; i < 3; i++) b.PeerSends(TcpFlags.Ack, ack: s[0]);
        int expected = algorithm == CongestionAlgorithm.NewReno ? 1448 * 10 / 2 : (int)(1448 * 10 * 0.7);
        Assert.Equal(expected, c.SlowStartThreshold);
        Assert.Equal(expected, c.CongestionWindow);
    }

    [Theory, BothFamilies]
    public void ICMP_packet_too_big_lowers_the_MSS_and_resends(IpVersion family)
    {
        // RFC 1191 §6.5 / RFC 8201 §4.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.Send(new byte[1448]);
        b.Poll();
        var seg = b.Single();
        var quoted = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quoted, TcpBench.UsPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(2), TcpBench.PeerPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(quoted.AsSpan(4), seg.Seq.Value);
        // IPv4: Destination Unreachable, fragmentation needed, next-hop MTU 1000 (RFC 1191 §4). IPv6: Packet Too Big with
        // MTU 1280, the least a link may have (RFC 8200 §5, RFC 8201 §4).
        var err = family == IpVersion.V4
            ? new NetStack.Network.IcmpErrorInfo(Ipv4Address.Parse("198.51.100.1"), 3, 4, 1000, Families.A(family), Families.B(family), IpProtocol.Tcp, 60, 0)
            : new NetStack.Network.IcmpErrorInfo(Ipv6Address.Parse("2001:db8:ffff::1"), 2, 0, 1280, Families.A(family), Families.B(family), IpProtocol.Tcp, 60, 0);
        b.Layer.ReceiveIcmpError(err, quoted, default, b.Now);
        var resent = b.TakeSent();
        Assert.True(resent.Count >= 1);
        Assert.Equal((int)err.Parameter - Families.IpHeaderLength(family) - 20 - 12, resent[0].Payload.Length); // 948 or 1208
        Assert.Equal(seg.Seq, resent[0].Seq);
    }
}
