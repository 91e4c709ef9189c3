using System.Buffers.Binary;
using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>ICMPv6 messages (RFC 4443) and the RFC 4884 extension structure.</summary>
public sealed class Icmpv6PacketTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("2001:db8::1");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("2001:db8::2");

    private static byte[] Write(Icmpv6Repr repr)
    {
        var b = new byte[repr.BufferLength];
        Assert.Equal(b.Length, repr.Write(b, Src, Dst));
        return b;
    }

    [Fact]
    public void Echo_messages_round_trip_with_a_checksum_over_the_pseudo_header()
    {
        Gen.Select(Gen.Bool, Gen.UShort, Gen.UShort, Gen.Byte.Array[0, 200], Ipv6PacketTests.GenAddress, Ipv6PacketTests.GenAddress).Sample(t =>
        {
            var repr = t.Item1 ? Icmpv6Repr.EchoRequest(t.Item2, t.Item3, t.Item4) : Icmpv6Repr.EchoReply(t.Item2, t.Item3, t.Item4);
            var b = new byte[repr.BufferLength];
            repr.Write(b, t.Item5, t.Item6);
            Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
            Assert.Equal(t.Item1 ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply, p.Type);
            Assert.False(p.IsError);
            Assert.Equal(t.Item2, p.Identifier);
            Assert.Equal(t.Item3, p.SequenceNumber);
            Assert.True(p.Data.SequenceEqual(t.Item4));
            Assert.True(p.VerifyChecksum(t.Item5, t.Item6));
        });
    }

    [Fact]
    public void A_changed_octet_or_a_different_pseudo_header_fails_the_checksum()
    {
        var b = Write(Icmpv6Repr.EchoRequest(1, 2, new byte[] { 1, 2, 3 }));
        Assert.True(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
        Assert.False(Icmpv6Packet.VerifyChecksum(b, Src, Ipv6Address.Parse("2001:db8::3")));
        b[9] ^= 0x40;
        Assert.False(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
    }

    [Fact]
    public void Error_messages_round_trip_with_code_field_and_quoted_packet()
    {
        Gen.Select(Gen.Int[0, 3], Gen.Byte[0, 7], Gen.UInt, Gen.Byte.Array[0, 300]).Sample(t =>
        {
            var repr = t.Item1 switch
            {
                0 => Icmpv6Repr.DestinationUnreachable((Icmpv6UnreachableCode)t.Item2, t.Item4),
                1 => Icmpv6Repr.PacketTooBig(t.Item3, t.Item4),
                2 => Icmpv6Repr.TimeExceeded((Icmpv6TimeExceededCode)(t.Item2 & 1), t.Item4),
                _ => Icmpv6Repr.ParameterProblem((Icmpv6ParameterProblemCode)(t.Item2 & 3), t.Item3, t.Item4),
            };
            var b = Write(repr);
            Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
            Assert.True(p.IsError);
            Assert.Equal(repr, p.ToRepr() with { Payload = repr.Payload });
            Assert.True(p.Data.SequenceEqual(t.Item4));
            Assert.True(p.VerifyChecksum(Src, Dst));
            if (repr.Type == Icmpv6Type.PacketTooBig) Assert.Equal(t.Item3, p.Mtu);
            if (repr.Type == Icmpv6Type.ParameterProblem) Assert.Equal(t.Item3, p.Pointer);
            if (repr.Type is Icmpv6Type.PacketTooBig or Icmpv6Type.ParameterProblem) Assert.True(p.InvokingPacket.SequenceEqual(t.Item4));
        });
    }

    [Fact]
    public void The_quoted_packet_is_cut_so_the_error_fits_the_minimum_MTU()
    {
        // RFC 4443 §2.4(c): as much of the invoking packet as possible without exceeding 1280 octets.
        var repr = Icmpv6Repr.TimeExceeded(Icmpv6TimeExceededCode.HopLimitExceeded, new byte[2000]);
        Assert.Equal(Ipv6Packet.MinimumMtu, Ipv6Packet.HeaderLength + repr.BufferLength);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(4, false)]
    [InlineData(127, false)]
    [InlineData(128, true)]
    [InlineData(255, true)]
    public void Types_below_128_are_errors_and_the_rest_informational(byte type, bool informational)
    {
        // RFC 4443 §2.1.
        Assert.Equal(!informational, Icmpv6Packet.IsErrorType(type));
    }

    [Fact]
    public void Every_truncation_of_echo_and_error_headers_is_Truncated_and_never_throws()
    {
        foreach (var b in new[] { Write(Icmpv6Repr.EchoRequest(1, 1, default)), Write(Icmpv6Repr.PacketTooBig(1280, default)) })
        {
            for (int n = 0; n < 8; n++)
            {
                Assert.False(Icmpv6Packet.TryParse(b.AsSpan(0, n), out _, out var e));
                Assert.Equal(WireError.Truncated, e);
            }
        }
        // An informational type with no fixed body beyond the 4-octet header parses at 4 octets.
        Assert.True(Icmpv6Packet.TryParse(new byte[] { 200, 0, 0, 0 }, out var p, out _));
        Assert.Equal(0u, p.Mtu);
        Assert.True(p.InvokingPacket.IsEmpty);
    }

    // ---- RFC 4884 ----

    private static byte[] WithExtension(int lengthWords, byte[] original, byte[] extension)
    {
        var b = new byte[8 + original.Length + extension.Length];
        b[0] = (byte)Icmpv6Type.TimeExceeded;
        b[4] = (byte)lengthWords;     // RFC 4884 §3: ICMPv6 length in 64-bit words, first octet after the checksum
        original.CopyTo(b, 8);
        extension.CopyTo(b, 8 + original.Length);
        Icmpv6Packet.FillChecksum(b, Src, Dst);
        return b;
    }

    private static byte[] Extension(params (byte Class, byte CType, byte[] Payload)[] objects)
    {
        var b = new byte[4 + objects.Sum(o => 4 + o.Payload.Length)];
        b[0] = 0x20;                  // version 2
        int o = 4;
        foreach (var obj in objects)
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(o), (ushort)(4 + obj.Payload.Length));
            b[o + 2] = obj.Class;
            b[o + 3] = obj.CType;
            obj.Payload.CopyTo(b, o + 4);
            o += 4 + obj.Payload.Length;
        }
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), Checksum.Compute(b));
        return b;
    }

    [Fact]
    public void An_RFC_4884_length_separates_the_original_datagram_from_the_extension_objects()
    {
        var b = WithExtension(16, new byte[128], Extension((1, 1, [0, 0, 0x10, 0xFF]), (2, 3, [9, 9, 9, 9, 9, 9, 9, 9])));
        Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
        Assert.Equal(16, p.Rfc4884Length);
        Assert.Equal(128, p.InvokingPacket.Length);
        Assert.True(p.TryGetExtension(out var ext, out var e), e.ToString());
        Assert.Equal(2, ext.Version);
        Assert.True(ext.ChecksumValid);
        var objects = new List<(byte, byte, int)>();
        foreach (var o in ext.Objects) objects.Add((o.ClassNum, o.CType, o.Payload.Length));
        Assert.Equal([(1, 1, 4), (2, 3, 8)], objects);
    }

    [Fact]
    public void Without_an_RFC_4884_length_the_whole_remainder_is_the_quote_and_there_is_no_extension()
    {
        var b = WithExtension(0, new byte[128], Extension((1, 1, [1, 2, 3, 4])));
        Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
        Assert.Equal(b.Length - 8, p.InvokingPacket.Length);
        Assert.False(p.TryGetExtension(out _, out var e));
        Assert.Equal(WireError.Unsupported, e);
    }

    [Fact]
    public void An_RFC_4884_length_beyond_the_message_is_not_trusted()
    {
        var b = WithExtension(200, new byte[128], []);
        Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
        Assert.Equal(128, p.InvokingPacket.Length);
        Assert.False(p.TryGetExtension(out _, out _));
    }

    [Fact]
    public void An_original_datagram_field_below_128_octets_with_extensions_is_BadLength()
    {
        // RFC 4884 §5: with extensions, the original datagram field holds at least 128 octets.
        var b = WithExtension(8, new byte[64], Extension((1, 1, [1, 2, 3, 4])));
        Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
        Assert.False(p.TryGetExtension(out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Fact]
    public void Extension_objects_with_impossible_lengths_are_BadOption_and_a_wrong_version_is_BadVersion()
    {
        var ext = Extension((1, 1, [1, 2, 3, 4]));
        BinaryPrimitives.WriteUInt16BigEndian(ext.AsSpan(4), 3);
        Assert.False(IcmpExtension.TryParse(ext, out _, out var e));
        Assert.Equal(WireError.BadOption, e);
        BinaryPrimitives.WriteUInt16BigEndian(ext.AsSpan(4), 12);
        Assert.False(IcmpExtension.TryParse(ext, out _, out e));
        Assert.Equal(WireError.BadOption, e);
        var v1 = Extension();
        v1[0] = 0x10;
        Assert.False(IcmpExtension.TryParse(v1, out _, out e));
        Assert.Equal(WireError.BadVersion, e);
    }

    [Fact]
    public void Every_truncation_of_an_extension_structure_is_refused_or_parsed_without_throwing()
    {
        var ext = Extension((1, 1, [1, 2, 3, 4]), (3, 4, [5, 6, 7, 8]));
        for (int n = 0; n <= ext.Length; n++)
        {
            if (IcmpExtension.TryParse(ext.AsSpan(0, n), out var x, out _)) foreach (var o in x.Objects) Assert.True(o.Payload.Length >= 0);
        }
    }

    [Fact]
    public void An_error_written_with_an_extension_structure_reads_back_its_quote_and_objects()
    {
        Gen.Select(Gen.Byte.Array[0, 1400], Gen.Byte, Gen.Byte.Array[0, 10].Select(a => a.SelectMany(x => new byte[] { x, x, x, x }).ToArray())).Sample(t =>
        {
            var objects = new[] { new IcmpExtensionObjectRepr(1, 1, t.Item3), new IcmpExtensionObjectRepr(t.Item2, 2, new byte[4]) };
            var repr = Icmpv6Repr.WithExtension(Icmpv6Repr.TimeExceeded(Icmpv6TimeExceededCode.HopLimitExceeded, t.Item1), new IcmpExtensionRepr(objects));
            var b = Write(repr);
            Assert.True(Ipv6Packet.HeaderLength + b.Length <= Ipv6Packet.MinimumMtu);
            Assert.True(Icmpv6Packet.TryParse(b, out var p, out _));
            Assert.True(p.VerifyChecksum(Src, Dst));
            int quoted = Math.Min(t.Item1.Length, p.InvokingPacket.Length);
            Assert.True(p.InvokingPacket[..quoted].SequenceEqual(t.Item1.AsSpan(0, quoted)));
            Assert.True(p.InvokingPacket.Length >= 128 && p.InvokingPacket.Length % 8 == 0);
            Assert.True(p.TryGetExtension(out var ext, out var e), e.ToString());
            Assert.True(ext.ChecksumValid);
            var read = new List<(byte, byte, byte[])>();
            foreach (var o in ext.Objects) read.Add((o.ClassNum, o.CType, o.Payload.ToArray()));
            Assert.Equal(objects.Select(o => (o.ClassNum, o.CType, o.Payload.ToArray())), read);
        });
    }
}
