using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// A full accept queue: SYNs are dropped (cookies or not), and a final ACK that finds it full never leaves the client
/// believing in a connection the application will not get: it is retried by a SYN,ACK retransmission, or reset.
/// </summary>
public sealed class TcpAcceptQueueTests
{
    private static readonly SeqNumber[] Isn = [new(0), new(10_000), new(20_000), new(30_000), new(40_000), new(50_000)];

    private static SentSegment Syn(TcpBench b, ushort port)
    {
        b.Deliver(new TcpRepr { SourcePort = port, DestinationPort = 80, SequenceNumber = Isn[port], Flags = TcpFlags.Syn, Window = 1000, Mss = 1460 });
        var synAck = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(Isn[port] + 1, synAck.Ack);
        return synAck;
    }

    private static void Ack(TcpBench b, ushort port, SeqNumber ourIsn, byte[]? data = null, TcpFlags extra = TcpFlags.None) =>
        b.Deliver(new TcpRepr
        {
            SourcePort = port, DestinationPort = 80, SequenceNumber = Isn[port] + 1, AckNumber = ourIsn + 1,
            Flags = TcpFlags.Ack | extra, Window = 1000,
        }, data);

    /// <summary>Backlog 1, SYN queue 4: port 1 completes and fills the accept queue; returns port 2's SYN,ACK (half-open).</summary>
    private static (TcpBench B, TcpListenSocket L, SentSegment SynAck2) FullQueueWithHalfOpen(TcpSettings settings)
    {
        var b = new TcpBench(settings);
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 1);
        var synAck1 = Syn(b, 1);
        var synAck2 = Syn(b, 2);
        Ack(b, 1, synAck1.Seq);
        Assert.Equal(1, l.PendingAccepts);
        b.Nothing();
        return (b, l, synAck2);
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, 0)]   // every SYN would get a cookie
    [InlineData(false, null)]
    public void A_full_accept_queue_drops_SYNs_whether_or_not_cookies_are_on(bool cookies, int? synQueue)
    {
        // Linux tcp_conn_request: "if (sk_acceptq_is_full(sk)) { NET_INC_STATS(LINUX_MIB_LISTENOVERFLOWS); goto drop; }",
        // before it considers cookies. A SYN,ACK now would let the client believe in a connection nobody will accept.
        var b = new TcpBench(new TcpSettings { SynCookies = cookies, SynQueueLength = synQueue });
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 1);
        var synAck1 = Syn(b, 1);
        Ack(b, 1, synAck1.Seq);
        Assert.Equal(1, l.PendingAccepts);
        b.Nothing();

        b.Deliver(new TcpRepr { SourcePort = 2, DestinationPort = 80, SequenceNumber = Isn[2], Flags = TcpFlags.Syn, Window = 1000, Mss = 1460 });
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.SynDroppedAcceptQueueFull);
        Assert.Equal(0, b.Layer.Stats.SynCookiesSent - (synQueue == 0 ? 1 : 0)); // only port 1's SYN got one (SYN queue 0)
        Assert.Equal(1, b.Layer.ConnectionCount);

        // The application accepts: the client's retransmitted SYN (RFC 9293 §3.8.3) now gets its SYN,ACK.
        Assert.True(l.TryAccept(out _));
        var synAck2 = Syn(b, 2);
        Ack(b, 2, synAck2.Seq);
        Assert.True(l.TryAccept(out var c2));
        Assert.Equal(TcpState.Established, c2.State);
        Assert.Equal(new IpEndpoint(TcpBench.Peer, 2), c2.Remote);
    }

    [Fact]
    public void A_final_ACK_that_finds_the_queue_full_is_dropped_and_the_SYN_ACK_retransmitted_until_there_is_room()
    {
        // Linux with tcp_abort_on_overflow = 0: drop the ACK, keep the request, let the SYN,ACK retransmission ask again.
        var (b, l, synAck2) = FullQueueWithHalfOpen(new TcpSettings { SynQueueLength = 4 });
        Ack(b, 2, synAck2.Seq, [1, 2, 3], TcpFlags.Psh); // the client believes it is connected and sends data
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflows);
        Assert.Equal(1, l.HalfOpen);
        Assert.Equal(1, l.PendingAccepts);

        // The SYN,ACK is retransmitted at the RTO (1 s); the client answers with a duplicate ACK (its RCV.NXT); the queue
        // is still full: dropped again.
        b.Advance(TimeSpan.FromSeconds(1));
        var again = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, again.Flags);
        Assert.Equal(synAck2.Seq, again.Seq);
        Ack(b, 2, synAck2.Seq);
        b.Nothing();
        Assert.Equal(2, b.Layer.Stats.AcceptQueueOverflows);

        // The application accepts port 1; the next SYN,ACK's ACK completes port 2, and its retransmitted data arrives.
        Assert.True(l.TryAccept(out _));
        b.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(synAck2.Seq, b.Single().Seq);
        Ack(b, 2, synAck2.Seq);
        Ack(b, 2, synAck2.Seq, [1, 2, 3], TcpFlags.Psh);
        Assert.True(l.TryAccept(out var c2));
        Assert.Equal(TcpState.Established, c2.State);
        Assert.Equal(3, c2.ReceiveQueueLength);
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(0, b.Layer.Stats.AcceptQueueOverflowResets);
    }

    [Fact]
    public void A_client_whose_ACK_overflowed_is_reset_when_the_SYN_ACK_retransmissions_run_out()
    {
        // The client is ESTABLISHED on its side: forgetting it silently would leave it believing it is connected.
        var (b, l, synAck2) = FullQueueWithHalfOpen(new TcpSettings { SynQueueLength = 4, MaxSynAckRetries = 2 });
        Ack(b, 2, synAck2.Seq);
        b.Nothing();
        b.RunUntil(b.Now + TimeSpan.FromMinutes(1));
        var sent = b.TakeSent();
        Assert.Equal(3, sent.Count);
        Assert.All(sent.Take(2), s => Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, s.Flags));
        Assert.Equal(TcpFlags.Rst, sent[2].Flags);
        Assert.Equal(synAck2.Seq + 1, sent[2].Seq); // the client's RCV.NXT: acceptable (RFC 9293 §3.10.7.4)
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(1, b.Layer.ConnectionCount);   // only the queued one
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflowResets);
    }

    [Fact]
    public void A_half_open_connection_never_acknowledged_still_expires_silently()
    {
        var (b, l, _) = FullQueueWithHalfOpen(new TcpSettings { SynQueueLength = 4, MaxSynAckRetries = 2 });
        b.RunUntil(b.Now + TimeSpan.FromMinutes(1));
        Assert.All(b.TakeSent(), s => Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, s.Flags));
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(0, b.Layer.Stats.AcceptQueueOverflowResets);
    }

    [Fact]
    public void With_AbortOnOverflow_the_overflowing_client_is_reset_at_once()
    {
        var (b, l, synAck2) = FullQueueWithHalfOpen(new TcpSettings { SynQueueLength = 4, AbortOnOverflow = true });
        Ack(b, 2, synAck2.Seq);
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(synAck2.Seq + 1, rst.Seq);
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(1, b.Layer.ConnectionCount);
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflows);
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflowResets);
    }

    /// <summary>Backlog 1, SYN queue 1: port 1 half-open, port 2 answered with a cookie, then port 1 fills the accept queue.</summary>
    private static (TcpBench B, TcpListenSocket L, SentSegment Cookie) FullQueueWithCookie(TcpSettings settings)
    {
        var b = new TcpBench(settings);
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 1);
        var synAck1 = Syn(b, 1);
        var cookie = Syn(b, 2);
        Assert.Equal(1, b.Layer.Stats.SynCookiesSent);
        Ack(b, 1, synAck1.Seq);
        Assert.Equal(1, l.PendingAccepts);
        Assert.Equal(0, l.HalfOpen);
        b.Nothing();
        return (b, l, cookie);
    }

    [Fact]
    public void A_cookie_ACK_that_finds_the_queue_full_is_kept_half_open_and_completes_once_there_is_room()
    {
        // The cookie kept no state to retransmit; the client believes it is connected. With room in the SYN queue the
        // handshake is kept there, as if the SYN had found room, and its SYN,ACK (the cookie's ISN) is retransmitted.
        var (b, l, cookie) = FullQueueWithCookie(new TcpSettings { SynQueueLength = 1 });
        Ack(b, 2, cookie.Seq);
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflows);
        Assert.Equal(1, l.HalfOpen);
        Assert.Equal(2, b.Layer.ConnectionCount);

        Assert.True(l.TryAccept(out _));
        b.Advance(TimeSpan.FromSeconds(1));
        var again = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, again.Flags);
        Assert.Equal(cookie.Seq, again.Seq);
        Assert.Equal(cookie.Repr.Mss, again.Repr.Mss);
        Ack(b, 2, cookie.Seq, [7], TcpFlags.Psh);
        Assert.True(l.TryAccept(out var c2));
        Assert.Equal(TcpState.Established, c2.State);
        Assert.Equal(1, c2.ReceiveQueueLength);
        Assert.Equal(1460, c2.SendMss);
        Assert.Equal(0, l.HalfOpen);
    }

    [Fact]
    public void A_cookie_half_open_connection_resets_the_client_when_its_retransmissions_run_out()
    {
        var (b, l, cookie) = FullQueueWithCookie(new TcpSettings { SynQueueLength = 1, MaxSynAckRetries = 1 });
        Ack(b, 2, cookie.Seq);
        b.RunUntil(b.Now + TimeSpan.FromMinutes(1));
        var sent = b.TakeSent();
        Assert.Equal([TcpFlags.Syn | TcpFlags.Ack, TcpFlags.Rst], sent.Select(s => s.Flags));
        Assert.Equal(cookie.Seq + 1, sent[1].Seq);
        Assert.Equal(0, l.HalfOpen);
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflowResets);
    }

    [Fact]
    public void A_bare_cookie_ACK_with_no_room_at_all_is_reset_and_a_cookie_ACK_with_data_is_dropped_for_its_retransmission()
    {
        // SYN queue 1 and port 3 half-open in it: nowhere to keep port 2's handshake. A bare ACK is never retransmitted,
        // so only a RST keeps the client's view true; data is retransmitted, and the cookie is checked again then.
        var b = new TcpBench(new TcpSettings { SynQueueLength = 1 });
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 1);
        var synAck1 = Syn(b, 1);
        var cookie2 = Syn(b, 2);
        var cookie3 = Syn(b, 3);
        var cookie4 = Syn(b, 4);
        Assert.Equal(3, b.Layer.Stats.SynCookiesSent);
        Ack(b, 1, synAck1.Seq);          // the accept queue is full, the SYN queue empty
        Ack(b, 2, cookie2.Seq);          // kept half-open: the SYN queue is full now
        b.Nothing();
        Assert.Equal(1, l.HalfOpen);

        Ack(b, 4, cookie4.Seq);          // bare ACK, no room anywhere: RST at the client's RCV.NXT
        var rst = b.Single();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(cookie4.Seq + 1, rst.Seq);
        Ack(b, 3, cookie3.Seq, [9, 9], TcpFlags.Psh); // data: dropped, the client retransmits it
        b.Nothing();
        Assert.Equal(3, b.Layer.Stats.AcceptQueueOverflows);
        Assert.Equal(1, b.Layer.Stats.AcceptQueueOverflowResets);
        Assert.Equal(2, b.Layer.ConnectionCount);

        // The application accepts; port 3's retransmitted data carries the still valid cookie and opens the connection.
        Assert.True(l.TryAccept(out _));
        b.Advance(TimeSpan.FromMilliseconds(300));
        b.TakeSent();
        Ack(b, 3, cookie3.Seq, [9, 9], TcpFlags.Psh);
        Assert.True(l.TryAccept(out var c3));
        Assert.Equal(new IpEndpoint(TcpBench.Peer, 3), c3.Remote);
        Assert.Equal(2, c3.ReceiveQueueLength);
    }
}
