using System.Buffers.Binary;
using CsCheck;
using NetStack.Network.Fragmentation;
using NetStack.Network.Ipv6;
using NetStack.Wire;
using Reassembler = NetStack.Network.Fragmentation.Reassembler<NetStack.Network.Ipv6.Ipv6FragmentKey, NetStack.Network.Ipv6.Ipv6Family>;

namespace NetStack.Tests.Ipv6;

public class ReassemblerTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("2001:db8::1");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("2001:db8::2");
    private static readonly Instant T0 = Instant.FromSeconds(10);

    /// <summary>Builds an IPv6 packet: fixed header (next header 44) + Fragment header + data.</summary>
    private static byte[] Fragment(int offset, bool more, byte[] data, uint id = 7)
    {
        var p = new byte[40 + 8 + data.Length];
        p[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(4), (ushort)(8 + data.Length));
        p[6] = 44;
        p[7] = 64;
        Src.Write(p.AsSpan(8));
        Dst.Write(p.AsSpan(24));
        p[40] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(p.AsSpan(42), (ushort)(offset | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(p.AsSpan(44), id);
        data.CopyTo(p, 48);
        return p;
    }

    /// <summary>The packet completed by the last <see cref="Add"/> that returned <see cref="ReassemblyOutcome.Complete"/>.</summary>
    private byte[] Completed { get; set; } = [];

    /// <summary>Adds one fragment as Ipv6Layer does: the stored header is the packet through the Fragment header, the tag the
    /// offset of the Next Header field naming it (6: the fixed header's).</summary>
    private ReassemblyOutcome Add(Reassembler r, byte[] pkt, Instant? now = null)
    {
        var outcome = Add(r, pkt, out var completed, now);
        if (outcome == ReassemblyOutcome.Complete) Completed = completed;
        return outcome;
    }

    /// <summary><see cref="Add(Reassembler, byte[], Instant?)"/> for callers on several threads at once (CsCheck's
    /// <c>Sample</c> runs its cases in parallel): the completed packet comes back in <paramref name="completed"/>, not
    /// through the shared <see cref="Completed"/>.</summary>
    private static ReassemblyOutcome Add(Reassembler r, byte[] pkt, out byte[] completed, Instant? now = null)
    {
        completed = [];
        int off = BinaryPrimitives.ReadUInt16BigEndian(pkt.AsSpan(42)) & 0xFFF8;
        bool more = (pkt[43] & 1) != 0;
        var key = new Ipv6FragmentKey(Src, Dst, BinaryPrimitives.ReadUInt32BigEndian(pkt.AsSpan(44)));
        var outcome = r.Add(key, pkt.AsSpan(0, 48), off, more, pkt.AsSpan(48), 0, now ?? T0, out var datagram, headerTag: 6);
        if (outcome == ReassemblyOutcome.Complete)
        {
            completed = datagram.Datagram.ToArray();
            datagram.Release();
        }
        return outcome;
    }

    /// <summary>Polls the timeouts at <paramref name="now"/>: the first fragment reported for each packet that timed out
    /// (empty when it had not arrived).</summary>
    private static List<byte[]> Expire(Reassembler r, Instant now)
    {
        var expired = new List<byte[]>();
        r.Poll(now, (in Ipv6FragmentKey _, ReadOnlySpan<byte> first, int _) => expired.Add(first.ToArray()));
        return expired;
    }

    private static byte[] Bytes(int n, byte seed) => Enumerable.Range(0, n).Select(i => (byte)(i + seed)).ToArray();

    /// <summary>A reassembler with the layer's limits from <see cref="Ipv6Settings"/> (timeout: the RFC 8200 §4.5 default, 60 s).</summary>
    private static Reassembler New(int maxPackets = 16, int maxBytes = 1 << 20, int maxFragments = 64) =>
        new(new Ipv6Settings { ReassemblyMaxPackets = maxPackets, ReassemblyMaxBytes = maxBytes, ReassemblyMaxFragments = maxFragments }.ToReassemblyLimits());

    [Fact]
    public void Fragments_in_any_order_reassemble_with_next_header_and_payload_length_fixed()
    {
        using var r = New();
        var a = Bytes(16, 0); var b = Bytes(16, 100); var c = Bytes(5, 200);
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, Fragment(16, true, b)));
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, Fragment(32, false, c)));
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, Fragment(0, true, a)));
        var whole = Completed;
        Assert.Equal(40 + 37, whole.Length);
        Assert.Equal(17, whole[6]); // RFC 8200 §4.5: Next Header from the first fragment's Fragment header
        Assert.Equal(37, BinaryPrimitives.ReadUInt16BigEndian(whole.AsSpan(4)));
        Assert.Equal(a.Concat(b).Concat(c).ToArray(), whole[40..]);
        Assert.Equal(0, r.DatagramCount);
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Overlapping_fragment_discards_the_whole_datagram_including_later_fragments_RFC5722()
    {
        using var r = New();
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, Fragment(0, true, Bytes(16, 0))));
        Assert.Equal(ReassemblyOutcome.Overlap, Add(r, Fragment(8, true, Bytes(16, 1))));
        // A fragment that would have completed it arrives later: still discarded (RFC 5722 §4).
        Assert.Equal(ReassemblyOutcome.AlreadyDiscarded, Add(r, Fragment(16, false, Bytes(8, 2))));
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Exact_duplicate_is_dropped_alone_and_reassembly_continues()
    {
        using var r = New();
        var a = Fragment(0, true, Bytes(8, 0));
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, a));
        Assert.Equal(ReassemblyOutcome.Duplicate, Add(r, a));
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, Fragment(8, false, Bytes(3, 9))));
    }

    [Fact]
    public void Same_range_with_different_bytes_is_an_overlap()
    {
        using var r = New();
        Add(r, Fragment(0, true, Bytes(8, 0)));
        Assert.Equal(ReassemblyOutcome.Overlap, Add(r, Fragment(0, true, Bytes(8, 1))));
    }

    [Fact]
    public void Length_not_multiple_of_8_with_M_set_is_BadLength_RFC8200_4_5()
    {
        using var r = New();
        Assert.Equal(ReassemblyOutcome.BadLength, Add(r, Fragment(0, true, Bytes(12, 0))));
        Assert.Equal(0, r.DatagramCount);
    }

    [Fact]
    public void Offset_plus_length_beyond_65535_is_TooLarge_RFC8200_4_5()
    {
        using var r = New();
        Assert.Equal(ReassemblyOutcome.TooLarge, Add(r, Fragment(65528, false, Bytes(16, 0))));
    }

    [Fact]
    public void A_first_fragment_whose_longer_unfragmentable_part_pushes_the_packet_past_65535_is_TooLarge_RFC8200_4_5()
    {
        using var r = New();
        // The last fragment alone fits (a bare fixed header: 65528 + 7 = 65535)...
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, Fragment(65528, false, Bytes(7, 0))));
        // ...but the first carries an 8-byte Destination Options header before its Fragment header: the reassembled
        // Payload Length would be 65,543 (once an exception out of the old fixed output buffer).
        var first = new byte[40 + 8 + 8 + 8];
        first[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(4), 8 + 8 + 8);
        first[6] = 60; // Destination Options
        first[7] = 64;
        Src.Write(first.AsSpan(8));
        Dst.Write(first.AsSpan(24));
        first[40] = 44; // next: Fragment
        first[42] = 1; // PadN, 4 bytes
        first[43] = 4;
        first[48] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(first.AsSpan(50), 1); // offset 0, M set
        BinaryPrimitives.WriteUInt32BigEndian(first.AsSpan(52), 7);
        var key = new Ipv6FragmentKey(Src, Dst, 7);
        Assert.Equal(ReassemblyOutcome.TooLarge, r.Add(key, first.AsSpan(0, 56), 0, true, first.AsSpan(56), 0, T0, out _, headerTag: 40));
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Atomic_fragment_is_processed_in_isolation_RFC6946()
    {
        using var r = New();
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, Fragment(8, true, Bytes(8, 0))));
        // Same identification, offset 0 and M clear: not mixed with the pending packet.
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, Fragment(0, false, Bytes(4, 50))));
        Assert.Equal(40 + 4, Completed.Length);
        Assert.Equal(1, r.DatagramCount);
    }

    [Fact]
    public void Timeout_after_60s_reports_first_fragment_when_it_arrived()
    {
        using var r = New();
        var first = Fragment(0, true, Bytes(8, 0));
        Add(r, first);
        Assert.Empty(Expire(r, T0 + TimeSpan.FromSeconds(59)));
        var e = Assert.Single(Expire(r, T0 + TimeSpan.FromSeconds(60)));
        Assert.NotEmpty(e); // the first fragment had arrived
        Assert.Equal(first, e);
        Assert.Equal(0, r.DatagramCount);
    }

    [Fact]
    public void Timeout_without_first_fragment_sends_nothing()
    {
        using var r = New();
        Add(r, Fragment(8, false, Bytes(8, 0)));
        var e = Assert.Single(Expire(r, T0 + TimeSpan.FromSeconds(61)));
        Assert.Empty(e); // no first fragment: nothing to quote
    }

    [Fact]
    public void Disagreeing_last_fragments_discard_the_packet()
    {
        using var r = New();
        Add(r, Fragment(8, false, Bytes(8, 0)));
        Assert.Equal(ReassemblyOutcome.Inconsistent, Add(r, Fragment(16, false, Bytes(8, 0))));
    }

    [Fact]
    public void Packet_limit_evicts_the_oldest()
    {
        using var r = New(maxPackets: 2);
        Add(r, Fragment(8, true, Bytes(8, 0), id: 1), T0);
        Add(r, Fragment(8, true, Bytes(8, 0), id: 2), T0 + TimeSpan.FromSeconds(1));
        Add(r, Fragment(8, true, Bytes(8, 0), id: 3), T0 + TimeSpan.FromSeconds(2));
        Assert.Equal(2, r.DatagramCount);
        Assert.Equal(16, r.BytesHeld);
    }

    [Fact]
    public void Byte_limit_drops_the_fragment_as_Limit()
    {
        using var r = New(maxPackets: 8, maxBytes: 16);
        Add(r, Fragment(0, true, Bytes(16, 0), id: 1));
        Assert.Equal(ReassemblyOutcome.LimitReached, Add(r, Fragment(0, true, Bytes(8, 0), id: 2)));
    }

    [Fact]
    public void Random_fragment_orders_reassemble_the_original_property()
    {
        Gen.Select(Gen.Int[1, 3000], Gen.Int[8, 40], Gen.UInt).Sample((len, chunk8, seed) =>
        {
            using var r = New();
            var payload = Bytes(len, (byte)seed);
            int chunk = chunk8 * 8;
            var frags = new List<byte[]>();
            for (int o = 0; o < len; o += chunk)
                frags.Add(Fragment(o, o + chunk < len, payload[o..Math.Min(len, o + chunk)]));
            var rng = new SeededRandom(seed);
            var order = frags.OrderBy(_ => rng.NextUInt64()).ToList();
            ReassemblyOutcome last = default;
            byte[] whole = [];
            foreach (var f in order) last = Add(r, f, out whole);
            return last == ReassemblyOutcome.Complete && whole.AsSpan(40).SequenceEqual(payload);
        });
    }
}
