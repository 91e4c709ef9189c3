namespace NetStack.Network.PathMtu;

/// <summary>
/// A family's path-MTU rules for <see cref="PathMtuCache{TAddress, TPolicy}"/>: the floor an estimate never goes below,
/// and how a "too big" report becomes an estimate. Static members: the policy is a type, never an object, so the
/// cache's calls are resolved at JIT time (no virtual call, no allocation).
/// </summary>
internal interface IPathMtuPolicy
{
    /// <summary>The smallest MTU every link of the family carries (IPv4 68, RFC 791 §3.2; IPv6 1280, RFC 8200 §5).</summary>
    static abstract int MinimumMtu { get; }

    /// <summary>
    /// The estimate a report gives (before the floor is applied): <paramref name="reportedMtu"/> is the MTU field
    /// (0 from routers that predate it), <paramref name="originalLength"/> the length of the quoted packet (0 if
    /// unknown), <paramref name="currentMtu"/> the estimate before the report.
    /// </summary>
    static abstract int Estimate(int reportedMtu, int originalLength, int currentMtu);
}

/// <summary>
/// Per-destination path MTU estimates learned from "too big" reports, for either family: ICMP "fragmentation needed"
/// (RFC 1191) and ICMPv6 Packet Too Big (RFC 8201). An estimate only ever decreases on a report (RFC 1191 §3, RFC 8201
/// §4: "MUST NOT increase ... in response to the contents of a Packet Too Big"), never goes below the family's minimum
/// (<typeparamref name="TPolicy"/>), and ages out after <see cref="Expiry"/> so that a larger MTU is rediscovered (RFC 1191
/// §6.3 suggests 10 minutes; RFC 8201 §4: no increase attempt sooner than 5 minutes, 10 recommended; Linux
/// mtu_expires is 600 s). Bounded: when full, the entry closest to expiry goes. Pure: time comes in.
/// </summary>
internal sealed class PathMtuCache<TAddress, TPolicy>
    where TAddress : struct, IEquatable<TAddress>
    where TPolicy : IPathMtuPolicy
{
    private readonly Dictionary<TAddress, (int Mtu, Instant Expires)> _entries = [];
    private readonly List<TAddress> _scratch = [];
    private Instant _nextExpiry = Instant.MaxValue;

    /// <param name="capacity">Destinations remembered at most.</param>
    /// <param name="expiry">Lifetime of an estimate (10 minutes when null).</param>
    /// <param name="minimumMtu">A floor above the family's own (e.g. Linux's min_pmtu 552 for IPv4); the family's minimum when lower.</param>
    public PathMtuCache(int capacity = 1024, TimeSpan? expiry = null, int minimumMtu = 0)
    {
        Capacity = capacity;
        Expiry = expiry ?? TimeSpan.FromMinutes(10);
        MinimumMtu = Math.Max(TPolicy.MinimumMtu, minimumMtu);
    }

    public int Capacity { get; }
    public TimeSpan Expiry { get; }
    public int MinimumMtu { get; }
    public int Count => _entries.Count;

    /// <summary>
    /// Applies a "too big" report for <paramref name="destination"/> (RFC 1191 §4, RFC 8201 §4); see
    /// <see cref="IPathMtuPolicy.Estimate"/> for <paramref name="reportedMtu"/> and <paramref name="originalLength"/>.
    /// Returns the new estimate, or 0 when the report was ignored (it would not lower the estimate).
    /// </summary>
    public int Update(TAddress destination, int reportedMtu, int originalLength, int linkMtu, Instant now)
    {
        int current = Get(destination, linkMtu, now);
        int mtu = Math.Max(TPolicy.Estimate(reportedMtu, originalLength, current), MinimumMtu);
        // RFC 1191 §3: "A host MUST not increase its estimate of the Path MTU in response to the contents of a Datagram Too Big message."
        if (mtu >= current) return 0;
        if (!_entries.ContainsKey(destination) && _entries.Count >= Capacity) EvictOne();
        _entries[destination] = (mtu, now + Expiry);
        _nextExpiry = Instant.Min(_nextExpiry, now + Expiry);
        return mtu;
    }

    /// <summary>The path MTU toward <paramref name="destination"/>: the live estimate if any, capped by <paramref name="linkMtu"/>.</summary>
    public int Get(TAddress destination, int linkMtu, Instant now)
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
        _scratch.Clear();
        foreach (var (k, e) in _entries)
        {
            if (e.Expires <= now) _scratch.Add(k);
            else next = Instant.Min(next, e.Expires);
        }
        foreach (var k in _scratch) _entries.Remove(k);
        _scratch.Clear();
        _nextExpiry = next;
        return next;
    }

    private void EvictOne()
    {
        TAddress victim = default;
        var soonest = Instant.MaxValue;
        bool found = false;
        foreach (var (k, e) in _entries)
        {
            if (!found || e.Expires < soonest) { victim = k; soonest = e.Expires; found = true; }
        }
        if (found) _entries.Remove(victim);
    }
}
