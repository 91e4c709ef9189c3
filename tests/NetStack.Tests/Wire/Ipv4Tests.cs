using System.Buffers.Binary;
using CsCheck;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 791 IPv4 header: fields, lengths, options and header checksum.</summary>
public class Ipv4Tests
{
    private static readonly Ipv4Address Src = new(192, 0, 2, 1);
    private static readonly Ipv4Address Dst = new(203, 0, 113, 9);

    /// <summary>Valid options areas: NOPs, Router Alerts, Record Routes with room for addresses.</summary>
    internal static readonly Gen<byte[]> GenOptions =
        Gen.Int[0, 2].Select(kind => kind switch
        {
            0 => new byte[] { 1 },
            1 => new byte[] { 148, 4, 0, 0 },
            _ => new byte[] { 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0 },
        }).Array[0, 3].Select(parts => parts.SelectMany(p => p).ToArray());

    private static readonly Gen<Ipv4Repr> GenRepr =
        Gen.Select(Gen.UInt, Gen.UInt, Gen.Byte, Gen.Int[0, 1400], Gen.Byte, Gen.Byte, Gen.UShort,
            Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[0, 8191]))
        .Select((s, d, p, len, ttl, tos, id, frag) => new Ipv4Repr(new Ipv4Address(s), new Ipv4Address(d), (IpProtocol)p, len,
            ttl, tos, id, frag.Item1, frag.Item2, frag.Item3 * 8));

    internal static byte[] Build(Ipv4Repr repr, ReadOnlySpan<byte> options = default, int padding = 0)
    {
        var b = new byte[repr.BufferLength + padding];
        repr.Write(b, options);
        for (int i = repr.HeaderLength; i < repr.BufferLength; i++) b[i] = (byte)i;
        return b;
    }

    private static byte[] Simple(int payload = 8) => Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, payload));

    private static WireError ParseError(ReadOnlySpan<byte> b)
    {
        Assert.False(Ipv4Packet.TryParse(b, out _, out var error));
        return error;
    }

    [Fact]
    public void Headers_round_trip_with_a_valid_checksum()
    {
        Gen.Select(GenRepr, GenOptions, Gen.Int[0, 30]).Sample((repr, options, padding) =>
        {
            repr = repr with { OptionsLength = options.Length };
            var b = Build(repr, options, padding);
            Assert.True(Ipv4Packet.TryParse(b, out var ip, out var error), error.ToString());
            Assert.Equal(repr with { OptionsLength = Ipv4Options.PaddedLength(options.Length) }, ip.ToRepr());
            Assert.True(ip.ChecksumValid);
            Assert.Equal(repr.PayloadLength, ip.Payload.Length);
            Assert.True(ip.Options[..options.Length].SequenceEqual(options));
            Assert.Equal(repr.Tos >> 2, ip.Dscp);
            Assert.Equal((EcnCodepoint)(repr.Tos & 3), ip.Ecn);
        });
    }

    [Fact]
    public void Ethernet_padding_is_excluded_from_the_payload()
    {
        var b = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 8), padding: 18);
        Assert.True(Ipv4Packet.TryParse(b, out var ip, out _));
        Assert.Equal(8, ip.Payload.Length);
        Assert.Equal(28, ip.Bytes.Length);
    }

    [Fact]
    public void A_corrupted_header_byte_is_parsed_but_its_checksum_is_invalid()
    {
        var b = Simple();
        b[8] ^= 1; // TTL
        Assert.True(Ipv4Packet.TryParse(b, out var ip, out _));
        Assert.False(ip.ChecksumValid);
    }

    [Fact]
    public void Version_other_than_4_is_BadVersion()
    {
        var b = Simple();
        b[0] = 0x65;
        Assert.Equal(WireError.BadVersion, ParseError(b));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Ihl_below_5_is_BadLength(int ihl)
    {
        // RFC 791 §3.1: "the minimum value for a correct header is 5".
        var b = Simple();
        b[0] = (byte)(0x40 | ihl);
        Assert.Equal(WireError.BadLength, ParseError(b));
    }

    [Fact]
    public void Ihl_beyond_the_buffer_is_Truncated()
    {
        var b = Simple(0);
        b[0] = 0x46; // 24-byte header in a 20-byte buffer
        Assert.Equal(WireError.Truncated, ParseError(b));
    }

    [Fact]
    public void Total_length_below_the_header_length_is_BadLength()
    {
        var b = Simple();
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), 19);
        Assert.Equal(WireError.BadLength, ParseError(b));
    }

    [Fact]
    public void Total_length_beyond_the_buffer_is_Truncated()
    {
        var b = Simple();
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(b.Length + 1));
        Assert.Equal(WireError.Truncated, ParseError(b));
    }

    [Theory]
    [InlineData(new byte[] { 7 })]                         // type without a length octet
    [InlineData(new byte[] { 130, 1, 0, 0 })]              // length 1 < 2
    [InlineData(new byte[] { 130, 0, 0, 0 })]              // length 0
    [InlineData(new byte[] { 1, 130, 4, 0 })]              // length 4 overruns the header by one
    [InlineData(new byte[] { 7, 2, 0, 0 })]                // Record Route without its pointer
    [InlineData(new byte[] { 68, 3, 5, 0 })]               // Timestamp shorter than 4
    [InlineData(new byte[] { 148, 3, 0, 0 })]              // Router Alert not 4 long (RFC 2113)
    public void Malformed_options_are_BadOption(byte[] options)
    {
        var b = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 0, OptionsLength: options.Length), options);
        Assert.Equal(WireError.BadOption, ParseError(b));
    }

    [Fact]
    public void End_of_option_list_ends_the_walk_even_when_garbage_follows()
    {
        byte[] options = [1, 0, 0xFF, 0xFF];
        var b = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 0, OptionsLength: 4), options);
        Assert.True(Ipv4Packet.TryParse(b, out var ip, out _));
        int count = 0;
        foreach (var o in ip.EnumerateOptions()) { Assert.Equal(Ipv4OptionType.NoOperation, o.Type); count++; }
        Assert.Equal(1, count);
    }

    [Fact]
    public void Known_options_are_named_and_their_data_exposed()
    {
        var options = new byte[12];
        int n = Ipv4Options.WriteRouterAlert(options);
        options[n++] = 1;
        n += Ipv4Options.Write(options.AsSpan(n), Ipv4OptionType.Security, [0xAB, 0xCD]);
        var b = Build(new Ipv4Repr(Src, Dst, IpProtocol.Igmp, 0, OptionsLength: n), options.AsSpan(0, n));
        Assert.True(Ipv4Packet.TryParse(b, out var ip, out _));
        var found = new List<(Ipv4OptionType, int, bool)>();
        foreach (var o in ip.EnumerateOptions()) found.Add((o.Type, o.Data.Length, o.Copied));
        Assert.Equal([(Ipv4OptionType.RouterAlert, 2, true), (Ipv4OptionType.NoOperation, 0, false), (Ipv4OptionType.Security, 2, true)], found);
    }

    [Fact]
    public void Fragment_helpers_follow_the_flags_and_offset()
    {
        static Ipv4Packet P(byte[] b) { Assert.True(Ipv4Packet.TryParse(b, out var ip, out _)); return ip; }
        var first = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 8, MoreFragments: true));
        var middle = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 8, MoreFragments: true, FragmentOffset: 1480));
        var last = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 8, FragmentOffset: 2960));
        var whole = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 8, DontFragment: true));
        Assert.True(P(first).IsFragment && P(first).IsFirstFragment);
        Assert.True(P(middle).IsFragment && !P(middle).IsFirstFragment && P(middle).FragmentOffset == 1480);
        Assert.True(P(last).IsFragment && !P(last).IsFirstFragment && P(last).FragmentOffset == 2960);
        Assert.True(!P(whole).IsFragment && P(whole).DontFragment);
    }

    [Fact]
    public void The_reserved_flag_is_exposed_not_refused()
    {
        var b = Simple();
        b[6] |= 0x80;
        Assert.True(Ipv4Packet.TryParse(b, out var ip, out _));
        Assert.True(ip.ReservedFlag);
    }

    [Fact]
    public void Every_truncation_of_a_header_with_options_is_refused_without_throwing()
    {
        byte[] options = [148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0];
        var b = Build(new Ipv4Repr(Src, Dst, IpProtocol.Udp, 16, OptionsLength: options.Length), options);
        for (int n = 0; n < b.Length; n++) Assert.Equal(WireError.Truncated, ParseError(b.AsSpan(0, n)));
    }

    [Fact]
    public void Capture_with_header_length_16_is_BadLength()
    {
        // tcpdump: "IP [header length 16 < 20] (invalid)".
        var f = Captures.Read("tcpdump-ipv4_invalid_hdr_length.pcap")[0];
        var d = EthernetDecoder.Decode(f.Data);
        Assert.Equal(("ip", WireError.BadLength), (d.FailedLayer, d.Error));
    }

    [Fact]
    public void Capture_cut_inside_the_header_is_Truncated()
    {
        var f = Captures.Read("zeek-ip4-trunc.pcap")[0];
        var d = EthernetDecoder.Decode(f.Data);
        Assert.Equal(("ip", WireError.Truncated), (d.FailedLayer, d.Error));
    }

    [Theory]
    [InlineData("cs-icmp_echo.pcapng")]
    [InlineData("cs-icmp_traceroute.pcapng")]
    [InlineData("zeek-icmp_dot1q.pcap")]
    [InlineData("zeek-icmp-destunreach-udp.pcap")]
    [InlineData("libtrace-icmp-sample.pcap")]
    [InlineData("cs-ip_frag_source.pcapng")]
    [InlineData("zeek-ipv4-fragmented-4.pcap")]
    [InlineData("zeek-ipv4-fragmented-syn.pcap")]
    [InlineData("tcpdump-dns_udp.pcap")]
    [InlineData("cs-dhcp_nolease_initialization.pcapng")]
    [InlineData("cs-tcp_handshake.pcapng")]
    public void Decoded_fields_agree_with_tshark(string file)
    {
        var rows = Tshark.Fields(file,
            ["ip.src", "ip.dst", "ip.ttl", "ip.proto", "ip.id", "ip.hdr_len", "ip.len", "ip.flags.df", "ip.flags.mf",
             "ip.frag_offset", "ip.dsfield", "ip.checksum.status"],
            "ip", "-o", "ip.check_checksum:TRUE", "-o", "ip.defragment:FALSE");
        Assert.NotEmpty(rows);
        var frames = Captures.Read(file);
        foreach (var (number, row) in rows)
        {
            var d = EthernetDecoder.Decode(frames[number - 1].Data);
            Assert.True(d.Ip.HasValue, $"frame {number}: {d.FailedLayer} {d.Error}");
            var ip = d.Ip.Value;
            string where = $"{file} frame {number}";
            Assert.True(Tshark.First(row[0]) == ip.Source.ToString(), where);
            Assert.Equal(Tshark.First(row[1]), ip.Destination.ToString());
            Assert.Equal(Tshark.Number(Tshark.First(row[2])), ip.Ttl);
            Assert.Equal(Tshark.Number(Tshark.First(row[3])), (int)ip.Protocol);
            Assert.Equal(Tshark.Number(Tshark.First(row[4])), ip.Identification);
            Assert.Equal(Tshark.Number(Tshark.First(row[5])), d.IpHeaderLength);
            Assert.Equal(Tshark.Number(Tshark.First(row[6])), ip.BufferLength);
            Assert.Equal(Tshark.First(row[7]) is "1" or "True", ip.DontFragment);
            Assert.Equal(Tshark.First(row[8]) is "1" or "True", ip.MoreFragments);
            Assert.Equal(Tshark.Number(Tshark.First(row[9])) * 8, ip.FragmentOffset); // tshark shows 8-byte units
            Assert.Equal(Tshark.Number(Tshark.First(row[10])), ip.Tos);
            // Checksum status: 1 good, 0 bad (2 = unverified does not occur with checking on).
            Assert.True((Tshark.First(row[11]) == "1") == d.IpChecksumValid, where + " checksum " + row[11]);
        }
    }
}
