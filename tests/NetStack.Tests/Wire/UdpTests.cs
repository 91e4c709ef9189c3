using System.Buffers.Binary;
using CsCheck;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 768 UDP, with IPv4 and IPv6 pseudo-header checksums.</summary>
public class UdpTests
{
    private static readonly IpAddress V4Src = new Ipv4Address(192, 0, 2, 1);
    private static readonly IpAddress V4Dst = new Ipv4Address(198, 51, 100, 7);
    private static readonly IpAddress V6Src = Ipv6Address.Parse("2001:db8::1");
    private static readonly IpAddress V6Dst = Ipv6Address.Parse("2001:db8::2");

    private static byte[] Build(UdpRepr repr, byte[] payload, IpAddress src, IpAddress dst)
    {
        var b = new byte[repr.BufferLength];
        repr.Write(b, src, dst, payload);
        return b;
    }

    [Fact]
    public void Datagrams_round_trip_with_a_valid_checksum_over_both_families()
    {
        Gen.Select(Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 1500], Gen.Bool, Gen.UInt).Sample((sp, dp, payload, v6, addr) =>
        {
            IpAddress src = v6 ? V6Src : new Ipv4Address(addr);
            IpAddress dst = v6 ? V6Dst : V4Dst;
            var repr = new UdpRepr(sp, dp, payload.Length);
            var b = Build(repr, payload, src, dst);
            Assert.True(UdpDatagram.TryParse(b, out var udp, out var error), error.ToString());
            Assert.Equal(repr, udp.ToRepr());
            Assert.True(udp.Payload.SequenceEqual(payload));
            Assert.NotEqual(0, udp.ChecksumField);
            Assert.True(udp.VerifyChecksum(src, dst));
        });
    }

    [Fact]
    public void A_computed_zero_checksum_is_sent_as_all_ones()
    {
        // RFC 768: "If the computed checksum is zero, it is transmitted as all ones."
        // Find a payload word that makes the sum 0xFFFF (checksum 0): solve for the last two bytes.
        var repr = new UdpRepr(1000, 2000, 2);
        var b = new byte[10];
        repr.WriteWithoutChecksum(b);
        ulong partial = Checksum.Accumulate(b, Checksum.PseudoHeader(V4Src, V4Dst, 17, 10));
        ushort word = (ushort)~Checksum.Fold(partial); // adding this word makes the folded sum 0xFFFF
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(8), word);
        repr.Write(b, V4Src, V4Dst);
        Assert.Equal(0xFFFF, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(6)));
        Assert.True(UdpDatagram.TryParse(b, out var udp, out _));
        Assert.True(udp.VerifyChecksum(V4Src, V4Dst));
    }

    [Fact]
    public void A_zero_checksum_means_not_computed_over_IPv4_but_is_refused_over_IPv6()
    {
        var b = new byte[12];
        new UdpRepr(1, 2, 4).WriteWithoutChecksum(b);
        Assert.True(UdpDatagram.TryParse(b, out var udp, out _));
        Assert.True(udp.VerifyChecksum(V4Src, V4Dst));   // RFC 768
        Assert.False(udp.VerifyChecksum(V6Src, V6Dst));  // RFC 8200 §8.1
    }

    [Fact]
    public void A_corrupted_byte_fails_the_checksum()
    {
        var b = Build(new UdpRepr(53, 5353, 4), [1, 2, 3, 4], V4Src, V4Dst);
        b[9] ^= 0x40;
        Assert.True(UdpDatagram.TryParse(b, out var udp, out _));
        Assert.False(udp.VerifyChecksum(V4Src, V4Dst));
    }

    [Fact]
    public void Length_below_eight_is_BadLength()
    {
        var b = Build(new UdpRepr(1, 2, 0), [], V4Src, V4Dst);
        b[5] = 7;
        Assert.False(UdpDatagram.TryParse(b, out _, out var error));
        Assert.Equal(WireError.BadLength, error);
    }

    [Fact]
    public void Length_beyond_the_buffer_is_Truncated_and_bytes_after_it_are_not_payload()
    {
        var b = Build(new UdpRepr(1, 2, 4), [1, 2, 3, 4], V4Src, V4Dst);
        Assert.False(UdpDatagram.TryParse(b.AsSpan(0, 11), out _, out var error));
        Assert.Equal(WireError.Truncated, error);
        var padded = new byte[20];
        b.CopyTo(padded, 0);
        Assert.True(UdpDatagram.TryParse(padded, out var udp, out _));
        Assert.Equal(4, udp.Payload.Length);
        Assert.True(udp.VerifyChecksum(V4Src, V4Dst));
    }

    [Fact]
    public void Emitting_and_parsing_an_ethernet_ipv4_udp_frame_allocates_nothing()
    {
        var frame = new byte[14 + 20 + 8 + 100];
        var v4src = new Ipv4Address(192, 0, 2, 1);
        var v4dst = new Ipv4Address(192, 0, 2, 2);
        int RoundTrip()
        {
            int o = new EthernetRepr(new MacAddress(1), new MacAddress(2), EtherType.Ipv4).Write(frame);
            var udp = new UdpRepr(1, 2, 100);
            o += new Ipv4Repr(v4src, v4dst, IpProtocol.Udp, udp.BufferLength).Write(frame.AsSpan(o));
            udp.Write(frame.AsSpan(o), v4src, v4dst);
            if (!EthernetFrame.TryParse(frame, out var eth, out _) || !Ipv4Packet.TryParse(eth.Payload, out var ip, out _)
                || !ip.ChecksumValid || !UdpDatagram.TryParse(ip.Payload, out var d, out _) || !d.VerifyChecksum(ip.Source, ip.Destination)) return -1;
            return d.Payload.Length;
        }
        Assert.Equal(100, RoundTrip());
        Assert.Equal(0, Allocations.SteadyState(() => RoundTrip()));
    }

    [Theory]
    [InlineData("tcpdump-dns_udp.pcap")]
    [InlineData("cs-dns_query_response.pcapng")]
    [InlineData("cs-dhcp_nolease_initialization.pcapng")]
    public void Decoded_fields_agree_with_tshark(string file)
    {
        var rows = Tshark.Fields(file, ["udp.srcport", "udp.dstport", "udp.length", "udp.checksum.status"],
            "udp && !icmp && ip", "-o", "udp.check_checksum:TRUE");
        Assert.NotEmpty(rows);
        var frames = Captures.Read(file);
        foreach (var (number, row) in rows)
        {
            var d = EthernetDecoder.Decode(frames[number - 1].Data);
            Assert.True(d.Udp.HasValue, $"frame {number}: {d.FailedLayer} {d.Error}");
            var udp = d.Udp.Value;
            Assert.Equal(Tshark.Number(row[0]), udp.SourcePort);
            Assert.Equal(Tshark.Number(row[1]), udp.DestinationPort);
            Assert.Equal(Tshark.Number(row[2]), udp.BufferLength);
            // tshark checksum status: 1 good, 0 bad, 2 unverified (zero field over IPv4).
            if (row[3] == "0") Assert.False(d.UdpChecksumValid);
            else Assert.True(d.UdpChecksumValid, $"frame {number}");
        }
    }
}
