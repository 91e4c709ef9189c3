using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// Path MTU per destination (RFC 8201). A Packet Too Big lowers the estimate, never below the IPv6 minimum
/// of 1280 (RFC 8201 §4, RFC 8200 §5) and never raises it (§4: "MUST NOT increase ... in response to the
/// contents of a Packet Too Big"); an estimate ages out after <see cref="AgeOut"/> (§4: no increase attempt
/// sooner than 5 minutes, 10 recommended) and the link MTU applies again. Bounded (oldest evicted). Pure.
/// </summary>
internal sealed class PathMtuCache
{
    /// <summary>RFC 8200 §5: every link carries 1280 bytes.</summary>
    public const int MinimumMtu = 1280;

    private readonly Dictionary<Ipv6Address, (int Mtu, Instant LearnedAt)> _entries = [];
    private readonly int _limit;

    public PathMtuCache(int limit, TimeSpan ageOut)
    {
        _limit = limit;
        AgeOut = ageOut;
    }

    public TimeSpan AgeOut { get; }
    public int Count => _entries.Count;

    /// <summary>The path MTU toward <paramref name="destination"/>: the learned estimate, or the link MTU.</summary>
    public int Get(Ipv6Address destination, int linkMtu, Instant now)
    {
        if (_entries.TryGetValue(destination, out var e))
        {
            if (now - e.LearnedAt < AgeOut) return Math.Min(e.Mtu, linkMtu);
            _entries.Remove(destination);
        }
        return linkMtu;
    }

    /// <summary>
    /// A Packet Too Big reporting <paramref name="reportedMtu"/> for a packet sent to <paramref name="destination"/>.
    /// Returns true when the estimate went down.
    /// </summary>
    public bool Update(Ipv6Address destination, uint reportedMtu, int linkMtu, Instant now)
    {
        // RFC 8201 §4: a reported MTU below 1280 still leaves the estimate at 1280 (no atomic fragments, RFC 8021).
        int mtu = (int)Math.Clamp(reportedMtu, (uint)MinimumMtu, int.MaxValue);
        int current = Get(destination, linkMtu, now);
        if (mtu >= current) return false; // §4: never increase on a Packet Too Big
        if (!_entries.ContainsKey(destination) && _entries.Count >= _limit) EvictOldest();
        _entries[destination] = (mtu, now);
        return true;
    }

    /// <summary>Drops estimates older than <see cref="AgeOut"/>.</summary>
    public void Expire(Instant now)
    {
        List<Ipv6Address>? old = null;
        foreach (var (k, v) in _entries) if (now - v.LearnedAt >= AgeOut) (old ??= []).Add(k);
        if (old is not null) foreach (var k in old) _entries.Remove(k);
    }

    private void EvictOldest()
    {
        Ipv6Address? victim = null;
        var oldest = Instant.MaxValue;
        foreach (var (k, v) in _entries) if (v.LearnedAt < oldest) { oldest = v.LearnedAt; victim = k; }
        if (victim is { } key) _entries.Remove(key);
    }
}
