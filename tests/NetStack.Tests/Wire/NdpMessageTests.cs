using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>Neighbor Discovery messages and options (RFC 4861 §4, RFC 8106, RFC 3971 nonce).</summary>
public sealed class NdpMessageTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("fe80::1");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("ff02::1");
    private static readonly Gen<Ipv6Address> GenAddress = Ipv6PacketTests.GenAddress;
    private static readonly Gen<MacAddress> GenMac = Gen.ULong[0, 0xFFFF_FFFF_FFFF].Select(v => new MacAddress(v));

    private static readonly Gen<NdpOptionRepr> GenOption = Gen.OneOf(
        GenMac.Select(NdpOptionRepr.SourceLinkLayer),
        GenMac.Select(NdpOptionRepr.TargetLinkLayer),
        Gen.Select(Gen.Byte[0, 128], Gen.Bool, Gen.Bool, Gen.UInt, Gen.UInt, GenAddress,
            (l, on, a, v, p, pfx) => NdpOptionRepr.PrefixInfo(new NdpPrefixInformation(l, on, a, v, p, pfx))),
        Gen.UInt.Select(NdpOptionRepr.MtuOption),
        Gen.Select(Gen.UInt, GenAddress.Array[1, 4], (l, a) => NdpOptionRepr.Rdnss(l, a)),
        Gen.Byte.Array[6].Select(n => NdpOptionRepr.NonceOption(n)),
        Gen.Byte.Array[0, 60].Select(p => NdpOptionRepr.RedirectedHeader(p)));

    private static byte[] Write(Func<Memory<byte>, int> write, int length)
    {
        var b = new byte[length];
        Assert.Equal(length, write(b));
        return b;
    }

    private static NdpMessage Parse(byte[] b)
    {
        Assert.True(NdpMessage.TryParse(b, out var m, out var e), e.ToString());
        Assert.True(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
        return m;
    }

    private static void AssertOptions(NdpOptionRepr[] expected, NdpMessage m)
    {
        int i = 0;
        foreach (var o in m.Options)
        {
            var x = expected[i++];
            Assert.Equal(x.Type, o.Type);
            Assert.Equal(x.Length, o.Length);
            switch (x.Type)
            {
                case NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress:
                    Assert.Equal(x.Mac, o.MacAddress);
                    break;
                case NdpOptionType.PrefixInformation:
                    Assert.Equal(x.Prefix, new NdpPrefixInformation((byte)o.PrefixLength, o.OnLink, o.Autonomous, o.ValidLifetime, o.PreferredLifetime, o.Prefix));
                    break;
                case NdpOptionType.Mtu:
                    Assert.Equal(x.Value, o.Mtu);
                    break;
                case NdpOptionType.RecursiveDnsServer:
                    Assert.Equal(x.Value, o.RdnssLifetime);
                    var servers = new Ipv6Address[o.RdnssAddressCount];
                    for (int k = 0; k < servers.Length; k++) servers[k] = o.RdnssAddress(k);
                    Assert.Equal(x.Addresses.ToArray(), servers);
                    break;
                case NdpOptionType.Nonce:
                    Assert.True(o.Nonce.SequenceEqual(x.Data.Span));
                    break;
                case NdpOptionType.RedirectedHeader:
                    Assert.True(o.RedirectedPacket[..x.Data.Length].SequenceEqual(x.Data.Span));
                    break;
            }
        }
        Assert.Equal(expected.Length, i);
    }

    [Fact]
    public void Router_solicitations_round_trip_with_random_options()
    {
        GenOption.Array[0, 4].Sample(opts =>
        {
            var r = new RouterSolicitationRepr(opts);
            var m = Parse(Write(b => r.Write(b.Span, Src, Dst), r.BufferLength));
            Assert.Equal(Icmpv6Type.RouterSolicitation, m.Type);
            AssertOptions(opts, m);
        });
    }

    [Fact]
    public void Router_advertisements_round_trip_with_random_fields_and_options()
    {
        Gen.Select(Gen.Byte, Gen.Bool, Gen.Bool, Gen.UShort, Gen.UInt, Gen.UInt, GenOption.Array[0, 4]).Sample(t =>
        {
            var r = new RouterAdvertisementRepr(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7);
            var m = Parse(Write(b => r.Write(b.Span, Src, Dst), r.BufferLength));
            Assert.Equal(r, new RouterAdvertisementRepr(m.CurHopLimit, m.ManagedFlag, m.OtherFlag, m.RouterLifetime, m.ReachableTime, m.RetransTimer, r.Options));
            AssertOptions(t.Item7, m);
        });
    }

    [Fact]
    public void Neighbor_solicitations_and_advertisements_round_trip_with_flags_and_target()
    {
        Gen.Select(GenAddress, Gen.Bool, Gen.Bool, Gen.Bool, GenOption.Array[0, 3]).Sample(t =>
        {
            var ns = new NeighborSolicitationRepr(t.Item1, t.Item5);
            var m = Parse(Write(b => ns.Write(b.Span, Src, Dst), ns.BufferLength));
            Assert.Equal(t.Item1, m.TargetAddress);
            Assert.False(m.RouterFlag || m.SolicitedFlag || m.OverrideFlag);
            AssertOptions(t.Item5, m);

            var na = new NeighborAdvertisementRepr(t.Item2, t.Item3, t.Item4, t.Item1, t.Item5);
            m = Parse(Write(b => na.Write(b.Span, Src, Dst), na.BufferLength));
            Assert.Equal(Icmpv6Type.NeighborAdvertisement, m.Type);
            Assert.Equal((t.Item2, t.Item3, t.Item4, t.Item1), (m.RouterFlag, m.SolicitedFlag, m.OverrideFlag, m.TargetAddress));
            AssertOptions(t.Item5, m);
        });
    }

    [Fact]
    public void Redirects_round_trip_with_target_destination_and_redirected_header()
    {
        Gen.Select(GenAddress, GenAddress, Gen.Byte.Array[0, 100], GenMac).Sample(t =>
        {
            NdpOptionRepr[] opts = [NdpOptionRepr.TargetLinkLayer(t.Item4), NdpOptionRepr.RedirectedHeader(t.Item3)];
            var r = new RedirectRepr(t.Item1, t.Item2, opts);
            var m = Parse(Write(b => r.Write(b.Span, Src, Dst), r.BufferLength));
            Assert.Equal((t.Item1, t.Item2), (m.TargetAddress, m.DestinationAddress));
            Assert.Equal(t.Item4, m.TargetLinkLayerAddress);
            Assert.Null(m.SourceLinkLayerAddress);
            AssertOptions(opts, m);
        });
    }

    private static byte[] Ns(params byte[] options)
    {
        var b = new byte[24 + options.Length];
        b[0] = (byte)Icmpv6Type.NeighborSolicitation;
        options.CopyTo(b, 24);
        return b;
    }

    [Fact]
    public void An_option_of_length_zero_is_BadOption()
    {
        // RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero."
        Assert.False(NdpMessage.TryParse(Ns(1, 0, 0, 0, 0, 0, 0, 0), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void An_option_overrunning_the_message_is_BadOption()
    {
        Assert.False(NdpMessage.TryParse(Ns(1, 2, 0, 0, 0, 0, 0, 0), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
        Assert.False(NdpMessage.TryParse(Ns(1, 1, 0, 0, 0, 0, 0, 0, 99), out _, out e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(1)]
    public void An_RDNSS_option_of_even_or_too_small_length_is_BadOption(int units)
    {
        // RFC 8106 §5.1: length is 3 + 2n (at least 3, odd).
        var opt = new byte[units * 8];
        opt[0] = (byte)NdpOptionType.RecursiveDnsServer;
        opt[1] = (byte)units;
        Assert.False(NdpMessage.TryParse(Ns(opt), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Prefix_and_MTU_options_of_the_wrong_length_are_BadOption()
    {
        var prefix = new byte[24];
        prefix[0] = 3;
        prefix[1] = 3;
        Assert.False(NdpMessage.TryParse(Ns(prefix), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
        var mtu = new byte[16];
        mtu[0] = 5;
        mtu[1] = 2;
        Assert.False(NdpMessage.TryParse(Ns(mtu), out _, out e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Unknown_options_are_skipped_over()
    {
        // RFC 4861 §4.6: receivers MUST skip options they do not recognize.
        var m = Parse(Write(b => new NeighborSolicitationRepr(Src, new[] { NdpOptionRepr.SourceLinkLayer(new MacAddress(0x02_00_00_00_00_01)) })
            .Write(b.Span, Src, Dst), 32));
        var withUnknown = new byte[48];
        m.Bytes.CopyTo(withUnknown);
        withUnknown[32] = 200;
        withUnknown[33] = 2;
        Assert.True(NdpMessage.TryParse(withUnknown, out var n, out _));
        var types = new List<NdpOptionType>();
        foreach (var o in n.Options) types.Add(o.Type);
        Assert.Equal([NdpOptionType.SourceLinkLayerAddress, (NdpOptionType)200], types);
        Assert.Equal(new MacAddress(0x02_00_00_00_00_01), n.SourceLinkLayerAddress);
    }

    [Fact]
    public void A_nonce_option_for_enhanced_DAD_reads_back()
    {
        // RFC 7527 §4.1 uses the RFC 3971 Nonce option (type 14) in DAD probes.
        byte[] nonce = [1, 2, 3, 4, 5, 6];
        var r = new NeighborSolicitationRepr(Src, new[] { NdpOptionRepr.NonceOption(nonce) });
        var m = Parse(Write(b => r.Write(b.Span, Src, Dst), r.BufferLength));
        Assert.True(m.TryGetOption(NdpOptionType.Nonce, out var o));
        Assert.True(o.Nonce.SequenceEqual(nonce));
        Assert.Equal(8, o.Length);
    }

    [Theory]
    [InlineData(Icmpv6Type.RouterSolicitation, 8)]
    [InlineData(Icmpv6Type.RouterAdvertisement, 16)]
    [InlineData(Icmpv6Type.NeighborSolicitation, 24)]
    [InlineData(Icmpv6Type.NeighborAdvertisement, 24)]
    [InlineData(Icmpv6Type.Redirect, 40)]
    public void A_message_shorter_than_its_fixed_part_is_Truncated_and_no_prefix_throws(Icmpv6Type type, int fixedLength)
    {
        var b = new byte[fixedLength + 8];
        b[0] = (byte)type;
        b[fixedLength] = 1;
        b[fixedLength + 1] = 1;
        Assert.True(NdpMessage.TryParse(b, out _, out _));
        for (int n = 0; n < fixedLength; n++)
        {
            Assert.False(NdpMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.Truncated, e);
        }
        for (int n = fixedLength + 1; n < b.Length; n++)
        {
            Assert.False(NdpMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.BadOption, e);
        }
    }

    [Fact]
    public void A_non_ND_type_is_Unsupported()
    {
        Assert.False(NdpMessage.TryParse(new byte[24], out _, out var e));
        Assert.Equal(WireError.Unsupported, e);
    }
}
