using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// A Destination Cache entry (RFC 4861 §5.1): the next hop for one destination (the destination itself
/// when on-link); <c>FromRedirect</c> entries were learned from a Redirect (§8.3) and survive re-determination.
/// </summary>
internal readonly record struct DestinationEntry(int InterfaceIndex, Ipv6Address NextHop, bool FromRedirect, Instant LastUsed);

/// <summary>
/// The Destination Cache of RFC 4861 §5.1: memoized next-hop determinations and redirects, bounded with
/// least-recently-used eviction. Path MTUs live in the layer's <see cref="PathMtu.PathMtuCache{TAddress, TPolicy}"/>. Pure.
/// </summary>
internal sealed class DestinationCache
{
    private readonly Dictionary<Ipv6Address, DestinationEntry> _entries = [];
    private readonly int _limit;

    public DestinationCache(int limit) => _limit = limit;

    public int Count => _entries.Count;

    public bool TryGet(Ipv6Address destination, Instant now, out DestinationEntry entry)
    {
        if (!_entries.TryGetValue(destination, out entry)) return false;
        if (entry.LastUsed != now) _entries[destination] = entry = entry with { LastUsed = now };
        return true;
    }

    public void Set(Ipv6Address destination, int interfaceIndex, Ipv6Address nextHop, bool fromRedirect, Instant now)
    {
        if (!_entries.ContainsKey(destination) && _entries.Count >= _limit) EvictOldest(preferNonRedirect: true);
        _entries[destination] = new DestinationEntry(interfaceIndex, nextHop, fromRedirect, now);
    }

    /// <summary>
    /// RFC 4861 §6.3.5 / §5.3: after a change of the prefix or default router lists, determinations not
    /// learned from redirects are dropped so that the next packet re-runs next-hop determination.
    /// </summary>
    public void InvalidateDeterminations()
    {
        List<Ipv6Address>? stale = null;
        foreach (var (k, v) in _entries) if (!v.FromRedirect) (stale ??= []).Add(k);
        if (stale is not null) foreach (var k in stale) _entries.Remove(k);
    }

    /// <summary>RFC 4861 §7.3.3: entries using a next hop found unreachable (or a removed router) are dropped, redirects included.</summary>
    public void InvalidateNextHop(Ipv6Address nextHop, int interfaceIndex)
    {
        List<Ipv6Address>? stale = null;
        foreach (var (k, v) in _entries)
            if (v.NextHop == nextHop && v.InterfaceIndex == interfaceIndex) (stale ??= []).Add(k);
        if (stale is not null) foreach (var k in stale) _entries.Remove(k);
    }

    public void Clear() => _entries.Clear();

    /// <summary>Forgets what is known about <paramref name="destination"/> (a redirect included): next-hop determination runs again.</summary>
    public void Remove(Ipv6Address destination) => _entries.Remove(destination);

    private void EvictOldest(bool preferNonRedirect)
    {
        Ipv6Address? victim = null;
        var oldest = Instant.MaxValue;
        foreach (var (k, v) in _entries)
        {
            if (preferNonRedirect && v.FromRedirect) continue;
            if (v.LastUsed < oldest) { oldest = v.LastUsed; victim = k; }
        }
        if (victim is null && preferNonRedirect) { EvictOldest(false); return; }
        if (victim is { } key) _entries.Remove(key);
    }
}
