using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Tests.Neighbor;

/// <summary>Bounds on timers learned from the wire, eviction order under pressure, and the unresolved budget (issue 13).</summary>
public class NeighborCacheHardeningTests
{
    private sealed class Sink : INeighborSink<Ipv4Address>
    {
        public int Solicits;
        public void Solicit(Ipv4Address target, MacAddress? unicastTo, Instant now) => Solicits++;
        public void SendQueued(Ipv4Address target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now) { }
        public void ResolutionFailed(Ipv4Address target, ReadOnlySpan<byte> packet, Instant now) { }
    }

    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:07");

    private static (NeighborCache<Ipv4Address> Cache, Sink Sink, StackStatistics Stats) Make(NeighborCacheOptions? o = null)
    {
        var sink = new Sink();
        var stats = new StackStatistics();
        return (new NeighborCache<Ipv4Address>(o ?? new NeighborCacheOptions(), sink, stats, new SeededRandom(1)), sink, stats);
    }

    private static Ipv4Address A(int n) => new(0xC000_0200u + (uint)n);

    [Theory]
    [InlineData(0xFFFF_FFFFu, false, 1_000)]   // 49 days: ignored, the old value stays
    [InlineData(60_001u, false, 1_000)]        // just above RFC 7048 MAX_RETRANS_TIMER: ignored
    [InlineData(60_000u, true, 60_000)]        // the ceiling itself is taken
    [InlineData(2_000u, true, 2_000)]
    [InlineData(1u, true, 10)]                 // Linux raises values under 10 ms to 10 ms
    [InlineData(0u, true, 1_000)]              // 0 = unspecified (RFC 4861 §6.3.4)
    public void Retrans_timer_from_an_RA_is_bounded_RFC4861_6_3_4(uint milliseconds, bool taken, int expectedMs)
    {
        var (cache, _, _) = Make();
        Assert.Equal(taken, cache.TrySetRetransTimerFromWire(milliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), cache.RetransTimer);
    }

    [Theory]
    [InlineData(0xFFFF_FFFFu, false, 30_000)]
    [InlineData(3_600_001u, false, 30_000)]    // above RFC 4861 §10 MAX_REACHABLE_TIME: ignored
    [InlineData(3_600_000u, true, 3_600_000)]
    [InlineData(20_000u, true, 20_000)]
    [InlineData(5u, true, 100)]                // Linux raises values under 100 ms to 100 ms
    [InlineData(0u, true, 30_000)]
    public void Reachable_time_from_an_RA_is_bounded_RFC4861_6_3_4(uint milliseconds, bool taken, int expectedMs)
    {
        var (cache, _, _) = Make();
        Assert.Equal(taken, cache.TrySetBaseReachableTimeFromWire(milliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), cache.BaseReachableTime);
        // ReachableTime is drawn in [0.5, 1.5) × BaseReachableTime (RFC 4861 §6.3.2).
        Assert.InRange(cache.ReachableTime, cache.BaseReachableTime / 2, cache.BaseReachableTime * 1.5);
    }

    [Fact]
    public void Unanswered_incomplete_entries_go_first_then_unconfirmed_stale_then_idle_entries_RFC6583_7()
    {
        var (cache, _, _) = Make(new NeighborCacheOptions { MaxEntries = 4 });
        var t = Instant.FromSeconds(100);
        // A confirmed neighbour in use, a confirmed one idle, one learned unsolicited (never confirmed), one unresolved.
        cache.Resolve(A(1), t, out _);
        cache.Advertise(A(1), Mac, solicited: true, overrideFlag: true, isRouter: null, t);
        cache.Resolve(A(2), t, out _);
        cache.Advertise(A(2), Mac, solicited: true, overrideFlag: true, isRouter: null, t);
        cache.Learn(A(3), Mac, t);
        cache.Resolve(A(4), t + TimeSpan.FromSeconds(40), out _);
        var now = t + TimeSpan.FromSeconds(45);
        cache.Resolve(A(1), now, out _); // A(1) in use

        // 1) The unresolved entry whose solicitation went unanswered (5 s > RetransTimer) goes first, though A(3) is older.
        cache.Learn(A(5), Mac, now);
        Assert.False(cache.TryGetState(A(4), out _, out _));
        Assert.True(cache.TryGetState(A(3), out _, out _));
        // 2) Then STALE entries never confirmed, least recently used first (A(3), then A(5)), before the confirmed one
        // idle since t (A(2)).
        cache.Learn(A(6), Mac, now + TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGetState(A(3), out _, out _));
        Assert.True(cache.TryGetState(A(2), out _, out _));
        cache.Learn(A(7), Mac, now + TimeSpan.FromMilliseconds(2));
        Assert.False(cache.TryGetState(A(5), out _, out _));
        Assert.True(cache.TryGetState(A(6), out _, out _));
        Assert.True(cache.TryGetState(A(2), out _, out _));
        // 3) With A(6), A(7) confirmed (and recently used), the confirmed entry idle for 45 s > BaseReachableTime goes.
        var later = now + TimeSpan.FromMilliseconds(3);
        cache.Advertise(A(6), Mac, solicited: true, overrideFlag: true, isRouter: null, later);
        cache.Advertise(A(7), Mac, solicited: true, overrideFlag: true, isRouter: null, later);
        cache.Learn(A(8), Mac, later);
        Assert.False(cache.TryGetState(A(2), out _, out _));
        Assert.True(cache.TryGetState(A(8), out _, out _));
        // 4) Entries in use are never pushed out: once A(8) is confirmed too, nothing is evictable and newcomers are refused.
        cache.Advertise(A(8), Mac, solicited: true, overrideFlag: true, isRouter: null, later);
        cache.Learn(A(9), Mac, later);
        Assert.False(cache.TryGetState(A(9), out _, out _));
        Assert.Equal(NeighborLookup.CacheFull, cache.Resolve(A(10), later, out _));
        Assert.True(cache.TryGetState(A(1), out var s1, out _));
        Assert.Equal(NeighborState.Reachable, s1);
        Assert.Equal(4, cache.Count);
    }

    [Fact]
    public void New_unresolved_entries_never_push_out_a_reachable_neighbour_in_use()
    {
        var (cache, _, stats) = Make(new NeighborCacheOptions { MaxEntries = 8, MaxUnresolved = 64 });
        var t = Instant.FromSeconds(10);
        cache.Resolve(A(1), t, out _);
        cache.Advertise(A(1), Mac, solicited: true, overrideFlag: true, isRouter: null, t);
        for (int i = 0; i < 10_000; i++)
        {
            var now = t + TimeSpan.FromMilliseconds(i);
            cache.Resolve(A(1), now, out _); // the legitimate neighbour keeps being used and answering
            if (i % 100 == 0) cache.ConfirmReachability(A(1), now);
            cache.Resolve(A(100 + i % 600), now, out _);
            cache.Poll(now);
            Assert.True(cache.TryGetState(A(1), out _, out _), $"evicted at {i}");
        }
        Assert.True(stats.Drops(DropReason.NeighborCacheFull) + stats.Drops(DropReason.NeighborRateLimited) > 0);
    }

    [Fact]
    public void Unresolved_budget_replaces_the_oldest_unanswered_entry_and_refuses_fresh_ones()
    {
        var (cache, _, stats) = Make(new NeighborCacheOptions { MaxUnresolved = 3 });
        var t = Instant.FromSeconds(10);
        cache.Resolve(A(1), t, out _);
        cache.Resolve(A(2), t + TimeSpan.FromMilliseconds(1), out _);
        cache.Resolve(A(3), t + TimeSpan.FromMilliseconds(2), out _);
        // All three still within their first RetransTimer: a fourth is refused.
        Assert.Equal(NeighborLookup.CacheFull, cache.Resolve(A(4), t + TimeSpan.FromMilliseconds(3), out _));
        Assert.Equal(1, stats.Drops(DropReason.NeighborRateLimited));
        // After the first RetransTimer, the oldest unanswered one (A(1)) makes room.
        Assert.Equal(NeighborLookup.Pending, cache.Resolve(A(5), t + TimeSpan.FromMilliseconds(1_000), out _));
        Assert.False(cache.TryGetState(A(1), out _, out _));
        Assert.True(cache.TryGetState(A(2), out _, out _));
        Assert.Equal(3, cache.Count);
    }

    [Fact]
    public void Multicast_solicitations_are_rate_limited_RFC6583_7_1_2()
    {
        var (cache, sink, stats) = Make(new NeighborCacheOptions { SolicitsPerSecond = 10, SolicitBurst = 5, MaxUnresolved = 1000 });
        var t = Instant.FromSeconds(10);
        for (int i = 0; i < 100; i++) cache.Resolve(A(i), t, out _);
        Assert.Equal(5, sink.Solicits);
        Assert.Equal(5, cache.Count);
        Assert.Equal(95, stats.Drops(DropReason.NeighborRateLimited));
        // One second later: 10 more tokens (bucket depth 5).
        for (int i = 100; i < 200; i++) cache.Resolve(A(i), t + TimeSpan.FromSeconds(1), out _);
        Assert.Equal(10, sink.Solicits);
        // Over 60 s the whole budget stays at SolicitsPerSecond (plus the burst).
        for (int s = 2; s < 62; s++)
            for (int i = 0; i < 200; i++)
            {
                var now = t + TimeSpan.FromSeconds(s) + TimeSpan.FromMilliseconds(i);
                cache.Resolve(A(1000 + s * 200 + i), now, out _);
                cache.Poll(now);
            }
        Assert.InRange(sink.Solicits, 10, 5 + 10 * 62);
    }

    [Fact]
    public void Unicast_probes_of_known_neighbours_are_not_rate_limited()
    {
        var (cache, sink, stats) = Make(new NeighborCacheOptions { SolicitsPerSecond = 0, SolicitBurst = 1 });
        var t = Instant.FromSeconds(10);
        cache.Resolve(A(50), t, out _); // spends the only token for good
        for (int i = 1; i <= 3; i++) cache.Learn(A(i), Mac, t);
        for (int i = 1; i <= 3; i++) cache.Resolve(A(i), t, out _); // STALE -> DELAY
        cache.Poll(t + TimeSpan.FromSeconds(5)); // DELAY -> PROBE: three unicast solicitations
        Assert.Equal(4, sink.Solicits);
        Assert.Equal(1, stats.Drops(DropReason.NeighborRateLimited)); // A(50)'s broadcast retransmission
    }

    [Fact]
    public void Waiting_packets_are_bounded_in_bytes_across_all_unresolved_neighbours()
    {
        var (cache, _, stats) = Make(new NeighborCacheOptions { MaxQueuedPackets = 64, MaxQueuedBytes = 1000 });
        var t = Instant.FromSeconds(10);
        cache.Resolve(A(1), t, out _);
        cache.Resolve(A(2), t, out _);
        Assert.True(cache.Enqueue(A(1), EtherType.Ipv4, new byte[400]));
        Assert.True(cache.Enqueue(A(1), EtherType.Ipv4, new byte[400]));
        Assert.False(cache.Enqueue(A(2), EtherType.Ipv4, new byte[400]));
        Assert.Equal(1, stats.Drops(DropReason.NeighborQueueFull));
        Assert.Equal(800, cache.QueuedBytes);
        // Resolution releases the bytes; failure too.
        cache.Advertise(A(1), Mac, solicited: true, overrideFlag: true, isRouter: null, t);
        Assert.Equal(0, cache.QueuedBytes);
        Assert.True(cache.Enqueue(A(2), EtherType.Ipv4, new byte[400]));
        for (int i = 1; i <= 5; i++) cache.Poll(t + TimeSpan.FromSeconds(i));
        Assert.False(cache.TryGetState(A(2), out _, out _));
        Assert.Equal(0, cache.QueuedBytes);
    }
}
