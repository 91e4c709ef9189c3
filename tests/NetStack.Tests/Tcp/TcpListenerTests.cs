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
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
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
        Assert.Null(synAck.Repr.WindowScale); // without timestamps a cookie has nowhere to keep optional features
        Assert.False(synAck.Repr.SackPermitted);
        Assert.Equal(2, b.Layer.ConnectionCount);  // no state kept
        Assert.Equal(1, b.Layer.Stats.SynCookiesSent);

        // The returning ACK carries the cookie: the connection is created established.
        b.Deliver(new TcpRepr { SourcePort = 3, DestinationPort = 80, SequenceNumber = isn + 1, AckNumber = synAck.Seq + 1, Flags = TcpFlags.Ack, Window = 1000 });
        Assert.Equal(1, b.Layer.Stats.SynCookiesAccepted);
        Assert.True(l.TryAccept(out var c));
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(1460, c.SendMss);
    }

    /// <summary>Fills the SYN queue (length 1) so that the next SYN gets a cookie; returns the bench and the listener.</summary>
    private static (TcpBench B, TcpListenSocket L) FullSynQueue(TcpSettings? settings = null)
    {
        var b = new TcpBench(settings ?? new TcpSettings { SynQueueLength = 1 });
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        b.PeerPortUsed = 1;
        b.PeerSends(TcpFlags.Syn);
        b.TakeSent();
        b.PeerPortUsed = 3;
        b.PeerSeq = new SeqNumber(7000);
        return (b, l);
    }

    [Fact]
    public void A_cookie_keeps_window_scaling_and_SACK_in_the_timestamp_when_the_SYN_offered_timestamps()
    {
        // RFC 4987 §3.6 leaves options to the implementation; like Linux, the low 6 bits of our TSval carry the peer's
        // window shift and SACK permission, and the ACK's TSecr brings them back (RFC 7323 §3.2: TSecr echoes TSval).
        var (b, l) = FullSynQueue(new TcpSettings { SynQueueLength = 1, ReceiveBufferMax = 0 }); // a fixed 64 KB buffer (no auto-tuning)
        var isn = b.PeerSeq;
        b.Deliver(new TcpRepr
        {
            SourcePort = 3, DestinationPort = 80, SequenceNumber = isn, Flags = TcpFlags.Syn, Window = 1000,
            Mss = 1460, WindowScale = 5, SackPermitted = true, Timestamps = new TcpTimestamps(777, 0),
        });
        var synAck = b.Single();
        Assert.Equal(1, b.Layer.Stats.SynCookiesSent);
        Assert.Equal((byte)1, synAck.Repr.WindowScale); // 65,536 bytes of buffer need a shift of 1
        Assert.True(synAck.Repr.SackPermitted);
        Assert.Equal(777u, synAck.Repr.Timestamps!.Value.Echo);
        uint ourTs = synAck.Repr.Timestamps!.Value.Value;

        b.Deliver(new TcpRepr
        {
            SourcePort = 3, DestinationPort = 80, SequenceNumber = isn + 1, AckNumber = synAck.Seq + 1, Flags = TcpFlags.Ack,
            Window = 100, Timestamps = new TcpTimestamps(778, ourTs),
        });
        Assert.True(l.TryAccept(out var c));
        Assert.True(c.WindowScalingEnabled);
        Assert.True(c.SackEnabled);
        Assert.True(c.TimestampsEnabled);
        Assert.Equal(1460 - 12, c.SendMss);
        // The ACK's window is scaled by the peer's shift (RFC 7323 §2.2): 100 << 5 = 3,200 bytes, two full segments
        // (Nagle holds the 304-byte rest); unscaled, the window would have allowed 100 bytes.
        c.Send(new byte[5000]);
        b.Poll();
        var sent = b.TakeSent();
        Assert.Equal(2 * c.SendMss, sent.Sum(x => x.Payload.Length));
        Assert.All(sent, x => Assert.Equal(778u, x.Repr.Timestamps!.Value.Echo));
        // Our later TSvals never go below the cookie's (RFC 7323 §5.4: the peer's PAWS would drop them).
        Assert.All(sent, x => Assert.True(unchecked((int)(x.Repr.Timestamps!.Value.Value - ourTs)) >= 0));
    }

    [Fact]
    public void A_cookie_without_window_scaling_from_the_peer_keeps_the_window_unscaled()
    {
        var (b, l) = FullSynQueue();
        var isn = b.PeerSeq;
        b.Deliver(new TcpRepr { SourcePort = 3, DestinationPort = 80, SequenceNumber = isn, Flags = TcpFlags.Syn, Window = 1000, Mss = 1460, Timestamps = new TcpTimestamps(9, 0) });
        var synAck = b.Single();
        Assert.Null(synAck.Repr.WindowScale); // RFC 7323 §2.2: no WS option in a SYN,ACK unless the SYN had one
        Assert.False(synAck.Repr.SackPermitted);
        b.Deliver(new TcpRepr
        {
            SourcePort = 3, DestinationPort = 80, SequenceNumber = isn + 1, AckNumber = synAck.Seq + 1, Flags = TcpFlags.Ack,
            Window = 1000, Timestamps = new TcpTimestamps(10, synAck.Repr.Timestamps!.Value.Value),
        });
        Assert.True(l.TryAccept(out var c));
        Assert.False(c.WindowScalingEnabled);
        Assert.False(c.SackEnabled);
        Assert.True(c.TimestampsEnabled);
    }

    [Fact]
    public void Data_right_after_a_cookie_handshake_is_accepted_in_the_window_the_SYN_ACK_offered()
    {
        // The SYN,ACK offered a window; data inside it is acceptable at once (RFC 9293 §3.10.7.4), not dropped as out of window.
        var (b, l) = FullSynQueue();
        var isn = b.PeerSeq;
        b.Deliver(new TcpRepr { SourcePort = 3, DestinationPort = 80, SequenceNumber = isn, Flags = TcpFlags.Syn, Window = 1000, Mss = 1460 });
        var synAck = b.Single();
        b.OurSeq = synAck.Seq + 1;
        b.PeerSeq = isn + 1;
        b.PeerSends(TcpFlags.Ack);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, new byte[100]);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Fin);
        Assert.True(l.TryAccept(out var c));
        Assert.Equal(TcpState.CloseWait, c.State);
        Assert.Equal(100, c.ReceiveQueueLength);
        Assert.Equal(0, b.Layer.Stats.OutOfWindow);
        Assert.Equal(isn + 102, b.TakeSent().Last().Ack);
    }

    [Fact]
    public void A_listener_without_a_SYN_queue_setting_uses_its_backlog_as_the_SYN_queue()
    {
        // Linux bounds the SYN queue by the listen backlog when cookies are on; so do we by default.
        var b = new TcpBench();
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 300);
        Assert.Equal(300, l.SynQueueLength);
        for (ushort p = 1; p <= 300; p++)
        {
            b.PeerPortUsed = p;
            b.PeerSends(TcpFlags.Syn);
        }
        Assert.Equal(300, l.HalfOpen);
        Assert.Equal(0, b.Layer.Stats.SynCookiesSent);
        b.PeerPortUsed = 301;
        b.PeerSends(TcpFlags.Syn);
        Assert.Equal(1, b.Layer.Stats.SynCookiesSent);
    }

    [Fact]
    public void A_forged_cookie_ACK_is_refused_with_RST()
    {
        var b = new TcpBench();
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        b.PeerSends(TcpFlags.Ack, ack: new SeqNumber(0x12345678));
        Assert.Equal(TcpFlags.Rst, b.Single().Flags);
        Assert.False(l.HasPendingConnection);
        Assert.Equal(1, b.Layer.Stats.SynCookiesRejected);
    }

    [Fact]
    public void Without_cookies_a_full_SYN_queue_drops_SYNs()
    {
        var b = new TcpBench(new TcpSettings { SynQueueLength = 1, SynCookies = false });
        b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
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
        var b = new TcpBench(new TcpSettings { MaxSynAckRetries = 2 });
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
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
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
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
        b.Layer.Listen(new IpEndpoint(Ipv4Address.Any, 80), 4);
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
