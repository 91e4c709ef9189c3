using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Data transfer: windows, acknowledgments, SACK, PAWS, Nagle, delayed ACK (RFC 9293 §3.8, RFC 7323, RFC 2018).</summary>
public sealed class TcpDataTests
{
    private static byte[] Bytes(int n, byte start = 0)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(start + i);
        return b;
    }

    [Theory, BothFamilies]
    public void In_order_data_is_readable(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: Bytes(100));
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Readable));
        var buf = new byte[200];
        Assert.Equal(100, c.Receive(buf));
        Assert.Equal(Bytes(100), buf[..100]);
    }

    [Theory, BothFamilies]
    public void Out_of_window_data_is_acknowledged_and_dropped(IpVersion family)
    {
        // RFC 9293 §3.10.7.4: an unacceptable segment gets <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10), seq: b.PeerSeq + 10_000_000);
        var ack = b.Single();
        Assert.Equal(b.PeerSeq, ack.Ack);
        Assert.Equal(b.OurSeq, ack.Seq);
        Assert.Equal(0, c.ReceiveQueueLength);
    }

    [Theory, BothFamilies]
    public void Old_duplicate_data_is_acknowledged(IpVersion family)
    {
        var b = new TcpBench(family: family);
        b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10), seq: b.PeerSeq - 1000);
        Assert.Equal(b.PeerSeq, b.Single().Ack);
    }

    [Theory, BothFamilies]
    public void A_segment_without_the_negotiated_timestamps_is_silently_dropped_RFC7323_3_2(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        Assert.True(c.TimestampsEnabled);
        b.PeerTimestamps = false;
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: Bytes(10));
        b.Advance(TimeSpan.FromSeconds(1));
        b.Nothing(); // not even an ACK
        Assert.Equal(0, c.ReceiveQueueLength);
        Assert.Equal(TcpState.Established, c.State); // never an abort (MUST NOT)
        Assert.Equal(1, b.Layer.Stats.MissingTimestampDropped);
        b.PeerTimestamps = true;
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: Bytes(10), seq: b.PeerSeq - 10);
        Assert.Equal(10, c.ReceiveQueueLength);
    }

    [Theory, BothFamilies]
    public void A_RST_without_timestamps_still_resets_RFC7323_3_2(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        b.PeerTimestamps = false;
        b.PeerSends(TcpFlags.Rst);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Reset, c.Error);
    }

    [Theory, BothFamilies]
    public void After_24_days_idle_TS_Recent_is_outdated_and_an_older_timestamp_is_accepted_RFC7323_5_5(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10), tsVal: 2_000_000_000);
        b.Advance(TimeSpan.FromDays(25));
        b.TakeSent();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10, 10), tsVal: 1000); // the peer's clock wrapped its sign bit meanwhile
        Assert.Equal(20, c.ReceiveQueueLength);
        Assert.Equal(0, b.Layer.Stats.PawsDropped);
    }

    [Theory, BothFamilies]
    public void PAWS_drops_a_segment_with_an_old_timestamp_and_acknowledges(IpVersion family)
    {
        // RFC 7323 §5.3 R1: SEG.TSval < TS.Recent: send ACK, drop the segment.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10), tsVal: 100_000);
        b.Advance(TimeSpan.FromMilliseconds(50));
        b.TakeSent();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10, 10), tsVal: 99_000);
        var ack = b.Single();
        Assert.Equal(b.PeerSeq - 10, ack.Ack);
        Assert.Equal(10, c.ReceiveQueueLength);
        Assert.Equal(1, b.Layer.Stats.PawsDropped);
    }

    [Theory, BothFamilies]
    public void Out_of_order_data_is_SACKed_and_delivered_when_the_hole_fills(IpVersion family)
    {
        // RFC 5681 §4.2: immediate duplicate ACK for out-of-order data; RFC 2018 §4: SACK the received block, most recent first.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack, data: Bytes(100, 100), seq: start + 100);
        var dup = b.Single();
        Assert.Equal(start, dup.Ack);
        Assert.Equal(1, dup.Repr.SackBlocks.Count);
        Assert.Equal(new SackBlock(start + 100, start + 200), dup.Repr.SackBlocks[0]);
        b.PeerSends(TcpFlags.Ack, data: Bytes(100, 50), seq: start + 300);
        var dup2 = b.Single();
        Assert.Equal(2, dup2.Repr.SackBlocks.Count);
        Assert.Equal(new SackBlock(start + 300, start + 400), dup2.Repr.SackBlocks[0]); // most recent first
        b.PeerSends(TcpFlags.Ack, data: Bytes(100), seq: start);
        var ack = b.Single(); // filling a hole is acknowledged at once
        Assert.Equal(start + 200, ack.Ack);
        Assert.Equal(1, ack.Repr.SackBlocks.Count);
        var buf = new byte[1000];
        Assert.Equal(200, c.Receive(buf));
        Assert.Equal(Bytes(100), buf[..100]);
        Assert.Equal(Bytes(100, 100), buf[100..200]);
    }

    [Theory, BothFamilies]
    public void Window_scale_shifts_the_window_we_advertise(IpVersion family)
    {
        // RFC 7323 §2.3: the window field is the true window shifted right by Rcv.Wind.Shift.
        var b = new TcpBench(new TcpSettings { ReceiveBufferSize = 1 << 20, ReceiveBufferMax = 0 }, family: family); // a fixed buffer (no auto-tuning)
        b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10));
        b.Advance(TimeSpan.FromMilliseconds(100)); // delayed ACK
        var ack = b.Single();
        Assert.Equal((ushort)(((1 << 20) - 10) >> 5), ack.Repr.Window); // 1 MB needs shift 5
    }

    [Theory, BothFamilies]
    public void Window_scale_applies_to_the_window_we_receive(IpVersion family)
    {
        // RFC 7323 §2.3: SND.WND = SEG.WND << Snd.Wind.Shift (the peer offered 7).
        var b = new TcpBench(new TcpSettings { SendBufferSize = 1 << 20, NoDelay = true }, family: family);
        var c = b.Accept(peerWindow: 1); // 1 << 7 = 128 bytes
        c.Send(Bytes(1000));
        b.Poll();
        var seg = b.Single();
        Assert.Equal(128, seg.Payload.Length);
    }

    [Theory, BothFamilies]
    public void Zero_window_is_probed_by_the_persist_timer_with_back_off(IpVersion family)
    {
        // RFC 9293 §3.8.6.1 (MUST-36): probe a zero window; RFC 1122 §4.2.2.17: exponential back-off, never give up.
        var b = new TcpBench(family: family);
        var c = b.Accept(peerWindow: 0);
        c.Send(Bytes(100));
        b.Poll();
        b.Nothing();
        var probes = new List<Instant>();
        for (int i = 0; i < 3; i++)
        {
            b.Advance(b.Layer.NextDeadline - b.Now);
            var p = b.Single();
            Assert.Equal(b.OurSeq - 1, p.Seq); // an old sequence number forces the peer to answer with its window
            Assert.Empty(p.Payload);
            probes.Add(b.Now);
        }
        Assert.True(probes[2] - probes[1] > probes[1] - probes[0]);
        b.PeerSends(TcpFlags.Ack, window: 1000);
        var data = b.Single();
        Assert.Equal(100, data.Payload.Length);
        Assert.Equal(TcpState.Established, c.State);
    }

    [Theory, BothFamilies]
    public void Every_second_full_segment_is_acknowledged_at_once(IpVersion family)
    {
        // RFC 9293 §3.8.6.3 / RFC 5681 §4.2: an ACK for at least every second full-sized segment.
        var b = new TcpBench(family: family);
        b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(1448));
        b.Nothing();
        b.PeerSends(TcpFlags.Ack, data: Bytes(1448));
        Assert.Equal(b.PeerSeq, b.Single().Ack);
    }

    [Theory, BothFamilies]
    public void A_single_segment_is_acknowledged_by_the_delayed_ACK_timer(IpVersion family)
    {
        // RFC 9293 §3.8.6.3 (MUST-40): delay under 0.5 s; ours is 40 ms.
        var b = new TcpBench(family: family);
        b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10));
        b.Nothing();
        b.Advance(TimeSpan.FromMilliseconds(39));
        b.Nothing();
        b.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(b.PeerSeq, b.Single().Ack);
    }

    [Theory, BothFamilies]
    public void Nagle_holds_a_small_segment_while_data_is_unacknowledged(IpVersion family)
    {
        // RFC 9293 §3.7.4 (SHLD-7) / RFC 1122 §4.2.3.4.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.Send(Bytes(10));
        b.Poll();
        Assert.Equal(10, b.Single().Payload.Length);
        c.Send(Bytes(10));
        b.Poll();
        b.Nothing();
        b.PeerSends(TcpFlags.Ack, ack: b.OurSeq + 10);
        var second = b.Single();
        Assert.Equal(10, second.Payload.Length);
    }

    [Theory, BothFamilies]
    public void NoDelay_sends_small_segments_at_once(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.NoDelay = true;
        c.Send(Bytes(10));
        b.Poll();
        c.Send(Bytes(10));
        b.Poll();
        Assert.Equal(2, b.TakeSent().Count);
    }

    [Theory, BothFamilies]
    public void Segments_are_cut_at_the_MSS(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.Send(Bytes(4000));
        b.Poll();
        var sent = b.TakeSent();
        Assert.Equal(new[] { 1448, 1448, 1104 }, sent.Select(s => s.Payload.Length).ToArray());
        Assert.True(sent[2].Has(TcpFlags.Psh));
    }

    [Theory, BothFamilies]
    public void Receiver_does_not_advertise_a_silly_window(IpVersion family)
    {
        // RFC 9293 §3.8.6.2.2 (MUST-39): the right edge moves only by min(buffer/2, MSS) or more.
        var b = new TcpBench(new TcpSettings { ReceiveBufferSize = 4096 }, family: family);
        var c = b.Accept(options: false);
        b.PeerSends(TcpFlags.Ack, data: Bytes(4096));
        var full = b.TakeSent().Last();
        Assert.Equal((ushort)0, full.Repr.Window);
        var buf = new byte[10];
        c.Receive(buf);                     // 10 bytes free: no update
        b.Poll();
        b.Nothing();
        c.Receive(new byte[4096]);          // all free: update
        b.Poll();
        Assert.Equal((ushort)4096, b.Single().Repr.Window);
    }

    [Theory, BothFamilies]
    public void Half_close_still_receives_after_our_FIN(IpVersion family)
    {
        // RFC 9293 §3.6: after CLOSE the user may still receive until the peer closes.
        var b = new TcpBench(family: family);
        var c = b.Accept();
        c.Shutdown();
        b.Poll();
        var fin = b.Single();
        Assert.True(fin.Has(TcpFlags.Fin));
        b.OurSeq += 1;
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.FinWait2, c.State);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: Bytes(50));
        Assert.Equal(50, c.ReceiveQueueLength);
        Assert.Equal(0, c.Send(Bytes(5)));
    }
}

/// <summary>RFC 2883: the receiver reports duplicate data in the first SACK block (D-SACK).</summary>
public sealed class DsackReceiverTests
{
    [Theory, BothFamilies]
    public void Data_received_twice_is_reported_in_a_D_SACK_block_below_the_cumulative_ACK(IpVersion family)
    {
        // RFC 2883 §4: "If the receiver receives a duplicate segment, the first SACK block reports it."
        var b = new TcpBench(family: family);
        b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack, new byte[100]);
        b.PeerSends(TcpFlags.Ack, new byte[100]);
        b.TakeSent();
        b.PeerSends(TcpFlags.Ack, new byte[100], seq: start); // a spurious retransmission
        var ack = b.Single();
        Assert.Equal(start + 200, ack.Ack);
        Assert.Equal(1, ack.Repr.SackBlocks.Count);
        Assert.Equal(new SackBlock(start, start + 100), ack.Repr.SackBlocks[0]);
        Assert.Equal(1, b.Layer.Stats.DsacksSent);
        // Only once: the next ACK carries no D-SACK.
        b.PeerSends(TcpFlags.Ack, new byte[1460]);
        b.PeerSends(TcpFlags.Ack, new byte[1460]);
        Assert.All(b.TakeSent(), s => Assert.Equal(0, s.Repr.SackBlocks.Count));
    }

    [Theory, BothFamilies]
    public void A_segment_overlapping_what_was_received_reports_the_overlap_then_the_out_of_order_blocks(IpVersion family)
    {
        // RFC 2883 §4.1.2 / §4.2: the D-SACK block first, then the usual SACK blocks.
        var b = new TcpBench(family: family);
        b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack, new byte[100]);
        b.PeerSends(TcpFlags.Ack, new byte[100], seq: start + 300); // out of order: hole [200, 300)
        b.TakeSent();
        b.PeerSends(TcpFlags.Ack, new byte[150], seq: start + 50); // [50, 200): [50, 100) is a duplicate
        var ack = b.Single();
        Assert.Equal(start + 200, ack.Ack);
        Assert.Equal(2, ack.Repr.SackBlocks.Count);
        Assert.Equal(new SackBlock(start + 50, start + 100), ack.Repr.SackBlocks[0]);
        Assert.Equal(new SackBlock(start + 300, start + 400), ack.Repr.SackBlocks[1]);
    }

    [Theory, BothFamilies]
    public void Without_SACK_no_D_SACK_is_sent(IpVersion family)
    {
        var b = new TcpBench(family: family);
        b.Accept(options: false);
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack, new byte[100]);
        b.TakeSent();
        b.PeerSends(TcpFlags.Ack, new byte[100], seq: start);
        Assert.Equal(0, b.Single().Repr.SackBlocks.Count);
    }
}
