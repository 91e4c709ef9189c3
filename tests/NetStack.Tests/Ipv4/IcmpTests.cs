using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

public class IcmpTests
{
    private sealed record Decoded(Ipv4Address Source, Ipv4Address Destination, int TotalLength, Icmpv4Type Type, byte Code,
        ushort Identifier, ushort SequenceNumber, byte[] EchoData, byte[] OriginalDatagram);

    private static Decoded Parse(byte[] frame, out byte[] ipBytes)
    {
        ipBytes = Frames.IpOf(frame)!;
        Assert.NotNull(ipBytes);
        // Both checksums are checked by the kit.
        var p = Expect.Frame(frame).Ipv4(protocol: IpProtocol.Icmp).Icmpv4();
        return new Decoded(p.Source.V4, p.Destination.V4, p.IpBytes.Length, (Icmpv4Type)p.IcmpTypeCode.Type, p.IcmpTypeCode.Code,
            p.IcmpEcho.Identifier, p.IcmpEcho.Sequence, p.IcmpBody, p.IcmpOriginalDatagram);
    }

    [Fact]
    public void Echo_request_is_answered_with_identical_identifier_sequence_and_data_RFC792()
    {
        var h = new SingleHost();
        h.Introduce();
        var data = Frames.Pattern(56, 3);
        var sent = h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, 64), Frames.EchoRequest(0x1234, 7, data)));
        var d = Parse(Assert.Single(sent), out _);
        Assert.Equal(Us, d.Source);
        Assert.Equal(Peer, d.Destination);
        Assert.Equal(Icmpv4Type.EchoReply, d.Type);
        Assert.Equal(0x1234, d.Identifier);
        Assert.Equal(7, d.SequenceNumber);
        Assert.Equal(data, d.EchoData);
    }

    [Fact]
    public void Echo_request_to_broadcast_is_ignored_as_Linux_does_RFC1122_3_2_2_6()
    {
        var h = new SingleHost();
        h.Introduce();
        var sent = h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Ipv4Address.Broadcast, IpProtocol.Icmp, 16), Frames.EchoRequest(1, 1, new byte[8])), MacAddress.Broadcast);
        Assert.Empty(sent);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IcmpEchoIgnored));
    }

    [Fact]
    public void Bad_ICMP_checksum_is_dropped_and_counted()
    {
        var h = new SingleHost();
        h.Introduce();
        var icmp = Frames.EchoRequest(1, 1, new byte[8]);
        icmp[2] ^= 0xFF;
        Assert.Empty(h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, icmp.Length), icmp)));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IcmpBadChecksum));
    }

    [Fact]
    public void Datagram_for_an_unimplemented_protocol_earns_protocol_unreachable_RFC1122_3_2_2_1()
    {
        var h = new SingleHost();
        h.Introduce();
        var offending = Frames.Ip(new Ipv4Repr(Peer, Us, (IpProtocol)99, 40, Identification: 77), Frames.Pattern(40));
        var d = Parse(Assert.Single(h.PushIp(offending)), out _);
        Assert.Equal(Icmpv4Type.DestinationUnreachable, d.Type);
        Assert.Equal((byte)Icmpv4UnreachableCode.ProtocolUnreachable, d.Code);
        Assert.Equal(Us, d.Source);
        Assert.Equal(offending, d.OriginalDatagram);
    }

    [Fact]
    public void Port_unreachable_verdict_earns_port_unreachable_quoting_at_most_576_bytes_RFC1812_4_3_2_3()
    {
        var h = new SingleHost();
        h.Stack.RegisterTransport(IpProtocol.Udp, new RecordingTransport(TransportVerdict.PortUnreachable));
        h.Introduce();
        var offending = Udp(Peer, Us, 1400);
        var d = Parse(Assert.Single(h.PushIp(offending)), out var bytes);
        Assert.Equal((byte)Icmpv4UnreachableCode.PortUnreachable, d.Code);
        Assert.Equal(576, bytes.Length);
        Assert.Equal(offending.AsSpan(0, 548).ToArray(), d.OriginalDatagram);
        Assert.Equal(576, d.TotalLength);
    }

    [Fact]
    public void No_error_about_a_broadcast_datagram_RFC1122_3_2_2()
    {
        var h = new SingleHost();
        h.Stack.RegisterTransport(IpProtocol.Udp, new RecordingTransport(TransportVerdict.PortUnreachable));
        h.Introduce();
        Assert.Empty(h.PushIp(Udp(Peer, Ipv4Address.Parse("192.0.2.255"), 20), MacAddress.Broadcast));
    }

    [Fact]
    public void No_error_about_an_ICMP_error_RFC1122_3_2_2()
    {
        var h = new SingleHost();
        h.Introduce();
        // A time exceeded quoting something, sent to us, with an unknown inner protocol: must not earn an error.
        var inner = Udp(Us, Peer, 8);
        var err = new byte[Icmpv4ErrorRepr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceededInTransit, inner.Length).BufferLength];
        Icmpv4ErrorRepr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceededInTransit, inner.Length).Write(err, inner);
        Assert.Empty(h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, err.Length), err)));
    }

    [Fact]
    public void Generated_errors_are_rate_limited_by_a_token_bucket_RFC1812_4_3_2_8()
    {
        var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, IcmpErrorBurst = 5, IcmpErrorsPerSecond = 10 });
        h.Introduce();
        int errors = 0;
        for (int i = 0; i < 50; i++) errors += h.PushIp(Udp(Peer, Us, 8, id: (ushort)i)).Count;
        Assert.Equal(5, errors);
        Assert.Equal(45, h.Stack.Statistics.Drops(DropReason.IcmpRateLimited));
        h.Advance(TimeSpan.FromSeconds(1));
        errors = 0;
        for (int i = 0; i < 50; i++) errors += h.PushIp(Udp(Peer, Us, 8, id: (ushort)i)).Count;
        Assert.Equal(5, errors);
    }

    private static byte[] ErrorAbout(byte[] ourDatagram, Icmpv4ErrorRepr repr)
    {
        var err = new byte[repr.BufferLength];
        repr.Write(err, ourDatagram);
        return Frames.Ip(new Ipv4Repr(Gateway, Us, IpProtocol.Icmp, err.Length, Ttl: 250), err);
    }

    [Fact]
    public void Received_error_is_delivered_to_the_quoted_protocols_transport_RFC1122_3_2_2()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        var ours = Udp(Us, Ipv4Address.Parse("203.0.113.5"), 32);
        h.PushIp(ErrorAbout(ours, Icmpv4ErrorRepr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceededInTransit, ours.Length)));
        var (error, quoted) = Assert.Single(udp.Errors);
        Assert.Equal(Gateway, error.Reporter.V4);
        Assert.Equal(11, error.Type);
        Assert.Equal(Us, error.OriginalSource.V4);
        Assert.Equal(Ipv4Address.Parse("203.0.113.5"), error.OriginalDestination.V4);
        Assert.Equal(IpProtocol.Udp, error.OriginalProtocol);
        Assert.Equal(250, error.ReceivedTtl);
        Assert.Equal(Frames.Pattern(32), quoted);
    }

    [Fact]
    public void Error_quoting_someone_elses_datagram_is_dropped_as_unmatched()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        var theirs = Udp(Ipv4Address.Parse("192.0.2.50"), Ipv4Address.Parse("203.0.113.5"), 32);
        h.PushIp(ErrorAbout(theirs, Icmpv4ErrorRepr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceededInTransit, theirs.Length)));
        Assert.Empty(udp.Errors);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IcmpErrorUnmatched));
    }

    [Fact]
    public void Fragmentation_needed_lowers_the_path_MTU_for_that_destination_RFC1191_4()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        var far = Ipv4Address.Parse("203.0.113.5");
        Assert.Equal(1480, h.Stack.MaxTransportPayload(far));
        var ours = Udp(Us, far, 1472, df: true);
        h.PushIp(ErrorAbout(ours, Icmpv4ErrorRepr.Unreachable(Icmpv4UnreachableCode.FragmentationNeeded, ours.Length, nextHopMtu: 1400)));
        Assert.Equal(1380, h.Stack.MaxTransportPayload(far));
        Assert.Equal(1480, h.Stack.MaxTransportPayload(Ipv4Address.Parse("203.0.113.6")));
        Assert.Equal(1400u, Assert.Single(udp.Errors).Error.Parameter);
        // RFC 1191 §6.3: the estimate ages out.
        h.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(1480, h.Stack.MaxTransportPayload(far));
    }

    [Fact]
    public void Sending_larger_than_the_path_MTU_with_DF_is_refused_as_too_big()
    {
        var h = new SingleHost();
        h.Introduce();
        var r = h.Stack.Send(Us, Peer, IpProtocol.Udp, new byte[1600], new IpSendOptions(dontFragment: true), h.Now);
        Assert.Equal(IpSendResult.TooBig, r);
    }
}
