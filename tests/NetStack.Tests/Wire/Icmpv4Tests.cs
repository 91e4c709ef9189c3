using System.Buffers.Binary;
using CsCheck;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>RFC 792 ICMPv4, RFC 1191 next-hop MTU, RFC 4884 extensions, RFC 4950 MPLS labels.</summary>
public class Icmpv4Tests
{
    private static readonly Ipv4Address Host = new(192, 0, 2, 10);
    private static readonly Ipv4Address Target = new(198, 51, 100, 20);

    private static readonly Gen<MplsLabelEntry> GenLabel = Gen.Select(Gen.UInt[0, 0xFFFFF], Gen.Byte[0, 7], Gen.Bool, Gen.Byte)
        .Select((l, tc, s, ttl) => new MplsLabelEntry(l, tc, s, ttl));

    /// <summary>A UDP probe datagram of the kind traceroute sends (IPv4 + UDP + payload).</summary>
    private static byte[] Probe(int payload, byte ttl = 1)
    {
        var ip = new Ipv4Repr(Host, Target, IpProtocol.Udp, UdpDatagram.HeaderLength + payload, ttl, Identification: 0x1234);
        var b = new byte[ip.BufferLength];
        ip.Write(b);
        new UdpRepr(40000, 33434, payload).Write(b.AsSpan(ip.HeaderLength), Host, Target, new byte[payload]);
        return b;
    }

    private static Icmpv4Packet Parse(byte[] b)
    {
        Assert.True(Icmpv4Packet.TryParse(b, out var icmp, out var error), error.ToString());
        return icmp;
    }

    [Fact]
    public void Echo_requests_and_replies_round_trip_with_a_valid_checksum()
    {
        Gen.Select(Gen.Bool, Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 1472]).Sample((reply, id, seq, data) =>
        {
            var repr = new Icmpv4EchoRepr(reply ? Icmpv4Type.EchoReply : Icmpv4Type.EchoRequest, id, seq, data.Length);
            var b = new byte[repr.BufferLength];
            Assert.Equal(b.Length, repr.Write(b, data));
            var icmp = Parse(b);
            Assert.True(icmp.ChecksumValid);
            Assert.Equal(repr.Type, icmp.Type);
            Assert.Equal(0, icmp.Code);
            Assert.Equal(id, icmp.Identifier);
            Assert.Equal(seq, icmp.SequenceNumber);
            Assert.True(icmp.EchoData.SequenceEqual(data));
            Assert.False(icmp.IsError);
            Assert.Equal(repr with { Type = Icmpv4Type.EchoReply }, Icmpv4EchoRepr.ReplyTo(icmp));
        });
    }

    [Fact]
    public void Fewer_than_eight_bytes_are_Truncated()
    {
        for (int n = 0; n < 8; n++)
        {
            Assert.False(Icmpv4Packet.TryParse(new byte[n], out _, out var error));
            Assert.Equal(WireError.Truncated, error);
        }
    }

    [Fact]
    public void A_corrupted_byte_fails_the_checksum()
    {
        var repr = Icmpv4EchoRepr.Request(1, 2, 4);
        var b = new byte[repr.BufferLength];
        repr.Write(b, [1, 2, 3, 4]);
        b[9] ^= 0x10;
        Assert.False(Parse(b).ChecksumValid);
    }

    [Fact]
    public void Errors_quote_the_invoking_datagram_and_round_trip()
    {
        Gen.Select(Gen.OneOfConst(Icmpv4Type.DestinationUnreachable, Icmpv4Type.TimeExceeded, Icmpv4Type.ParameterProblem, Icmpv4Type.Redirect),
                   Gen.Byte[0, 15], Gen.UInt, Gen.Int[0, 1400]).Sample((type, code, parameter, payload) =>
        {
            var original = Probe(payload);
            var repr = Icmpv4ErrorRepr.ForDatagram(type, code, parameter, original.Length);
            Assert.True(repr.QuoteLength >= Math.Min(original.Length, 28)); // RFC 792: header + 64 bits
            Assert.True(repr.BufferLength <= 556);                           // RFC 1812 §4.3.2.3: within 576 with IP header
            var b = new byte[repr.BufferLength];
            Assert.Equal(b.Length, repr.Write(b, original));
            var icmp = Parse(b);
            Assert.True(icmp.ChecksumValid);
            Assert.True(icmp.IsError);
            Assert.Equal((type, code), (icmp.Type, icmp.Code));
            Assert.False(icmp.HasExtension);
            Assert.True(icmp.OriginalDatagram.SequenceEqual(original.AsSpan(0, repr.QuoteLength)));
            switch (type)
            {
                case Icmpv4Type.Redirect: Assert.Equal(new Ipv4Address(parameter), icmp.Gateway); break;
                case Icmpv4Type.ParameterProblem: Assert.Equal((byte)parameter, icmp.Pointer); break;
                case Icmpv4Type.DestinationUnreachable when code == 4: Assert.Equal((ushort)parameter, icmp.NextHopMtu); break;
            }
            Assert.True(icmp.TryGetQuotedDatagram(out var quoted, out var error), error.ToString());
            Assert.Equal(original.Length, quoted.TotalLength);
            Assert.Equal(Host, quoted.Source);
            Assert.Equal(Target, quoted.Destination);
            Assert.Equal(IpProtocol.Udp, quoted.Protocol);
            Assert.Equal(40000, BinaryPrimitives.ReadUInt16BigEndian(quoted.Payload));
        });
    }

    [Fact]
    public void Fragmentation_needed_carries_the_next_hop_mtu()
    {
        // RFC 1191 §4: the low-order 16 bits of the second word hold the next-hop MTU.
        var original = Probe(1400);
        var repr = Icmpv4ErrorRepr.Unreachable(Icmpv4UnreachableCode.FragmentationNeeded, original.Length, nextHopMtu: 1280);
        var b = new byte[repr.BufferLength];
        repr.Write(b, original);
        var icmp = Parse(b);
        Assert.Equal(1280, icmp.NextHopMtu);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(4)));
    }

    [Fact]
    public void Errors_with_mpls_labels_carry_an_rfc4884_extension_that_round_trips()
    {
        Gen.Select(Gen.Int[0, 600], GenLabel.Array[1, 4]).Sample((payload, labels) =>
        {
            var original = Probe(payload);
            var repr = Icmpv4ErrorRepr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceededInTransit, original.Length, labels.Length);
            var b = new byte[repr.BufferLength];
            Assert.Equal(b.Length, repr.Write(b, original, labels));
            var icmp = Parse(b);
            Assert.True(icmp.ChecksumValid);
            // RFC 4884 §4.1: the original datagram field is at least 128 bytes, its length in 32-bit words.
            Assert.Equal(32, icmp.OriginalDatagramLengthWords);
            Assert.True(icmp.HasExtension);
            Assert.True(icmp.OriginalDatagram[..Math.Min(128, original.Length)].SequenceEqual(original.AsSpan(0, Math.Min(128, original.Length))));
            Assert.True(icmp.TryGetExtension(out var ext, out var error), error.ToString());
            Assert.Equal(2, ext.Version);
            Assert.True(ext.ChecksumValid);
            var read = new List<MplsLabelEntry>();
            foreach (var obj in ext.EnumerateObjects())
            {
                Assert.True(obj.IsMplsLabelStack);
                for (int i = 0; i < obj.MplsEntryCount; i++) read.Add(obj.MplsEntry(i));
            }
            Assert.Equal(labels, read);
            Assert.True(icmp.TryGetQuotedDatagram(out var quoted, out _));
            Assert.Equal(Math.Min(original.Length, 128) - 20, quoted.Payload.Length); // zero padding excluded
        });
    }

    [Fact]
    public void An_extension_object_overrunning_the_structure_is_BadOption()
    {
        var b = new byte[12];
        IcmpExtension.WriteMplsLabelStack(b, [new MplsLabelEntry(16, 0, true, 1)]);
        b[5] = 9; // object length 9 > 8 available
        Assert.False(IcmpExtension.TryParse(b, out _, out var error));
        Assert.Equal(WireError.BadOption, error);
        b[5] = 3; // below the 4-byte object header
        Assert.False(IcmpExtension.TryParse(b, out _, out error));
        Assert.Equal(WireError.BadOption, error);
    }

    [Fact]
    public void An_extension_of_another_version_is_BadVersion()
    {
        var b = new byte[12];
        IcmpExtension.WriteMplsLabelStack(b, [new MplsLabelEntry(16, 0, true, 1)]);
        b[0] = 0x10;
        Assert.False(IcmpExtension.TryParse(b, out _, out var error));
        Assert.Equal(WireError.BadVersion, error);
    }

    [Fact]
    public void A_length_attribute_beyond_the_message_means_no_extension()
    {
        var original = Probe(100);
        var repr = Icmpv4ErrorRepr.TimeExceeded(0, original.Length);
        var b = new byte[repr.BufferLength];
        repr.Write(b, original);
        b[5] = 200; // 800 bytes announced, 128 present
        var icmp = Parse(b);
        Assert.False(icmp.HasExtension);
        Assert.Equal(original.Length, icmp.OriginalDatagram.Length);
    }

    [Fact]
    public void A_quote_with_a_bad_ihl_is_refused()
    {
        var original = Probe(8);
        original[0] = 0x43;
        var repr = Icmpv4ErrorRepr.TimeExceeded(0, original.Length);
        var b = new byte[repr.BufferLength];
        repr.Write(b, original);
        Assert.False(Parse(b).TryGetQuotedDatagram(out _, out var error));
        Assert.Equal(WireError.BadLength, error);
    }

    [Fact]
    public void Every_prefix_of_built_error_frames_decodes_without_throwing()
    {
        Gen.Select(Gen.Int[0, 300], GenLabel.Array[0, 3], Ipv4Tests.GenOptions, Gen.Bool).Sample((payload, labels, options, tagged) =>
        {
            var original = Probe(payload);
            var icmp = Icmpv4ErrorRepr.TimeExceeded(0, original.Length, labels.Length);
            var ip = new Ipv4Repr(Target, Host, IpProtocol.Icmp, icmp.BufferLength, OptionsLength: options.Length);
            var eth = new EthernetRepr(new MacAddress(1), new MacAddress(2), EtherType.Ipv4, tagged ? VlanTag.Create(EtherType.Vlan, 7) : null);
            var frame = new byte[eth.HeaderLength + ip.BufferLength];
            int o = eth.Write(frame);
            o += ip.Write(frame.AsSpan(o), options);
            icmp.Write(frame.AsSpan(o), original, labels);
            var full = EthernetDecoder.Decode(frame);
            Assert.Equal(WireError.None, full.Error);
            Assert.Equal(labels.Length, full.MplsLabelCount);
            Assert.Equal(40000, full.QuotedUdp!.Value.SourcePort);
            for (int n = 0; n < frame.Length; n++) _ = EthernetDecoder.Decode(frame.AsSpan(0, n));
        }, iter: 50);
    }

    [Fact]
    public void Mpls_label_entries_pack_into_32_bits()
    {
        // RFC 3032 §2.1: label 20 bits | TC 3 | S 1 | TTL 8.
        var b = new byte[4];
        new MplsLabelEntry(0xABCDE, 5, true, 0x7F).Write(b);
        Assert.Equal(0xABCDEB7Fu, BinaryPrimitives.ReadUInt32BigEndian(b));
        Assert.Equal(new MplsLabelEntry(0xABCDE, 5, true, 0x7F), MplsLabelEntry.Read(b));
    }

    [Theory]
    [InlineData("cs-icmp_echo.pcapng")]
    [InlineData("cs-icmp_traceroute.pcapng")]
    [InlineData("zeek-icmp_dot1q.pcap")]
    [InlineData("zeek-icmp-destunreach-udp.pcap")]
    [InlineData("libtrace-icmp-sample.pcap")]
    public void Decoded_fields_agree_with_tshark(string file)
    {
        var rows = Tshark.Fields(file,
            ["icmp.type", "icmp.code", "icmp.checksum.status", "icmp.ident", "icmp.seq", "icmp.mtu", "icmp.redir_gw",
             "ip.src", "ip.dst", "udp.srcport", "udp.dstport"],
            "icmp && ip.flags.mf == 0 && ip.frag_offset == 0", "-o", "ip.defragment:FALSE");
        Assert.NotEmpty(rows);
        var frames = Captures.Read(file);
        foreach (var (number, row) in rows)
        {
            string where = $"{file} frame {number}";
            var d = EthernetDecoder.Decode(frames[number - 1].Data);
            Assert.True(d.IcmpType.HasValue, $"{where}: {d.FailedLayer} {d.Error}");
            Assert.Equal(Tshark.Number(Tshark.First(row[0])), d.IcmpType!.Value);
            Assert.Equal(Tshark.Number(Tshark.First(row[1])), d.IcmpCode);
            Assert.True((Tshark.First(row[2]) == "1") == d.IcmpChecksumValid, where + " checksum " + row[2]);
            bool echo = d.IcmpType is 0 or 8; // in errors tshark's ident/seq are those of a quoted echo
            if (echo) Assert.Equal(Tshark.Number(Tshark.First(row[3])), d.IcmpIdentifier);
            if (echo) Assert.Equal(Tshark.Number(Tshark.First(row[4])), d.IcmpSequence);
            if (row[5].Length > 0) Assert.Equal(Tshark.Number(row[5]), d.IcmpMtu);
            if (row[6].Length > 0) Assert.Equal(row[6], d.IcmpGateway.ToString());
            var ipSrc = row[7].Split(',');
            if (ipSrc.Length > 1)
            {
                // The second ip.src / ip.dst are those of the quoted datagram.
                Assert.True(d.QuotedIp.HasValue, where + " quote");
                Assert.Equal(ipSrc[1], d.QuotedIp!.Value.Source.ToString());
                Assert.Equal(row[8].Split(',')[1], d.QuotedIp.Value.Destination.ToString());
                if (row[9].Length > 0)
                {
                    Assert.True(d.QuotedUdp.HasValue, where + " quoted udp");
                    Assert.Equal(Tshark.Number(Tshark.First(row[9])), d.QuotedUdp!.Value.SourcePort);
                    Assert.Equal(Tshark.Number(Tshark.First(row[10])), d.QuotedUdp.Value.DestinationPort);
                }
            }
        }
    }
}
