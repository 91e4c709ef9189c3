using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Reset generation and processing (RFC 9293 §3.5.2, §3.10.7; RFC 5961).</summary>
public sealed class TcpResetTests
{
    [Fact]
    public void SYN_to_a_closed_port_gets_RST_ACK_with_SEQ_0_and_ACK_SEQ_plus_LEN()
    {
        // RFC 9293 §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
        var b = new TcpBench();
        b.PeerSends(TcpFlags.Syn);
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(new SeqNumber(0), rst.Seq);
        Assert.Equal(new SeqNumber(1001), rst.Ack);
        Assert.Equal(TcpBench.PeerPort, rst.Repr.DestinationPort);
    }

    [Fact]
    public void ACK_to_a_closed_port_gets_RST_with_SEQ_of_its_ACK()
    {
        // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>.
        var b = new TcpBench();
        b.PeerSends(TcpFlags.Ack, data: [1, 2, 3], ack: new SeqNumber(777));
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNumber(777), rst.Seq);
    }

    [Fact]
    public void RST_to_a_closed_port_is_not_answered()
    {
        // RFC 9293 §3.10.7.1: an incoming RST is discarded.
        var b = new TcpBench();
        b.PeerSends(TcpFlags.Rst);
        b.Nothing();
    }

    [Fact]
    public void RST_in_LISTEN_is_ignored()
    {
        // RFC 9293 §3.10.7.2: first check for a RST: ignore it.
        var b = new TcpBench();
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Rst);
        b.Nothing();
        Assert.False(l.IsClosed);
    }

    [Fact]
    public void ACK_in_LISTEN_gets_RST()
    {
        // RFC 9293 §3.10.7.2: any acknowledgment is bad in LISTEN: <SEQ=SEG.ACK><CTL=RST>.
        var b = new TcpBench(new TcpSettings { SynCookies = false });
        b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Ack, ack: new SeqNumber(5555));
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(new SeqNumber(5555), rst.Seq);
    }

    [Fact]
    public void RST_with_exactly_RCV_NXT_resets_the_connection()
    {
        // RFC 5961 §3.2: reset only when the sequence number exactly matches RCV.NXT.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Rst);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Reset, c.Error);
        b.Nothing();
    }

    [Fact]
    public void RST_in_window_but_not_at_RCV_NXT_gets_a_challenge_ACK()
    {
        // RFC 5961 §3.2: in window but not exact: send a challenge ACK, drop the segment.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Rst, seq: b.PeerSeq + 100);
        var ack = b.Single();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(b.PeerSeq, ack.Ack);
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(1, b.Layer.Stats.ChallengeAcks);
    }

    [Fact]
    public void RST_outside_the_window_is_dropped_silently()
    {
        // RFC 5961 §3.2 / RFC 9293 §3.10.7.4: out-of-window RST: discard, no reply.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Rst, seq: b.PeerSeq + 1_000_000);
        b.Nothing();
        Assert.Equal(TcpState.Established, c.State);
    }

    [Fact]
    public void SYN_on_an_established_connection_gets_a_challenge_ACK()
    {
        // RFC 5961 §4.2: a SYN in a synchronized state is answered with a challenge ACK, whatever its sequence number.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Syn, seq: b.PeerSeq + 10);
        var ack = b.Single();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(b.PeerSeq, ack.Ack);
        Assert.Equal(TcpState.Established, c.State);
    }

    [Fact]
    public void Challenge_ACKs_are_rate_limited_per_second()
    {
        // RFC 5961 §7: limit the number of challenge ACKs sent per interval.
        var b = new TcpBench(new TcpSettings { ChallengeAckLimit = 3 });
        b.Accept();
        for (int i = 0; i < 10; i++) b.PeerSends(TcpFlags.Rst, seq: b.PeerSeq + 100 + i);
        Assert.Equal(3, b.TakeSent().Count);
        Assert.Equal(7, b.Layer.Stats.ChallengeAcksSuppressed);
        b.Advance(TimeSpan.FromSeconds(1));
        b.PeerSends(TcpFlags.Rst, seq: b.PeerSeq + 100);
        Assert.Single(b.TakeSent());
    }

    [Fact]
    public void ACK_for_data_never_sent_is_answered_with_an_ACK_and_dropped()
    {
        // RFC 9293 §3.10.7.4 / RFC 5961 §5.2: SEG.ACK > SND.NXT.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack, data: [1, 2, 3], ack: b.OurSeq + 5000);
        var ack = b.Single();
        Assert.Equal(b.PeerSeq - 3, ack.Ack); // the data was not taken
        Assert.Equal(0, c.ReceiveQueueLength);
    }

    [Fact]
    public void Abort_sends_RST_and_closes()
    {
        // RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>.
        var b = new TcpBench();
        var c = b.Accept();
        c.Abort();
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(b.OurSeq, rst.Seq);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(0, b.Layer.ConnectionCount);
    }

    [Fact]
    public void Close_with_unread_data_resets_instead_of_FIN()
    {
        // RFC 9293 §3.10.4 / RFC 2525 §2.17: closing with data unread sends RST.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: [1, 2, 3]);
        b.TakeSent();
        c.Close();
        b.Poll();
        var rst = b.Single();
        Assert.True(rst.Has(TcpFlags.Rst));
    }
}
