using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// Per-destination path MTU estimates learned from ICMP "fragmentation needed" (RFC 1191). An estimate
/// only ever decreases on a report, never goes below <see cref="MinimumMtu"/>, and ages out after
/// <see cref="Expiry"/> so that a larger MTU is rediscovered (RFC 1191 §6.3 suggests 10 minutes;
/// Linux net.ipv4.route.mtu_expires is 600 s too). Bounded: when full the entry closest to expiry goes.
/// </summary>
public sealed class PathMtuCache
{
    /// <summary>RFC 1191 §7 "Table 7-1" plateaus, for reports from routers that do not give the next-hop MTU (RFC 1191 §5).</summary>
    public static ReadOnlySpan<int> Plateaus => [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

    private readonly Dictionary<Ipv4Address, (int Mtu, Instant Expires)> _entries = [];
    private Instant _nextExpiry = Instant.MaxValue;

    public PathMtuCache(int capacity = 1024, TimeSpan? expiry = null, int minimumMtu = 68)
    {
        Capacity = capacity;
        Expiry = expiry ?? TimeSpan.FromMinutes(10);
        // RFC 791 §3.2 / RFC 1191 §3: "A host MUST never reduce its estimate of the Path MTU below 68 octets."
        MinimumMtu = Math.Max(68, minimumMtu);
    }

    public int Capacity { get; }
    public TimeSpan Expiry { get; }
    public int MinimumMtu { get; }
    public int Count => _entries.Count;

    /// <summary>
    /// Applies a "fragmentation needed and DF set" report (RFC 1191 §4) for <paramref name="destination"/>.
    /// <paramref name="reportedMtu"/> is the next-hop MTU field (0 from old routers); <paramref name="originalTotalLength"/>
    /// is the Total Length of the quoted datagram, used to guess a plateau when no MTU was reported.
    /// Returns the new estimate, or 0 when the report was ignored.
    /// </summary>
    public int Update(Ipv4Address destination, int reportedMtu, int originalTotalLength, int linkMtu, Instant now)
    {
        int current = Get(destination, linkMtu, now);
        int mtu = reportedMtu;
        if (mtu <= 0 || mtu >= originalTotalLength && originalTotalLength > 0)
        {
            // RFC 1191 §5: an old-style report (MTU 0), or a nonsensical one not below the datagram's size:
            // take the next plateau below the size of the datagram that was too big.
            mtu = PlateauBelow(originalTotalLength > 0 ? originalTotalLength : current);
        }
        mtu = Math.Max(mtu, MinimumMtu);
        // RFC 1191 §3: "A host MUST not increase its estimate of the Path MTU in response to the contents of a Datagram Too Big message."
        if (mtu >= current) return 0;
        if (!_entries.ContainsKey(destination) && _entries.Count >= Capacity) EvictOne();
        _entries[destination] = (mtu, now + Expiry);
        _nextExpiry = Instant.Min(_nextExpiry, now + Expiry);
        return mtu;
    }

    /// <summary>The path MTU toward <paramref name="destination"/>: the cached estimate if any, capped by <paramref name="linkMtu"/>.</summary>
    public int Get(Ipv4Address destination, int linkMtu, Instant now)
    {
        if (_entries.TryGetValue(destination, out var e))
        {
            if (e.Expires > now) return Math.Min(e.Mtu, linkMtu);
            _entries.Remove(destination);
        }
        return linkMtu;
    }

    /// <summary>Forgets expired estimates; returns the next expiry or <see cref="Instant.MaxValue"/>.</summary>
    public Instant Poll(Instant now)
    {
        if (now < _nextExpiry) return _nextExpiry; // an early answer is harmless: entries only expire later
        var next = Instant.MaxValue;
        List<Ipv4Address>? expired = null;
        foreach (var (k, e) in _entries)
        {
            if (e.Expires <= now) (expired ??= []).Add(k);
            else next = Instant.Min(next, e.Expires);
        }
        if (expired != null) foreach (var k in expired) _entries.Remove(k);
        _nextExpiry = next;
        return next;
    }

    /// <summary>The largest RFC 1191 plateau strictly below <paramref name="size"/> (68 at least).</summary>
    public static int PlateauBelow(int size)
    {
        foreach (int p in Plateaus) if (p < size) return p;
        return 68;
    }

    private void EvictOne()
    {
        Ipv4Address victim = default;
        var soonest = Instant.MaxValue;
        bool found = false;
        foreach (var (k, e) in _entries)
        {
            if (!found || e.Expires < soonest) { victim = k; soonest = e.Expires; found = true; }
        }
        if (found) _entries.Remove(victim);
    }
}
