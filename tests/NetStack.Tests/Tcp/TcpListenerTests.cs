using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Listeners: SYN queue, accept queue, SYN cookies (RFC 4987), keep-alive (RFC 1122 §4.2.3.6).</summary>
public sealed class TcpListenerTests
{
    [Fact]
    public void When_the_SYN_queue_is_full_SYNs_are_answered_with_cookies()
    {
        // RFC 4987 §3.6: answer without state; the ISN encodes the MSS and a MAC.
        var b = new TcpBench(new TcpSettings { SynQueueLength = 2 });
        var l = b.Layer.Listen(new TcpEndpoint(TcpBench.Us, 80), 4);
        for (ushort p = 1; p <= 2; p++)
        {
            b.PeerPortUsed = p;
            b.PeerSends(TcpFlags.Syn);
        }
        Assert.Equal(2, l.HalfOpen);
        b.TakeSent();
        b.PeerPortUsed = 3;
        var isn = b.PeerSeq;
        b.Deliver(new TcpRepr { SourcePort = 3, DestinationPort = 80, SequenceNumber = isn, Flags = TcpFlags.Syn, Window = 1000, Mss = 1460, WindowScale = 7, SackPermitted = true });
        var synAck = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal((ushort)1460, synAck.Repr.Mss);
        Assert.Null(synAck.Repr.WindowScale); // cookies carry no state for optional features
        Assert.Equal(2, b.Layer.ConnectionCount);  // no state kept
        Assert.Equal(1, b.Layer.Stats.SynCookiesSent);

        // The returning ACK carries the cookie: the connection is created established.
        b.Deliver(new TcpRepr { SourcePort = 3, DestinationPort = 80, SequenceNumber = isn + 1, AckNumber = synAck.Seq + 1, Flags = TcpFlags.Ack, Window = 1000 });
        Assert.Equal(1, b.Layer.Stats.SynCookiesAccepted);
        Assert.True(l.TryAccept(out var c));
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(1460, c.SendMss);
    }

    [Fact]
    public void A_forged_cookie_ACK_is_refused_with_RST()
    {
        var b = new TcpBench();
        var l = b.Layer.Listen(new TcpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Ack, ack: new SeqNumber(0x12345678));
        Assert.Equal(TcpFlags.Rst, b.Single().Flags);
        Assert.False(l.HasPendingConnection);
        Assert.Equal(1, b.Layer.Stats.SynCookiesRejected);
    }

    [Fact]
    public void Without_cookies_a_full_SYN_queue_drops_SYNs()
    {
        var b = new TcpBench(new TcpSettings { SynQueueLength = 1, SynCookies = false });
        b.Layer.Listen(new TcpEndpoint(TcpBench.Us, 80), 4);
        b.PeerPortUsed = 1;
        b.PeerSends(TcpFlags.Syn);
        b.TakeSent();
        b.PeerPortUsed = 2;
        b.PeerSends(TcpFlags.Syn);
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.SynDropped);
    }

    [Fact]
    public void An_unanswered_SYN_ACK_is_retransmitted_and_the_half_open_connection_expires()
    {
        var b = new TcpBench(new TcpSettings { MaxSynRetries = 2 });
        var l = b.Layer.Listen(new TcpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Syn);
        var synAck = b.Single();
        b.Advance(b.Layer.NextDeadline - b.Now);
        Assert.Equal(synAck.Seq, b.Single().Seq);
        b.RunUntil(b.Now + TimeSpan.FromMinutes(1));
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(0, b.Layer.ConnectionCount);
    }

    [Fact]
    public void RST_for_a_half_open_connection_returns_the_listener_to_LISTEN()
    {
        // RFC 9293 §3.10.7.4: SYN-RECEIVED from a passive open: RST returns to LISTEN.
        var b = new TcpBench();
        var l = b.Layer.Listen(new TcpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Syn);
        b.TakeSent();
        b.PeerSends(TcpFlags.Rst);
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(0, b.Layer.ConnectionCount);
        b.PeerSends(TcpFlags.Syn, seq: new SeqNumber(9000));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, b.Single().Flags);
    }

    [Fact]
    public void A_wildcard_listener_accepts_on_any_address()
    {
        var b = new TcpBench();
        b.Layer.Listen(new TcpEndpoint(Ipv4Address.Any, 80), 4);
        b.PeerSends(TcpFlags.Syn);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, b.Single().Flags);
    }

    [Fact]
    public void Keep_alive_probes_after_the_idle_time_and_times_out_without_answers()
    {
        // RFC 1122 §4.2.3.6: probe after the idle interval; an unanswered connection is dead.
        var settings = new TcpSettings { KeepAlive = true, KeepAliveIdle = TimeSpan.FromSeconds(10), KeepAliveInterval = TimeSpan.FromSeconds(2), KeepAliveProbes = 3 };
        var b = new TcpBench(settings);
        var c = b.Accept();
        b.Advance(TimeSpan.FromSeconds(9.9));
        b.Nothing();
        b.Advance(TimeSpan.FromSeconds(0.1));
        var probe = b.Single();
        Assert.Equal(b.OurSeq - 1, probe.Seq);
        b.PeerSends(TcpFlags.Ack); // answered: alive
        b.Advance(TimeSpan.FromSeconds(5));
        b.Nothing();
        b.RunUntil(b.Now + TimeSpan.FromSeconds(30));
        Assert.Equal(3, b.TakeSent().Count);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.TimedOut, c.Error);
    }
}
