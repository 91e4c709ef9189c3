using NetStack.Transport.Tcp;
using NetStack.Wire;
using Xunit.Sdk;

namespace NetStack.Tests.Support;

/// <summary>The packet checker itself: it passes what is right, and fails, with the frame decoded, on what is not.</summary>
public sealed class ExpectTests
{
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:02");

    private static byte[] SynAck(IpVersion family, bool corruptTcp = false)
    {
        var tcp = new TcpRepr
        {
            SourcePort = 80, DestinationPort = 40000, SequenceNumber = new SeqNumber(1000), AckNumber = new SeqNumber(2001),
            Flags = TcpFlags.Syn | TcpFlags.Ack, Window = 65535, Mss = 1460, WindowScale = 7, SackPermitted = true,
        };
        var (src, dst) = (Families.A(family), Families.B(family));
        var segment = new byte[tcp.BufferLength(0)];
        tcp.Write(segment, default, src, dst);
        if (corruptTcp) segment[16] ^= 0xFF;
        int ipHeader = Families.IpHeaderLength(family);
        var frame = new byte[14 + ipHeader + segment.Length];
        new EthernetRepr(MacA, MacB, family == IpVersion.V4 ? EtherType.Ipv4 : EtherType.Ipv6).Write(frame);
        if (family == IpVersion.V4) new Ipv4Repr(src.V4, dst.V4, IpProtocol.Tcp, segment.Length).Write(frame.AsSpan(14));
        else new Ipv6Repr(src.V6, dst.V6, IpProtocol.Tcp, segment.Length, 64).Write(frame.AsSpan(14));
        segment.CopyTo(frame.AsSpan(14 + ipHeader));
        return frame;
    }

    [Theory, BothFamilies]
    public void A_right_SYN_ACK_passes_every_layer(IpVersion family)
    {
        var check = Expect.Frame(SynAck(family))
            .Ethernet(src: MacA, dst: MacB)
            .Ip(src: Families.A(family), dst: Families.B(family))
            .Tcp(srcPort: 80, dstPort: 40000, flags: TcpFlags.Syn | TcpFlags.Ack, seq: new SeqNumber(1000), ack: new SeqNumber(2001),
                mss: 1460, windowScale: 7, sackPermitted: true, timestamps: false, payloadLength: 0);
        Assert.Equal((ushort)1460, check.TcpHeader.Mss);
        Assert.Empty(check.Payload);
    }

    [Theory, BothFamilies]
    public void A_wrong_field_fails_naming_it_and_printing_the_decoded_frame(IpVersion family)
    {
        var e = Assert.Throws<XunitException>(() => Expect.Frame(SynAck(family)).Ip().Tcp(flags: TcpFlags.Syn));
        Assert.Contains("TCP flags is Syn, Ack, expected Syn", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{Families.A(family)} > {Families.B(family)}", e.Message, StringComparison.Ordinal);
        Assert.Contains("TCP 80 > 40000 [Syn, Ack] seq 1000 ack 2001", e.Message, StringComparison.Ordinal);
        Assert.Contains("mss 1460 wscale 7 sackOK", e.Message, StringComparison.Ordinal);
    }

    [Theory, BothFamilies]
    public void A_bad_TCP_checksum_fails(IpVersion family)
    {
        var e = Assert.Throws<XunitException>(() => Expect.Frame(SynAck(family, corruptTcp: true)).Tcp());
        Assert.Contains("TCP checksum is wrong", e.Message, StringComparison.Ordinal);
        Assert.Contains("BAD-CHECKSUM", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_IPv4_header_checksum_fails()
    {
        var frame = SynAck(IpVersion.V4);
        frame[14 + 10] ^= 0x01;
        var e = Assert.Throws<XunitException>(() => Expect.Frame(frame).Ipv4());
        Assert.Contains("IPv4 header checksum is wrong", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_wrong_layer_fails_with_what_the_packet_carries()
    {
        var e = Assert.Throws<XunitException>(() => Expect.Frame(SynAck(IpVersion.V6)).Ipv4());
        Assert.Contains("EtherType is Ipv6, not Ipv4", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<XunitException>(() => Expect.Frame(SynAck(IpVersion.V4)).Udp());
        Assert.Contains("carries Tcp, not Udp", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bare_segment_is_checked_over_the_addresses_given()
    {
        var frame = SynAck(IpVersion.V6);
        var segment = frame.AsSpan(14 + 40).ToArray();
        Expect.Segment(segment, Families.V6A, Families.V6B).Tcp(flags: TcpFlags.Syn | TcpFlags.Ack);
        Assert.Throws<XunitException>(() => Expect.Segment(segment, Families.V6A, Ipv6Address.Parse("2001:db8::3")).Tcp());
    }

    [Fact]
    public void Seeded_puts_the_seed_in_front_of_a_failure()
    {
        var e = Assert.Throws<XunitException>(() => Seeded.Run(42, () => Assert.Equal(1, 2)));
        Assert.StartsWith("seed 42 ", e.Message, StringComparison.Ordinal);
        Assert.Equal(7, Seeded.Run(43, () => 7));
    }
}
