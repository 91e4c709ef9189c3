using System.Buffers.Binary;
using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// RFC 9293 rules about addresses, IP controls, soft errors and the RTO after a SYN timeout: MUST-46, MUST-47, MUST-48,
/// MUST-49, MUST-56, MUST-57, MUST-63, and RFC 6298 §5.7.
/// </summary>
public sealed class TcpMustRulesTests
{
    private static readonly Ipv4Address Router = Ipv4Address.Parse("198.51.100.1");

    /// <summary>An ICMP error quoting our segment with sequence number <paramref name="seq"/>.</summary>
    private static void IcmpError(TcpBench b, byte type, byte code, SeqNumber seq, ushort localPort = TcpBench.UsPort, ushort remotePort = TcpBench.PeerPort)
    {
        var quoted = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quoted, localPort);
        BinaryPrimitives.WriteUInt16BigEndian(quoted.AsSpan(2), remotePort);
        BinaryPrimitives.WriteUInt32BigEndian(quoted.AsSpan(4), seq.Value);
        b.Layer.ReceiveIcmpError(new IcmpErrorInfo(Router, type, code, 0, TcpBench.Us, TcpBench.Peer, IpProtocol.Tcp, 60, 0), quoted, default, b.Now);
    }

    /// <summary>A SYN to port 80 from <paramref name="from"/>, as the IP layer would hand it up.</summary>
    private static TransportVerdict Syn(TcpBench b, IpAddress from, bool toBroadcastOrMulticast)
    {
        var syn = new TcpRepr { SourcePort = TcpBench.PeerPort, DestinationPort = 80, SequenceNumber = new SeqNumber(1), Flags = TcpFlags.Syn, Window = 1000 };
        var buf = new byte[syn.BufferLength(0)];
        int n = syn.Write(buf, default, from, TcpBench.Us);
        var info = new IpPacketInfo(from, TcpBench.Us, IpProtocol.Tcp, 64, 0, 0, 0, toBroadcastOrMulticast);
        return b.Layer.Receive(info, buf.AsSpan(0, n), b.Now);
    }

    [Theory]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("0.0.0.0")]
    [InlineData("ff02::1")]
    public void An_open_toward_a_broadcast_or_multicast_address_is_refused_MUST_46(string remote)
    {
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(IpAddress.Parse(remote), 80), b.Now);
        Assert.Equal(TcpState.Closed, c.State);
        Assert.Equal(TcpError.Unreachable, c.Error);
        b.Poll();
        b.Nothing();
    }

    [Fact]
    public void A_SYN_to_a_broadcast_or_multicast_address_is_silently_discarded_MUST_57()
    {
        var b = new TcpBench();
        b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        Assert.Equal(TransportVerdict.Dropped, Syn(b, TcpBench.Peer, toBroadcastOrMulticast: true));
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.BadAddress);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.5")]
    [InlineData("240.0.0.1")]
    public void A_SYN_from_an_invalid_source_address_is_ignored_MUST_63(string source)
    {
        var b = new TcpBench();
        var l = b.Layer.Listen(new IpEndpoint(TcpBench.Us, 80), 4);
        Assert.Equal(TransportVerdict.Dropped, Syn(b, IpAddress.Parse(source), toBroadcastOrMulticast: false));
        b.Nothing();
        Assert.Equal(0, l.HalfOpen);
    }

    [Fact]
    public void The_application_sets_the_DSCP_and_TTL_of_a_connections_segments_MUST_48_MUST_49()
    {
        var b = new TcpBench(new TcpSettings { TrafficClass = 0x28, HopLimit = 17 });
        var c = b.Accept();
        c.NoDelay = true;
        c.Send(new byte[10]);
        b.Poll();
        Assert.Equal((byte)0x28, b.Ip.Options[^1].TrafficClass);
        Assert.Equal((byte)17, b.Ip.Options[^1].Ttl);
        c.TrafficClass = 0xB9; // EF with ECN bits set: the ECN bits are not the application's
        c.HopLimit = 0;
        c.Send(new byte[10]);
        b.Poll();
        Assert.Equal((byte)0xB8, b.Ip.Options[^1].TrafficClass);
        Assert.Equal((byte)0, b.Ip.Options[^1].Ttl);
        Assert.True(b.Ip.Options[^1].DontFragment);
    }

    [Theory]
    [InlineData(3, 1, TcpSoftErrorKind.Unreachable)]       // host unreachable
    [InlineData(11, 0, TcpSoftErrorKind.TimeExceeded)]
    [InlineData(12, 0, TcpSoftErrorKind.ParameterProblem)]
    public void ICMP_soft_errors_are_reported_and_never_abort_MUST_47_MUST_56(byte type, byte code, TcpSoftErrorKind kind)
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.Send(new byte[100]);
        b.Poll();
        var seg = b.Single();
        long changes = 0;
        b.Layer.ConnectionChanged += _ => changes++;
        IcmpError(b, type, code, seg.Seq);
        Assert.Equal(TcpState.Established, c.State);
        Assert.Equal(1, c.SoftErrors);
        Assert.Equal(new TcpSoftError(kind, Router, type, code, b.Now), c.SoftError);
        Assert.Equal(1, changes);
    }

    [Fact]
    public void An_error_quoting_a_sequence_number_not_in_flight_is_not_believed_RFC5927()
    {
        var b = new TcpBench();
        var c = b.Accept();
        IcmpError(b, 3, 1, b.OurSeq + 100_000);
        Assert.Equal(0, c.SoftErrors);
    }

    [Fact]
    public void R1_is_reported_as_a_soft_error_SHLD_9()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.Send(new byte[10]);
        while (b.Layer.Stats.Timeouts < 3) b.RunUntil(b.Layer.NextDeadline);
        Assert.Equal(TcpSoftErrorKind.ExcessiveRetransmissions, c.SoftError.Kind);
    }

    [Fact]
    public void A_connection_that_times_out_after_an_ICMP_unreachable_reports_the_destination_unreachable()
    {
        // As Linux does (EHOSTUNREACH rather than ETIMEDOUT): the soft error explains the silence.
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now);
        var syn = b.Single();
        IcmpError(b, 3, 1, syn.Seq, syn.Repr.SourcePort, 80);
        Assert.Equal(TcpState.SynSent, c.State); // host unreachable is soft: the SYN is retried
        b.RunUntil(b.Now + TimeSpan.FromMinutes(4));
        Assert.Equal(TcpError.Unreachable, c.Error);
    }

    [Fact]
    public void After_a_SYN_timeout_data_starts_with_an_RTO_of_3_seconds_RFC6298_5_7()
    {
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now);
        var first = b.Single();
        b.Advance(TimeSpan.FromSeconds(1));
        var again = b.Single(); // the SYN again: no RTT sample from this handshake (Karn)
        Assert.Equal(first.Seq, again.Seq);
        b.UsPortUsed = first.Repr.SourcePort;
        b.PeerPortUsed = 80;
        b.PeerSends(TcpFlags.Syn | TcpFlags.Ack, ack: first.Seq + 1);
        Assert.Equal(TcpState.Established, c.State);
        b.TakeSent();
        c.Send(new byte[10]);
        b.Poll();
        var data = b.TakeSent().Single(s => s.Payload.Length > 0);
        // The tail loss probe goes first (RFC 8985: capped by the RTO); the RTO itself fires 3 s after the data.
        b.RunUntil(b.Now + TimeSpan.FromMilliseconds(2999));
        Assert.Equal(0, b.Layer.Stats.Timeouts);
        b.RunUntil(b.Now + TimeSpan.FromMilliseconds(2));
        Assert.Equal(1, b.Layer.Stats.Timeouts);
        Assert.Equal(data.Seq, b.TakeSent().Last(s => s.Payload.Length > 0).Seq);
    }

    [Fact]
    public void An_open_from_a_chosen_local_address_and_port_uses_them_MUST_43()
    {
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now, new IpEndpoint(TcpBench.Us, 5555));
        Assert.Equal(new IpEndpoint(TcpBench.Us, 5555), c.Local);
        Assert.Equal(TcpBench.Us, Assert.Single(b.Ip.Sent).Source);
        var syn = b.Single();
        Assert.Equal(5555, syn.Repr.SourcePort);
    }

    [Theory]
    [InlineData("192.0.2.77")]   // not ours
    [InlineData("2001:db8::1")]  // another family than the remote's
    public void An_open_from_an_address_that_is_not_ours_is_refused_MUST_44(string local)
    {
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now, new IpEndpoint(IpAddress.Parse(local), 0));
        Assert.Equal(TcpError.AddressNotAvailable, c.Error);
        b.Poll();
        b.Nothing();
    }

    [Fact]
    public void An_open_on_a_four_tuple_in_use_is_refused()
    {
        var b = new TcpBench();
        b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now, new IpEndpoint(TcpBench.Us, 5555));
        var again = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now, new IpEndpoint(TcpBench.Us, 5555));
        Assert.Equal(TcpError.AddressNotAvailable, again.Error);
    }
}
