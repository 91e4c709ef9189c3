using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Tests.Neighbor;

public class NeighborCacheTests
{
    private sealed class RecordingSink : INeighborSink<Ipv4Address>
    {
        public readonly List<(Ipv4Address Target, MacAddress? To, Instant At)> Solicits = [];
        public readonly List<(Ipv4Address Target, MacAddress Mac, byte[] Packet)> Sent = [];
        public readonly List<(Ipv4Address Target, byte[] Packet)> Failed = [];

        public void Solicit(Ipv4Address target, MacAddress? unicastTo, Instant now) => Solicits.Add((target, unicastTo, now));
        public void SendQueued(Ipv4Address target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now) =>
            Sent.Add((target, mac, packet.ToArray()));
        public void ResolutionFailed(Ipv4Address target, ReadOnlySpan<byte> packet, Instant now) => Failed.Add((target, packet.ToArray()));
    }

    private static readonly Ipv4Address Peer = Ipv4Address.Parse("192.0.2.7");
    private static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:07");
    private static readonly MacAddress OtherMac = MacAddress.Parse("02:00:00:00:00:08");

    private static (NeighborCache<Ipv4Address> Cache, RecordingSink Sink, StackStatistics Stats) Make(NeighborCacheOptions? o = null)
    {
        var sink = new RecordingSink();
        var stats = new StackStatistics();
        return (new NeighborCache<Ipv4Address>(o ?? new NeighborCacheOptions(), sink, stats, new SeededRandom(1)), sink, stats);
    }

    [Fact]
    public void First_packet_to_a_new_neighbour_is_queued_and_sent_once_resolved()
    {
        var (cache, sink, _) = Make();
        var t0 = Instant.FromSeconds(1);
        Assert.Equal(NeighborLookup.Pending, cache.Resolve(Peer, t0, out _));
        Assert.True(cache.Enqueue(Peer, EtherType.Ipv4, new byte[] { 1, 2, 3 }));
        Assert.Single(sink.Solicits);
        Assert.Null(sink.Solicits[0].To);

        cache.Advertise(Peer, PeerMac, solicited: true, overrideFlag: true, isRouter: null, t0 + TimeSpan.FromMilliseconds(5));
        var sent = Assert.Single(sink.Sent);
        Assert.Equal(PeerMac, sent.Mac);
        Assert.Equal(new byte[] { 1, 2, 3 }, sent.Packet);
        Assert.True(cache.TryGetState(Peer, out var state, out _));
        Assert.Equal(NeighborState.Reachable, state);
    }

    [Fact]
    public void Incomplete_entry_retransmits_then_fails_and_reports_waiting_packets()
    {
        // RFC 4861 §7.2.2: MAX_MULTICAST_SOLICIT solicitations RETRANS_TIMER apart, then the queued packets fail.
        var (cache, sink, stats) = Make();
        var t = Instant.FromSeconds(10);
        cache.Resolve(Peer, t, out _);
        cache.Enqueue(Peer, EtherType.Ipv4, new byte[] { 9 });
        for (int i = 0; i < 4; i++) t = cache.Poll(t);
        Assert.Equal(3, sink.Solicits.Count);
        Assert.Equal(TimeSpan.FromSeconds(1), sink.Solicits[1].At - sink.Solicits[0].At);
        Assert.Single(sink.Failed);
        Assert.False(cache.TryGetState(Peer, out _, out _));
        Assert.Equal(1, stats.Drops(DropReason.NeighborUnreachable));
        Assert.Equal(Instant.MaxValue, cache.NextDeadline);
    }

    [Fact]
    public void Waiting_queue_is_bounded_and_overflow_is_counted()
    {
        var (cache, _, stats) = Make(new NeighborCacheOptions { MaxQueuedPackets = 2 });
        cache.Resolve(Peer, Instant.Zero, out _);
        Assert.True(cache.Enqueue(Peer, EtherType.Ipv4, new byte[1]));
        Assert.True(cache.Enqueue(Peer, EtherType.Ipv4, new byte[1]));
        Assert.False(cache.Enqueue(Peer, EtherType.Ipv4, new byte[1]));
        Assert.Equal(1, stats.Drops(DropReason.NeighborQueueFull));
    }

    [Fact]
    public void Reachable_becomes_stale_then_delay_on_use_then_probe_with_unicast()
    {
        // RFC 4861 §7.3.3 transitions.
        var (cache, sink, _) = Make();
        var t = Instant.FromSeconds(1);
        cache.Resolve(Peer, t, out _);
        cache.Advertise(Peer, PeerMac, true, true, null, t);
        // The cached deadline may be early (a harmless spurious poll); the poll answers the exact one.
        t = cache.Poll(cache.NextDeadline);
        Assert.InRange(t - Instant.FromSeconds(1), TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(45));
        cache.Poll(t);
        Assert.True(cache.TryGetState(Peer, out var s, out _));
        Assert.Equal(NeighborState.Stale, s);

        Assert.Equal(NeighborLookup.Known, cache.Resolve(Peer, t, out var mac));
        Assert.Equal(PeerMac, mac);
        cache.TryGetState(Peer, out s, out _);
        Assert.Equal(NeighborState.Delay, s);
        Assert.Equal(t + TimeSpan.FromSeconds(5), cache.NextDeadline);

        cache.Poll(cache.NextDeadline);
        cache.TryGetState(Peer, out s, out _);
        Assert.Equal(NeighborState.Probe, s);
        Assert.Equal(PeerMac, sink.Solicits[^1].To);
    }

    [Fact]
    public void Upper_layer_confirmation_in_delay_returns_to_reachable()
    {
        var (cache, _, _) = Make();
        cache.Learn(Peer, PeerMac, Instant.Zero);
        cache.Resolve(Peer, Instant.Zero, out _);
        cache.ConfirmReachability(Peer, Instant.FromSeconds(1));
        cache.TryGetState(Peer, out var s, out _);
        Assert.Equal(NeighborState.Reachable, s);
    }

    [Fact]
    public void Advertisement_without_override_does_not_replace_a_known_address()
    {
        // RFC 4861 §7.2.5: O=0 with a different link-layer address: REACHABLE -> STALE, address unchanged.
        var (cache, _, _) = Make();
        cache.Resolve(Peer, Instant.Zero, out _);
        cache.Advertise(Peer, PeerMac, true, true, null, Instant.Zero);
        cache.Advertise(Peer, OtherMac, solicited: false, overrideFlag: false, isRouter: null, Instant.Zero);
        cache.TryGetState(Peer, out var s, out var mac);
        Assert.Equal(NeighborState.Stale, s);
        Assert.Equal(PeerMac, mac);

        cache.Advertise(Peer, OtherMac, solicited: false, overrideFlag: true, isRouter: null, Instant.Zero);
        cache.TryGetState(Peer, out _, out mac);
        Assert.Equal(OtherMac, mac);
    }

    [Fact]
    public void Advertisement_for_unknown_neighbour_is_ignored()
    {
        var (cache, _, _) = Make();
        cache.Advertise(Peer, PeerMac, true, true, null, Instant.Zero);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Unsolicited_information_creates_a_stale_entry_and_flushes_an_incomplete_one()
    {
        var (cache, sink, _) = Make();
        cache.Resolve(Peer, Instant.Zero, out _);
        cache.Enqueue(Peer, EtherType.Ipv4, new byte[] { 5 });
        cache.Learn(Peer, PeerMac, Instant.Zero);
        Assert.Single(sink.Sent);
        cache.TryGetState(Peer, out var s, out _);
        Assert.Equal(NeighborState.Stale, s);

        var other = Ipv4Address.Parse("192.0.2.9");
        cache.Learn(other, OtherMac, Instant.Zero, create: false);
        Assert.False(cache.TryGetState(other, out _, out _));
    }

    [Fact]
    public void Full_cache_evicts_least_recently_used_stale_entry_else_refuses()
    {
        var (cache, _, stats) = Make(new NeighborCacheOptions { MaxEntries = 2 });
        var a = Ipv4Address.Parse("192.0.2.1");
        var b = Ipv4Address.Parse("192.0.2.2");
        var c = Ipv4Address.Parse("192.0.2.3");
        var d = Ipv4Address.Parse("192.0.2.4");
        cache.Learn(a, PeerMac, Instant.FromSeconds(1));
        cache.Learn(b, PeerMac, Instant.FromSeconds(2));
        cache.Learn(c, PeerMac, Instant.FromSeconds(3));
        Assert.False(cache.TryGetState(a, out _, out _));
        Assert.True(cache.TryGetState(c, out _, out _));

        // Two INCOMPLETE entries cannot be evicted.
        var (full, _, fullStats) = Make(new NeighborCacheOptions { MaxEntries = 2 });
        full.Resolve(a, Instant.Zero, out _);
        full.Resolve(b, Instant.Zero, out _);
        Assert.Equal(NeighborLookup.CacheFull, full.Resolve(d, Instant.Zero, out _));
        Assert.Equal(1, fullStats.Drops(DropReason.NeighborCacheFull));
        Assert.Equal(0, stats.Drops(DropReason.NeighborCacheFull));
    }

    [Fact]
    public void Flood_of_random_neighbours_stays_within_the_limit()
    {
        var (cache, _, _) = Make(new NeighborCacheOptions { MaxEntries = 64 });
        IRandomSource rng = new SeededRandom(42);
        for (int i = 0; i < 100_000; i++)
            cache.Learn(new Ipv4Address(rng.NextUInt32()), new MacAddress(rng.NextUInt64() & 0xFEFFFFFFFFFF), Instant.FromMilliseconds(i));
        Assert.Equal(64, cache.Count);
    }

    [Fact]
    public void Router_flag_is_set_on_an_existing_entry_without_changing_its_state()
    {
        // RFC 4861 §6.3.4: an RA without a source link-layer option still marks the sender as a router.
        var (cache, _, _) = Make();
        cache.Learn(Peer, PeerMac, Instant.Zero);
        Assert.False(cache.IsRouter(Peer));
        cache.MarkRouter(Peer);
        Assert.True(cache.IsRouter(Peer));
        cache.TryGetState(Peer, out var s, out var mac);
        Assert.Equal((NeighborState.Stale, PeerMac), (s, mac));
        cache.MarkRouter(Ipv4Address.Parse("192.0.2.99"));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Token_bucket_allows_the_burst_then_the_rate()
    {
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 5);
        var t = Instant.FromSeconds(100);
        int taken = 0;
        for (int i = 0; i < 20; i++) if (bucket.TryTake(t)) taken++;
        Assert.Equal(5, taken);
        Assert.False(bucket.TryTake(t + TimeSpan.FromMilliseconds(50)));
        Assert.True(bucket.TryTake(t + TimeSpan.FromMilliseconds(100)));
        taken = 0;
        for (int ms = 200; ms <= 10_100; ms += 10) if (bucket.TryTake(t + TimeSpan.FromMilliseconds(ms))) taken++;
        Assert.InRange(taken, 98, 100);
    }
}
