using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Connection establishment (RFC 9293 §3.5) and the options negotiated in it.</summary>
public sealed class TcpHandshakeTests
{
    [Theory, BothFamilies]
    public void Active_open_sends_SYN_with_MSS_window_scale_SACK_permitted_and_timestamps(IpVersion family)
    {
        var b = new TcpBench(new TcpSettings { ReceiveBufferSize = 192 * 1024, ReceiveBufferMax = 0 }, family: family); // a fixed buffer (no auto-tuning)
        var c = b.Layer.Connect(new IpEndpoint(Families.B(family), 80), b.Now);
        var syn = b.Single();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(TcpState.SynSent, c.State);
        Assert.Equal((ushort)1460, syn.Repr.Mss);           // RFC 9293 §3.7.1: MTU 1500 - 20 - 20
        Assert.Equal((byte)2, syn.Repr.WindowScale);        // RFC 7323 §2.2: 192 KB needs a shift of 2
        Assert.True(syn.Repr.SackPermitted);                // RFC 2018 §2
        Assert.NotNull(syn.Repr.Timestamps);                // RFC 7323 §3.2
        Assert.Equal(0u, syn.Repr.Timestamps!.Value.Echo);
        Assert.Equal((ushort)65535, syn.Repr.Window);       // RFC 7323 §2.2: never scaled in a SYN
        Assert.InRange((int)syn.Repr.SourcePort, 49152, 65535); // RFC 6335 dynamic range
    }

    [Theory, BothFamilies]
    public void SYN_ACK_completes_the_active_open_with_an_ACK(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Connect();
        Assert.Equal(TcpState.Established, c.State);
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Connected));
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Writable));
        Assert.True(c.WindowScalingEnabled && c.SackEnabled && c.TimestampsEnabled);
        Assert.Equal(1460 - 12, c.SendMss); // RFC 6691: timestamps take 12 bytes of each segment
    }

    [Theory, BothFamilies]
    public void Passive_open_answers_SYN_with_SYN_ACK_acknowledging_the_peer_ISN(IpVersion family)
    {
        var b = new TcpBench(family: family);
        b.Layer.Listen(new IpEndpoint(Families.A(family), 80), 4);
        b.PeerSends(TcpFlags.Syn, window: 8192);
        var synAck = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(new SeqNumber(1001), synAck.Ack);
    }

    [Theory, BothFamilies]
    public void SYN_ACK_carries_only_the_options_the_SYN_offered(IpVersion family)
    {
        // RFC 7323 §2.2 and §3.2, RFC 2018 §2: no window scale, timestamps or SACK-permitted unless the SYN had them.
        var b = new TcpBench(family: family);
        b.Layer.Listen(new IpEndpoint(Families.A(family), 80), 4);
        b.Deliver(new TcpRepr { SourcePort = TcpBench.PeerPort, DestinationPort = 80, SequenceNumber = new(1000), Flags = TcpFlags.Syn, Window = 1000, Mss = 1000 });
        var synAck = b.Single();
        Assert.Null(synAck.Repr.WindowScale);
        Assert.Null(synAck.Repr.Timestamps);
        Assert.False(synAck.Repr.SackPermitted);
        Assert.NotNull(synAck.Repr.Mss);
    }

    [Theory, BothFamilies]
    public void Without_an_MSS_option_the_peer_MSS_defaults_to_536_for_IPv4_and_1220_for_IPv6(IpVersion family)
    {
        // RFC 9293 §3.7.1 (MUST-15); for IPv6 the minimum MTU 1280 (RFC 8200 §5) less 60 bytes of headers.
        var b = new TcpBench(family: family);
        var c = b.Accept(options: false);
        Assert.Equal(family == IpVersion.V4 ? 536 : 1220, c.SendMss);
    }

    [Theory, BothFamilies]
    public void Our_MSS_follows_the_path_MTU(IpVersion family)
    {
        // RFC 9293 §3.7.1: MSS = MTU minus fixed IP and TCP headers.
        var b = new TcpBench(family: family);
        b.Ip.Mtu = 1280;
        b.Layer.Connect(new IpEndpoint(Families.B(family), 80), b.Now);
        Assert.Equal((ushort)(family == IpVersion.V4 ? 1240 : 1220), b.Single().Repr.Mss); // 1280 - 20 (or 40) - 20
    }

    [Theory, BothFamilies]
    public void Third_segment_moves_the_passive_side_to_ESTABLISHED_and_into_the_accept_queue(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var c = b.Accept();
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(Families.B(family), c.Remote.Address);
    }

    [Theory, BothFamilies]
    public void Simultaneous_open_goes_through_SYN_RECEIVED(IpVersion family)
    {
        // RFC 9293 §3.5 figure 7.
        var b = new TcpBench(family: family);
        var (c, syn) = b.SendSyn();
        b.OurSeq = syn.Seq + 1;
        b.PeerSends(TcpFlags.Syn);
        Assert.Equal(TcpState.SynReceived, c.State);
        var synAck = b.Single();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(syn.Seq, synAck.Seq);
        Assert.Equal(b.PeerSeq, synAck.Ack);
        b.PeerSends(TcpFlags.Syn | TcpFlags.Ack, seq: b.PeerSeq - 1);
        b.PeerSends(TcpFlags.Ack);
        Assert.Equal(TcpState.Established, c.State);
    }

    [Theory, BothFamilies]
    public void Unanswered_SYN_is_retransmitted_with_back_off_then_times_out(IpVersion family)
    {
        // RFC 6298 §2.1 (initial RTO 1 s) and §5.5 (double on expiry); RFC 1122 §4.2.3.5 (give up, R2).
        var b = new TcpBench(new TcpSettings { MaxSynRetries = 3 }, family: family);
        var c = b.Layer.Connect(new IpEndpoint(Families.B(family), 80), b.Now);
        var start = b.Now;
        b.Single();
        var times = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            b.Advance(b.Layer.NextDeadline - b.Now);
            var s = b.Single();
            Assert.Equal(TcpFlags.Syn, s.Flags);
            times.Add((b.Now - start).TotalSeconds);
        }
        Assert.Equal(new[] { 1.0, 3.0, 7.0 }, times);
        b.Advance(b.Layer.NextDeadline - b.Now);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.TimedOut, c.Error);
    }

    [Theory, BothFamilies]
    public void ISNs_differ_per_connection_and_advance_with_the_clock(IpVersion family)
    {
        // RFC 6528 §3: ISN = M + F(4-tuple, secret), M ticking every 4 µs.
        var b = new TcpBench(family: family);
        b.Layer.Connect(new IpEndpoint(Families.B(family), 80), b.Now);
        var first = b.Single();
        b.Layer.Connect(new IpEndpoint(Families.B(family), 81), b.Now);
        var second = b.Single();
        Assert.NotEqual(first.Seq, second.Seq);

        var b2 = new TcpBench(family: family);
        b2.Advance(TimeSpan.FromSeconds(1));
        b2.Layer.Connect(new IpEndpoint(Families.B(family), 80), b2.Now);
        var later = b2.Single();
        if (later.Repr.SourcePort == first.Repr.SourcePort)
            Assert.Equal(250_000, later.Seq - first.Seq); // same tuple and secret (same seed): exactly 1 s / 4 µs later
    }

    [Theory, BothFamilies]
    public void RST_ACK_answering_our_SYN_refuses_the_connection(IpVersion family)
    {
        // RFC 9293 §3.10.7.3: RST with an acceptable ACK in SYN-SENT.
        var b = new TcpBench(family: family);
        var (c, syn) = b.SendSyn();
        b.PeerSends(TcpFlags.Rst | TcpFlags.Ack, seq: new SeqNumber(0), ack: syn.Seq + 1);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Refused, c.Error);
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Closed));
    }

    [Theory, BothFamilies]
    public void RST_with_an_unacceptable_ACK_in_SYN_SENT_is_ignored(IpVersion family)
    {
        var b = new TcpBench(family: family);
        var (c, syn) = b.SendSyn();
        b.PeerSends(TcpFlags.Rst | TcpFlags.Ack, seq: new SeqNumber(0), ack: syn.Seq + 100);
        Assert.Equal(TcpState.SynSent, c.State);
        b.Nothing();
    }

    [Theory, BothFamilies]
    public void Bad_checksum_is_dropped_and_counted(IpVersion family)
    {
        var b = new TcpBench(family: family);
        b.Layer.Listen(new IpEndpoint(Families.A(family), 80), 4);
        var repr = new TcpRepr { SourcePort = TcpBench.PeerPort, DestinationPort = 80, SequenceNumber = new(1), Flags = TcpFlags.Syn, Window = 100 };
        b.Deliver(repr, corruptChecksum: true);
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.BadChecksum);
    }
}
