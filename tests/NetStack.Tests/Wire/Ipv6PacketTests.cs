using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>The IPv6 fixed header view and writer (RFC 8200 §3).</summary>
public sealed class Ipv6PacketTests
{
    internal static readonly Gen<Ipv6Address> GenAddress = Gen.Select(Gen.ULong, Gen.ULong, (h, l) => new Ipv6Address(h, l));

    private static readonly Gen<(Ipv6Repr Repr, byte[] Payload)> GenPacket =
        Gen.Select(GenAddress, GenAddress, Gen.Byte, Gen.Byte, Gen.Byte, Gen.UInt[0, 0xFFFFF], Gen.Byte.Array[0, 100])
            .Select(t => (new Ipv6Repr(t.Item1, t.Item2, (IpProtocol)(t.Item3 == 0 ? 59 : t.Item3), t.Item7.Length, t.Item4, t.Item5, t.Item6), t.Item7));

    internal static byte[] Packet(Ipv6Repr repr, ReadOnlySpan<byte> payload, int trailing = 0)
    {
        var b = new byte[Ipv6Packet.HeaderLength + payload.Length + trailing];
        repr.Write(b);
        payload.CopyTo(b.AsSpan(Ipv6Packet.HeaderLength));
        return b;
    }

    private static readonly Ipv6Repr Sample = new(Ipv6Address.Parse("2001:db8::1"), Ipv6Address.Parse("2001:db8::2"),
        IpProtocol.Udp, 8, 64, 0xB8, 0x12345);

    [Fact]
    public void Written_header_round_trips_through_the_view_for_random_fields()
    {
        GenPacket.Sample(t =>
        {
            var bytes = Packet(t.Repr, t.Payload);
            Assert.True(Ipv6Packet.TryParse(bytes, out var p, out var e), e.ToString());
            Assert.Equal(t.Repr, p.ToRepr());
            Assert.Equal(6, p.Version);
            Assert.True(p.Payload.SequenceEqual(t.Payload));
        });
    }

    [Fact]
    public void Fields_sit_where_RFC_8200_section_3_puts_them()
    {
        var b = Packet(Sample, new byte[8]);
        Assert.Equal(0x6B, b[0]);           // version 6, traffic class high nibble 0xB
        Assert.Equal(0x81, b[1]);           // traffic class low nibble 8, flow label top nibble 1
        Assert.Equal(0x23, b[2]);
        Assert.Equal(0x45, b[3]);
        Assert.True(Ipv6Packet.TryParse(b, out var p, out _));
        Assert.Equal(46, p.Dscp);           // EF
        Assert.Equal(0, p.Ecn);
        Assert.Equal(0x12345u, p.FlowLabel);
    }

    [Fact]
    public void Trailing_link_padding_is_excluded_from_the_payload()
    {
        var b = Packet(Sample, new byte[8], trailing: 6);
        Assert.True(Ipv6Packet.TryParse(b, out var p, out _));
        Assert.Equal(8, p.Payload.Length);
        Assert.Equal(48, p.Bytes.Length);
    }

    [Fact]
    public void Every_truncation_of_a_valid_packet_is_rejected_as_Truncated_without_throwing()
    {
        var b = Packet(Sample, new byte[8]);
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(Ipv6Packet.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.Truncated, e);
        }
    }

    [Fact]
    public void A_quoted_packet_cut_short_is_accepted_by_TryParseQuoted_and_marked_truncated()
    {
        var b = Packet(Sample, new byte[8]);
        Assert.True(Ipv6Packet.TryParseQuoted(b.AsSpan(0, 44), out var p, out _));
        Assert.True(p.IsTruncated);
        Assert.Equal(8, p.PayloadLength);
        Assert.Equal(4, p.Payload.Length);
    }

    [Fact]
    public void A_version_other_than_6_is_rejected_as_BadVersion()
    {
        var b = Packet(Sample, new byte[8]);
        b[0] = 0x45;
        Assert.False(Ipv6Packet.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadVersion, e);
    }

    [Fact]
    public void Payload_length_zero_with_Hop_by_Hop_is_a_jumbogram_rejected_as_Unsupported()
    {
        // RFC 2675 §3: a jumbogram has payload length 0 and a Jumbo Payload option in a Hop-by-Hop header.
        var b = Packet(Sample with { NextHeader = IpProtocol.HopByHop, PayloadLength = 0 }, new byte[8]);
        Assert.False(Ipv6Packet.TryParse(b, out _, out var e));
        Assert.Equal(WireError.Unsupported, e);
    }

    [Fact]
    public void Capture_with_payload_length_beyond_the_frame_is_rejected_as_Truncated()
    {
        // zeek-ip6-ext-trunc.pcap: payload length 20, Hop-by-Hop announced, nothing after the fixed header.
        var frame = Ipv6TestCaptures.ReadFrames("zeek-ip6-ext-trunc.pcap").Single();
        Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
        Assert.False(Ipv6Packet.TryParse(eth.Payload, out _, out var e));
        Assert.Equal(WireError.Truncated, e);
    }
}
