using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Connection termination (RFC 9293 §3.6) and TIME-WAIT (§3.4.2).</summary>
public sealed class TcpCloseTests
{
    private static readonly TcpSettings ShortTimeWait = new() { TimeWait = TimeSpan.FromSeconds(4) };

    /// <summary>Our close, its ACK and the peer's FIN: the connection is in TIME-WAIT (2 MSL = 4 s), nothing left to send.</summary>
    private static (TcpBench B, TcpConnection C) InTimeWait()
    {
        var b = new TcpBench(ShortTimeWait);
        var c = b.Accept();
        c.Close();
        b.Poll();
        b.TakeSent();
        b.OurSeq += 1;
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack);
        b.TakeSent();
        return (b, c);
    }

    [Fact]
    public void Active_close_goes_FIN_WAIT_1_FIN_WAIT_2_TIME_WAIT()
    {
        var b = new TcpBench(ShortTimeWait);
        var c = b.Accept();
        c.Close();
        b.Poll();
        var fin = b.Single();
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, fin.Flags);
        Assert.Equal(b.OurSeq, fin.Seq);
        Assert.Equal(TcpState.FinWait1, c.State);
        b.OurSeq += 1;
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.FinWait2, c.State);
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpState.TimeWait, c.State);
        Assert.Equal(b.PeerSeq, b.Single().Ack); // the FIN is acknowledged
    }

    [Fact]
    public void TIME_WAIT_lasts_the_configured_2_MSL_then_the_connection_is_deleted()
    {
        // RFC 9293 §3.10.8: TIME-WAIT timeout deletes the TCB.
        var (b, c) = InTimeWait();
        var entered = b.Now;
        Assert.Equal(TcpState.TimeWait, c.State);
        b.Advance(TimeSpan.FromSeconds(3.9));
        Assert.Equal(TcpState.TimeWait, c.State);
        Assert.Equal(entered + TimeSpan.FromSeconds(4), b.Layer.NextDeadline);
        b.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(0, b.Layer.ConnectionCount);
    }

    [Fact]
    public void A_retransmitted_FIN_in_TIME_WAIT_is_acknowledged_and_restarts_the_timer()
    {
        // RFC 9293 §3.10.7.4 eighth step, TIME-WAIT: acknowledge it and restart the 2 MSL timeout.
        var (b, c) = InTimeWait();
        b.Advance(TimeSpan.FromSeconds(3));
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack, seq: b.PeerSeq - 1);
        Assert.Equal(b.PeerSeq, b.Single().Ack);
        b.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(TcpState.TimeWait, c.State);
    }

    [Fact]
    public void Passive_close_goes_CLOSE_WAIT_then_LAST_ACK_then_CLOSED()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack);
        Assert.Equal(TcpState.CloseWait, c.State);
        Assert.True(c.ReceiveFinished);
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Readable));
        Assert.Equal(b.PeerSeq, b.Single().Ack); // a FIN is acknowledged at once
        c.Close();
        b.Poll();
        var fin = b.Single();
        Assert.True(fin.Has(TcpFlags.Fin));
        Assert.Equal(TcpState.LastAck, c.State);
        b.OurSeq += 1;
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.None, c.Error);
        Assert.Equal(0, b.Layer.ConnectionCount);
    }

    [Fact]
    public void Simultaneous_close_goes_through_CLOSING_to_TIME_WAIT()
    {
        // RFC 9293 §3.6 figure 13.
        var b = new TcpBench(ShortTimeWait);
        var c = b.Accept();
        c.Close();
        b.Poll();
        var fin = b.Single();
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack); // the peer's FIN crosses ours (acks only up to our FIN)
        Assert.Equal(TcpState.Closing, c.State);
        Assert.Equal(b.PeerSeq, b.Single().Ack);
        b.OurSeq = fin.Seq + 1;
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.TimeWait, c.State);
    }

    [Fact]
    public void FIN_is_sent_after_the_queued_data()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.Send(new byte[100]);
        c.Close();
        b.Poll();
        var seg = b.Single();
        Assert.Equal(100, seg.Payload.Length);
        Assert.True(seg.Has(TcpFlags.Fin)); // data and FIN share a segment
    }

    [Fact]
    public void An_unacknowledged_FIN_is_retransmitted()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.Close();
        b.Poll();
        var fin = b.Single();
        b.Advance(b.Layer.NextDeadline - b.Now);
        var again = b.Single();
        Assert.True(again.Has(TcpFlags.Fin));
        Assert.Equal(fin.Seq, again.Seq);
    }

    [Fact]
    public void A_FIN_arriving_out_of_order_is_not_processed_until_the_data_before_it()
    {
        // RFC 9293 §3.10.7.4 eighth step applies only to in-sequence segments.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Fin | TcpFlags.Ack, seq: b.PeerSeq + 10);
        Assert.Equal(TcpState.Established, c.State);
    }

    [Fact]
    public void Data_arriving_after_Close_is_answered_with_RST()
    {
        // RFC 1122 §4.2.2.13: new data received after CLOSE: send RST to show the data was lost.
        var b = new TcpBench();
        var c = b.Accept();
        c.Close();
        b.Poll();
        b.TakeSent();
        b.OurSeq += 1;
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.FinWait2, c.State);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: [1, 2, 3]);
        Assert.True(b.Single().Has(TcpFlags.Rst));
        Assert.Equal(TcpState.Closed, c.State);
    }

    [Fact]
    public void A_FIN_that_arrives_before_the_data_it_follows_closes_the_receive_side_when_the_hole_fills()
    {
        // RFC 9293 §3.10.7.4: the FIN takes effect when RCV.NXT reaches it. An out-of-order FIN is kept with its data
        // (as Linux's out-of-order queue does) instead of being dropped and waiting for a retransmission.
        var b = new TcpBench();
        var c = b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack | TcpFlags.Fin, new byte[100], seq: start + 100);
        Assert.Equal(TcpState.Established, c.State);
        var dup = b.Single();
        Assert.Equal(start, dup.Ack); // a duplicate ACK for the hole (RFC 5681 §4.2)
        b.PeerSends(TcpFlags.Ack, new byte[100], seq: start);
        Assert.Equal(TcpState.CloseWait, c.State);
        Assert.Equal(200, c.ReceiveQueueLength);
        Assert.Equal(start + 201, b.TakeSent().Last().Ack);
    }

    [Fact]
    public void A_bare_FIN_beyond_a_hole_is_acted_on_when_the_hole_fills()
    {
        var b = new TcpBench();
        var c = b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack | TcpFlags.Fin, seq: start + 50);
        Assert.Equal(start, b.Single().Ack);
        Assert.Equal(TcpState.Established, c.State);
        b.PeerSends(TcpFlags.Ack, new byte[50], seq: start);
        Assert.Equal(TcpState.CloseWait, c.State);
        Assert.Equal(start + 51, b.TakeSent().Last().Ack);
    }

    [Fact]
    public void Data_beyond_an_early_FIN_means_it_was_not_the_end()
    {
        // A FIN at X followed by data past X: the FIN was not where the stream ends, so it is forgotten.
        var b = new TcpBench();
        var c = b.Accept();
        var start = b.PeerSeq;
        b.PeerSends(TcpFlags.Ack | TcpFlags.Fin, seq: start + 10);
        b.PeerSends(TcpFlags.Ack, new byte[30], seq: start);
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(30, c.ReceiveQueueLength);
    }
}
