using CsCheck;
using NetStack.Network.Fragmentation;
using NetStack.Network.Ipv4;
using NetStack.Wire;
using Ipv4Reassembler = NetStack.Network.Fragmentation.Reassembler<NetStack.Network.Ipv4.Ipv4FragmentKey, NetStack.Network.Ipv4.Ipv4Family>;

namespace NetStack.Tests.Ipv4;

public class ReassemblerTests
{
    private static readonly Ipv4FragmentKey Key = new(Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("192.0.2.2"), IpProtocol.Udp, 77);
    private static readonly byte[] Header = new byte[20];
    private static readonly Instant T0 = Instant.FromSeconds(10);

    private static byte[] Payload(int n, int seed = 1)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + seed);
        return b;
    }

    private static ReassemblyOutcome Add(Ipv4Reassembler r, byte[] payload, int offset, int length, bool more, out ReassembledDatagram d, Instant? now = null, Ipv4FragmentKey? key = null) =>
        r.Add(key ?? Key, Header, offset, more, payload.AsSpan(offset, length), 0, now ?? T0, out d);

    [Fact]
    public void An_empty_last_fragment_far_ahead_then_a_fragment_that_grows_the_buffer_reassembles()
    {
        // Found by the hostile-input property (seed 4M-f6p8fHLf2): the empty last fragment moved the datagram's end past
        // the buffer, and growing the buffer then copied past its end (an exception out of the stack).
        var r = new Ipv4Reassembler();
        var p = Payload(4000);
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 0, 8, true, out _));
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 4000, 0, false, out _));
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 8, 2992, true, out _));
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, p, 3000, 1000, true, out var d));
        Assert.Equal(p, d.Payload.ToArray());
        Ipv4Reassembler.Release(d);
    }

    [Fact]
    public void In_order_fragments_reassemble_to_the_original_payload_RFC791_3_2()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(3000);
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 0, 1480, true, out _));
        Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 1480, 1480, true, out _));
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, p, 2960, 40, false, out var d));
        Assert.Equal(p, d.Payload.ToArray());
        Assert.Equal(20, d.HeaderLength);
        Ipv4Reassembler.Release(d);
        Assert.Equal(0, r.DatagramCount);
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Reverse_and_shuffled_order_reassemble_too()
    {
        var p = Payload(8008);
        var slices = new List<(int O, int L, bool M)>();
        foreach (var f in FragmentPlan.Create(8008, 1500, 20, 20)) slices.Add((f.Offset, f.Length, f.More));
        Gen.Shuffle(slices.ToArray()).Sample(order =>
        {
            var r = new Ipv4Reassembler();
            ReassembledDatagram d = default;
            var last = ReassemblyOutcome.Incomplete;
            foreach (var (o, l, m) in order) last = Add(r, p, o, l, m, out d);
            bool ok = last == ReassemblyOutcome.Complete && d.Payload.SequenceEqual(p);
            if (last == ReassemblyOutcome.Complete) Ipv4Reassembler.Release(d);
            return ok;
        });
    }

    [Fact]
    public void Identical_duplicate_fragment_is_dropped_and_the_datagram_survives()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(2000);
        Add(r, p, 0, 1000, true, out _);
        Assert.Equal(ReassemblyOutcome.Duplicate, Add(r, p, 0, 1000, true, out _));
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, p, 1000, 1000, false, out var d));
        Ipv4Reassembler.Release(d);
    }

    [Fact]
    public void Overlap_with_conflicting_data_discards_the_whole_datagram_RFC5722_spirit()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(2000);
        var evil = Payload(2000, seed: 99);
        Add(r, p, 0, 1000, true, out _);
        Assert.Equal(ReassemblyOutcome.Overlap, r.Add(Key, Header, 992, false, evil.AsSpan(992, 1008), 0, T0, out _));
        Assert.Equal(0, r.DatagramCount);
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Overlap_with_identical_data_is_accepted()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(2000);
        Add(r, p, 0, 1008, true, out _);
        Assert.Equal(ReassemblyOutcome.Complete, Add(r, p, 1000, 1000, false, out var d));
        Assert.Equal(p, d.Payload.ToArray());
        Ipv4Reassembler.Release(d);
    }

    [Fact]
    public void A_second_different_last_fragment_discards_the_datagram()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(3000);
        Add(r, p, 2000, 1000, false, out _);
        Assert.Equal(ReassemblyOutcome.Inconsistent, Add(r, p, 2000, 800, false, out _));
        Assert.Equal(0, r.DatagramCount);
    }

    [Fact]
    public void Data_beyond_the_known_end_discards_the_datagram()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(4000);
        Add(r, p, 1000, 1000, false, out _);
        Assert.Equal(ReassemblyOutcome.Inconsistent, Add(r, p, 2000, 1000, true, out _));
    }

    [Fact]
    public void Train_beyond_65535_bytes_is_discarded_ping_of_death_RFC791_3_1()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(1480);
        Assert.Equal(ReassemblyOutcome.Incomplete, r.Add(Key, Header, 0, true, p, 0, T0, out _));
        Assert.Equal(ReassemblyOutcome.TooLarge, r.Add(Key, Header, 65528, false, p.AsSpan(0, 100), 0, T0, out _));
        Assert.Equal(0, r.DatagramCount);
    }

    [Fact]
    public void Concurrent_datagrams_are_bounded()
    {
        var r = new Ipv4Reassembler(ReassemblyLimits.Default with { MaxDatagrams = 3 });
        var p = Payload(16);
        for (ushort id = 0; id < 3; id++)
            Assert.Equal(ReassemblyOutcome.Incomplete, Add(r, p, 0, 8, true, out _, key: Key with { Identification = id }));
        Assert.Equal(ReassemblyOutcome.LimitReached, Add(r, p, 0, 8, true, out _, key: Key with { Identification = 9 }));
        Assert.Equal(3, r.DatagramCount);
    }

    [Fact]
    public void Bytes_held_never_exceed_the_limit_under_a_fragment_flood()
    {
        var limits = ReassemblyLimits.Default with { MaxBytes = 200_000, MaxDatagrams = 1000 };
        var r = new Ipv4Reassembler(limits);
        var p = Payload(1480);
        IRandomSource rnd = new SeededRandom(42);
        for (int i = 0; i < 5000; i++)
        {
            var key = Key with { Identification = (ushort)rnd.Next(65536) };
            int offset = rnd.Next(40) * 1480;
            r.Add(key, Header, offset, true, p, 0, T0, out _);
            Assert.True(r.BytesHeld <= limits.MaxBytes, $"seed 42, step {i}: {r.BytesHeld}");
        }
    }

    [Fact]
    public void Tiny_fragment_flood_is_bounded_in_holes()
    {
        var r = new Ipv4Reassembler(ReassemblyLimits.Default with { MaxHolesPerDatagram = 16 });
        var p = Payload(8);
        var outcome = ReassemblyOutcome.Incomplete;
        for (int i = 0; i < 40 && outcome == ReassemblyOutcome.Incomplete; i++) outcome = r.Add(Key, Header, i * 16, true, p, 0, T0, out _);
        Assert.Equal(ReassemblyOutcome.LimitReached, outcome);
        Assert.Equal(0, r.DatagramCount);
    }

    [Fact]
    public void Non_last_fragment_is_trimmed_to_a_multiple_of_8_as_Linux_does()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(20);
        Assert.Equal(ReassemblyOutcome.Incomplete, r.Add(Key, Header, 0, true, p.AsSpan(0, 13), 0, T0, out _));
        Assert.Equal(ReassemblyOutcome.Complete, r.Add(Key, Header, 8, false, p.AsSpan(8, 12), 0, T0, out var d));
        Assert.Equal(p, d.Payload.ToArray());
        Ipv4Reassembler.Release(d);
    }

    [Fact]
    public void Incomplete_datagram_times_out_after_30_seconds_reporting_the_first_fragment_RFC792()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(3000);
        Add(r, p, 0, 1480, true, out _);
        int calls = 0;
        int firstLength = 0;
        Assert.Equal(T0 + TimeSpan.FromSeconds(30), r.Poll(T0 + TimeSpan.FromSeconds(29), (in Ipv4FragmentKey _, ReadOnlySpan<byte> f, int _) => calls++));
        r.Poll(T0 + TimeSpan.FromSeconds(30), (in Ipv4FragmentKey k, ReadOnlySpan<byte> f, int _) => { calls++; firstLength = f.Length; });
        Assert.Equal(1, calls);
        Assert.Equal(20 + 1480, firstLength);
        Assert.Equal(0, r.DatagramCount);
        Assert.Equal(0, r.BytesHeld);
    }

    [Fact]
    public void Timeout_without_the_first_fragment_reports_nothing_to_quote()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(3000);
        Add(r, p, 1480, 1480, true, out _);
        int quoted = -1;
        r.Poll(T0 + TimeSpan.FromSeconds(31), (in Ipv4FragmentKey _, ReadOnlySpan<byte> f, int _) => quoted = f.Length);
        Assert.Equal(0, quoted);
    }

    [Fact]
    public void A_long_first_header_counts_toward_the_65535_limit()
    {
        var r = new Ipv4Reassembler();
        var p = Payload(1480);
        // The last fragment alone fits (20 + 65512 = 65532), but the 60-byte first header makes the datagram 65572.
        Assert.Equal(ReassemblyOutcome.Incomplete, r.Add(Key, Header, 65504, false, p.AsSpan(0, 8), 0, T0, out _));
        Assert.Equal(ReassemblyOutcome.TooLarge, r.Add(Key, new byte[60], 0, true, p, 0, T0, out _));
        Assert.Equal(0, r.DatagramCount);
        Assert.Equal(0, r.BytesHeld);
    }
}
