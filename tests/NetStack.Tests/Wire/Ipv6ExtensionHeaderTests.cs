using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>The extension-header chain walker and the option, fragment and routing headers (RFC 8200 §4).</summary>
public sealed class Ipv6ExtensionHeaderTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("2001:db8::1");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("2001:db8::2");

    /// <summary>Builds an IPv6 packet whose payload is the given headers (their next-header values set by the caller).</summary>
    private static byte[] Build(IpProtocol first, params byte[][] parts)
    {
        int len = parts.Sum(p => p.Length);
        var b = new byte[40 + len];
        new Ipv6Repr(Src, Dst, first, len, 64).Write(b);
        int o = 40;
        foreach (var p in parts) { p.CopyTo(b, o); o += p.Length; }
        return b;
    }

    private static byte[] Options(IpProtocol next, params Ipv6OptionRepr[] options)
    {
        var r = new Ipv6OptionsRepr(next, options);
        var b = new byte[r.HeaderLength];
        r.Write(b);
        return b;
    }

    private static byte[] Fragment(IpProtocol next, int offset, bool more, uint id = 7)
    {
        var b = new byte[8];
        new Ipv6FragmentRepr(next, offset, more, id).Write(b);
        return b;
    }

    private static byte[] Routing(IpProtocol next, byte type, byte segmentsLeft, int dataLength = 4)
    {
        var r = new Ipv6RoutingRepr(next, type, segmentsLeft, new byte[dataLength]);
        var b = new byte[r.HeaderLength];
        r.Write(b);
        return b;
    }

    private static readonly byte[] Udp = new byte[8];

    private static Ipv6HeaderChain Walk(byte[] packet)
    {
        Assert.True(Ipv6HeaderChain.TryParse(packet, out var chain, out var e), e.ToString());
        return chain;
    }

    [Fact]
    public void A_full_chain_reaches_the_upper_layer_with_every_offset_reported()
    {
        var p = Build(IpProtocol.HopByHop,
            Options(IpProtocol.Ipv6DestinationOptions),
            Options(IpProtocol.Ipv6Routing),
            Routing(IpProtocol.Ipv6Fragment, 253, 0),
            Fragment(IpProtocol.Udp, 0, false),
            Udp);
        var c = Walk(p);
        Assert.Equal(Ipv6ChainEnd.UpperLayer, c.End);
        Assert.Equal(IpProtocol.Udp, c.Protocol);
        Assert.Equal(72, c.ProtocolOffset);
        Assert.Equal(64, c.NextHeaderFieldOffset);
        Assert.Equal(4, c.HeaderCount);
        Assert.Equal(40, c.HopByHopOffset);
        Assert.Equal(56, c.RoutingOffset);
        Assert.Equal(64, c.FragmentHeaderOffset);
        Assert.Equal(64, c.UnfragmentablePartLength);
        Assert.False(c.IncompleteFirstFragment);
    }

    [Fact]
    public void Without_a_fragment_header_the_unfragmentable_part_ends_after_the_routing_header()
    {
        // RFC 8200 §4.5: per-fragment headers are those up to and including the Routing header.
        var p = Build(IpProtocol.HopByHop, Options(IpProtocol.Ipv6Routing), Routing(IpProtocol.Ipv6DestinationOptions, 4, 0), Options(IpProtocol.Udp), Udp);
        Assert.Equal(56, Walk(p).UnfragmentablePartLength);
        var q = Build(IpProtocol.HopByHop, Options(IpProtocol.Ipv6DestinationOptions), Options(IpProtocol.Udp), Udp);
        Assert.Equal(48, Walk(q).UnfragmentablePartLength);
        Assert.Equal(40, Walk(Build(IpProtocol.Udp, Udp)).UnfragmentablePartLength);
    }

    [Fact]
    public void The_headers_enumerate_in_order_with_their_offsets()
    {
        var p = Build(IpProtocol.HopByHop, Options(IpProtocol.Ipv6Fragment), Fragment(IpProtocol.Icmpv6, 0, false), new byte[8]);
        var c = Walk(p);
        var seen = new List<(IpProtocol, int, int)>();
        foreach (var h in c.Headers(p)) seen.Add((h.Type, h.Offset, h.Bytes.Length));
        Assert.Equal([(IpProtocol.HopByHop, 40, 8), (IpProtocol.Ipv6Fragment, 48, 8)], seen);
    }

    [Fact]
    public void Hop_by_Hop_after_another_header_is_reported_with_the_pointer_to_the_next_header_field()
    {
        // RFC 8200 §4.3: Hop-by-Hop only immediately after the IPv6 header; elsewhere, Parameter Problem code 1.
        var p = Build(IpProtocol.Ipv6DestinationOptions, Options(IpProtocol.HopByHop), Options(IpProtocol.Udp), Udp);
        var c = Walk(p);
        Assert.Equal(Ipv6ChainEnd.MisplacedHopByHop, c.End);
        Assert.Equal(40, c.NextHeaderFieldOffset);
    }

    [Fact]
    public void An_unknown_next_header_is_reported_with_its_value_and_the_pointer_that_named_it()
    {
        // RFC 8200 §4: unrecognized Next Header -> Parameter Problem code 1 pointing at the field.
        var p = Build(IpProtocol.Ipv6DestinationOptions, Options((IpProtocol)253), new byte[8]);
        var c = Walk(p);
        Assert.Equal(Ipv6ChainEnd.UnknownHeader, c.End);
        Assert.Equal((IpProtocol)253, c.Protocol);
        Assert.Equal(40, c.NextHeaderFieldOffset);
        Assert.Equal(Ipv6Packet.NextHeaderFieldOffset, Walk(Build((IpProtocol)200, new byte[8])).NextHeaderFieldOffset);
    }

    [Theory]
    [InlineData(IpProtocol.Ipv6NoNextHeader, Ipv6ChainEnd.NoNextHeader)]
    [InlineData(IpProtocol.Esp, Ipv6ChainEnd.Esp)]
    [InlineData(IpProtocol.Ah, Ipv6ChainEnd.Ah)]
    [InlineData(IpProtocol.Icmpv6, Ipv6ChainEnd.UpperLayer)]
    [InlineData(IpProtocol.Tcp, Ipv6ChainEnd.UpperLayer)]
    public void The_walk_stops_at_the_header_it_reports(IpProtocol last, Ipv6ChainEnd end)
    {
        var c = Walk(Build(IpProtocol.Ipv6DestinationOptions, Options(last), new byte[20]));
        Assert.Equal(end, c.End);
        Assert.Equal(last, c.Protocol);
        Assert.Equal(48, c.ProtocolOffset);
    }

    [Fact]
    public void A_non_first_fragment_ends_the_chain_at_the_fragment_data()
    {
        var c = Walk(Build(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Udp, 1232, false), new byte[16]));
        Assert.Equal(Ipv6ChainEnd.NonFirstFragment, c.End);
        Assert.Equal(IpProtocol.Udp, c.Protocol);
        Assert.Equal(48, c.ProtocolOffset);
        Assert.Equal(40, c.FragmentHeaderOffset);
    }

    [Fact]
    public void A_first_fragment_without_the_whole_header_chain_is_flagged_per_RFC_7112()
    {
        // RFC 7112 §5: the first fragment must hold every header up to and including the upper-layer header.
        var cutTcp = Walk(Build(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Tcp, 0, true), new byte[8]));
        Assert.Equal(Ipv6ChainEnd.UpperLayer, cutTcp.End);
        Assert.True(cutTcp.IncompleteFirstFragment);

        var dest = Options(IpProtocol.Udp, new Ipv6OptionRepr(0x1E, new byte[20]));
        var cutDest = Walk(Build(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Ipv6DestinationOptions, 0, true), dest[..16]));
        Assert.Equal(Ipv6ChainEnd.Cut, cutDest.End);
        Assert.True(cutDest.IncompleteFirstFragment);

        var whole = Walk(Build(IpProtocol.Ipv6Fragment, Fragment(IpProtocol.Udp, 0, true), Udp));
        Assert.False(whole.IncompleteFirstFragment);
    }

    [Fact]
    public void A_header_running_past_the_payload_of_an_unfragmented_packet_is_Truncated()
    {
        var p = Build(IpProtocol.HopByHop, Options(IpProtocol.Udp, new Ipv6OptionRepr(0x1E, new byte[20]))[..16]);
        Assert.False(Ipv6HeaderChain.TryParse(p, out _, out var e));
        Assert.Equal(WireError.Truncated, e);
    }

    [Fact]
    public void A_chain_longer_than_the_limit_is_rejected_as_TooLong()
    {
        var parts = Enumerable.Range(0, 20).Select(i => Options(i == 19 ? IpProtocol.Udp : IpProtocol.Ipv6DestinationOptions)).Append(Udp).ToArray();
        var p = Build(IpProtocol.Ipv6DestinationOptions, parts);
        Assert.False(Ipv6HeaderChain.TryParse(p, out _, out var e));
        Assert.Equal(WireError.TooLong, e);
        Assert.True(Ipv6HeaderChain.TryParse(p, out var c, out _, maxHeaders: 20));
        Assert.Equal(20, c.HeaderCount);
    }

    [Fact]
    public void Every_truncation_of_a_valid_chain_is_refused_or_parsed_without_throwing()
    {
        var p = Build(IpProtocol.HopByHop, Options(IpProtocol.Ipv6Routing, Ipv6OptionRepr.RouterAlert(0)),
            Routing(IpProtocol.Ipv6Fragment, 0, 1, 20), Fragment(IpProtocol.Ipv6DestinationOptions, 0, true), Options(IpProtocol.Tcp), new byte[20]);
        for (int n = 0; n <= p.Length; n++)
        {
            if (Ipv6HeaderChain.TryParse(p.AsSpan(0, n), out var c, out _))
            {
                foreach (var h in c.Headers(p.AsSpan(0, n))) Assert.True(h.Bytes.Length >= 8);
            }
        }
    }

    [Fact]
    public void Every_frame_of_the_malformed_fragments_capture_parses_with_the_expected_fragment_fields()
    {
        // suri-ipv6-malformed-fragments-1.pcap: overlapping fragments, each well-formed on the wire.
        var offsets = new List<int>();
        foreach (var frame in Ipv6TestCaptures.ReadFrames("suri-ipv6-malformed-fragments-1.pcap"))
        {
            Assert.True(EthernetFrame.TryParse(frame, out var eth, out _));
            Assert.True(Ipv6Packet.TryParse(eth.Payload, out var ip, out var e), e.ToString());
            Assert.True(Ipv6HeaderChain.TryParse(ip, out var c, out e), e.ToString());
            if (c.HasFragmentHeader)
            {
                Assert.True(Ipv6FragmentHeader.TryParse(ip.Bytes[c.FragmentHeaderOffset..], out var f, out _));
                offsets.Add(f.FragmentOffset);
            }
        }
        Assert.Equal([0, 408, 408, 808], offsets);
    }

    // ---- TLV options (RFC 8200 §4.2) ----

    [Theory]
    [InlineData(0x1E, Ipv6OptionAction.Skip, false)]
    [InlineData(0x5E, Ipv6OptionAction.Discard, false)]
    [InlineData(0x9E, Ipv6OptionAction.DiscardAndReport, false)]
    [InlineData(0xDE, Ipv6OptionAction.DiscardAndReportIfUnicast, false)]
    [InlineData(0x3E, Ipv6OptionAction.Skip, true)]
    [InlineData(0xC2, Ipv6OptionAction.DiscardAndReportIfUnicast, false)]
    public void Option_type_high_bits_give_the_action_and_the_change_en_route_bit(byte type, Ipv6OptionAction action, bool mayChange)
    {
        Assert.True(Ipv6OptionsHeader.TryParse(Options(IpProtocol.Udp, new Ipv6OptionRepr(type, new byte[4])), out var h, out _));
        var e = h.Options;
        Assert.True(e.MoveNext());
        Assert.Equal(type, e.Current.Type);
        Assert.Equal(action, e.Current.Action);
        Assert.Equal(mayChange, e.Current.MayChangeEnRoute);
        Assert.Equal(2, e.Current.Offset);
        Assert.Equal(4, e.Current.Data.Length);
    }

    [Fact]
    public void Written_options_are_padded_to_8_octets_with_Pad1_or_PadN_and_read_back()
    {
        var gen = Gen.Select(Gen.Byte[2, 255], Gen.Byte.Array[0, 30]).Array[0, 4];
        gen.Sample(opts =>
        {
            var reprs = opts.Select(o => new Ipv6OptionRepr(o.Item1, o.Item2)).ToArray();
            var b = Options(IpProtocol.Tcp, reprs);
            Assert.Equal(0, b.Length % 8);
            Assert.True(Ipv6OptionsHeader.TryParse(b, out var h, out var e), e.ToString());
            Assert.Equal(IpProtocol.Tcp, h.NextHeader);
            var read = new List<(byte, byte[])>();
            foreach (var o in h.Options) if (!o.IsPadding) read.Add((o.Type, o.Data.ToArray()));
            Assert.Equal(reprs.Length, read.Count);
            for (int i = 0; i < read.Count; i++)
            {
                Assert.Equal(reprs[i].Type, read[i].Item1);
                Assert.True(reprs[i].Data.Span.SequenceEqual(read[i].Item2));
            }
        });
    }

    [Fact]
    public void Pad1_and_PadN_are_enumerated_as_padding()
    {
        byte[] b = [6, 0, 0, 1, 2, 0, 0, 0];
        Assert.True(Ipv6OptionsHeader.TryParse(b, out var h, out _));
        var kinds = new List<(byte, int)>();
        foreach (var o in h.Options) { Assert.True(o.IsPadding); kinds.Add((o.Type, o.Offset)); }
        Assert.Equal([(0, 2), (1, 3), (0, 7)], kinds);
    }

    [Theory]
    [InlineData(new byte[] { 6, 0, 0x1E, 5, 0, 0, 0, 0 })]        // data runs one octet past the header
    [InlineData(new byte[] { 6, 0, 1, 3, 0, 0, 0, 0x1E })]       // a type octet with no room for its length
    [InlineData(new byte[] { 6, 0, 1, 200, 0, 0, 0, 0 })]        // PadN far past the end
    public void An_option_length_overrunning_the_header_is_BadOption(byte[] header)
    {
        Assert.False(Ipv6OptionsHeader.TryParse(header, out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void An_options_header_longer_than_the_buffer_is_Truncated()
    {
        Assert.False(Ipv6OptionsHeader.TryParse([6, 1, 1, 4, 0, 0, 0, 0], out _, out var e));
        Assert.Equal(WireError.Truncated, e);
    }

    // ---- Fragment and Routing headers ----

    [Fact]
    public void Fragment_header_round_trips_for_random_fields()
    {
        Gen.Select(Gen.Byte, Gen.Int[0, 8191], Gen.Bool, Gen.UInt).Sample(t =>
        {
            var repr = new Ipv6FragmentRepr((IpProtocol)t.Item1, t.Item2 * 8, t.Item3, t.Item4);
            var b = new byte[8];
            Assert.Equal(8, repr.Write(b));
            Assert.True(Ipv6FragmentHeader.TryParse(b, out var f, out _));
            Assert.Equal(repr, f.ToRepr());
            Assert.Equal(0, f.Reserved);
            Assert.Equal(0, f.ReservedBits);
        });
    }

    [Fact]
    public void Offset_zero_without_more_fragments_is_an_atomic_fragment()
    {
        // RFC 6946 §4: an atomic fragment is processed in isolation.
        Assert.True(Ipv6FragmentHeader.TryParse(Fragment(IpProtocol.Udp, 0, false), out var f, out _));
        Assert.True(f.IsAtomic);
        Assert.False(f.IsFirstFragment);
        Assert.True(Ipv6FragmentHeader.TryParse(Fragment(IpProtocol.Udp, 0, true), out f, out _));
        Assert.False(f.IsAtomic);
        Assert.True(f.IsFirstFragment);
    }

    [Fact]
    public void Fragment_reserved_fields_are_exposed_and_ignored()
    {
        // RFC 8200 §4.5: reserved fields are ignored on receipt.
        byte[] b = [17, 0xAA, 0x00, 0x0E, 0, 0, 0, 9];
        Assert.True(Ipv6FragmentHeader.TryParse(b, out var f, out _));
        Assert.Equal(0xAA, f.Reserved);
        Assert.Equal(3, f.ReservedBits);
        Assert.Equal(8, f.FragmentOffset);
        Assert.False(f.MoreFragments);
    }

    [Fact]
    public void Routing_header_round_trips_for_random_fields()
    {
        Gen.Select(Gen.Byte, Gen.Byte, Gen.Byte, Gen.Int[0, 12]).Sample(t =>
        {
            var data = new byte[4 + 8 * t.Item4];
            data.AsSpan().Fill(t.Item3);
            var repr = new Ipv6RoutingRepr((IpProtocol)t.Item1, t.Item2, t.Item3, data);
            var b = new byte[repr.HeaderLength];
            repr.Write(b);
            Assert.True(Ipv6RoutingHeader.TryParse(b, out var r, out _));
            Assert.Equal(repr.NextHeader, r.NextHeader);
            Assert.Equal(repr.RoutingType, r.RoutingType);
            Assert.Equal(repr.SegmentsLeft, r.SegmentsLeft);
            Assert.True(r.TypeSpecificData.SequenceEqual(data));
        });
    }

    [Fact]
    public void Routing_header_longer_than_the_buffer_is_Truncated()
    {
        var b = Routing(IpProtocol.Udp, 0, 1, 20);
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(Ipv6RoutingHeader.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.Truncated, e);
        }
    }
}
