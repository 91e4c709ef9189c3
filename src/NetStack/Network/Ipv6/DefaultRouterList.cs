using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>One default router (RFC 4861 §5.1 Default Router List entry).</summary>
internal readonly record struct DefaultRouter(Ipv6Address Address, int InterfaceIndex, Instant ExpiresAt, bool Permanent, int Preference);

/// <summary>
/// The Default Router List of RFC 4861 §5.1 with the selection of §6.3.6: routers known (or probably)
/// reachable are preferred over the others; among equals the list is used in order, and when none is
/// reachable the routers are tried round-robin. RFC 4191 preferences order the reachable ones. Bounded. Pure.
/// </summary>
internal sealed class DefaultRouterList
{
    private readonly List<DefaultRouter> _routers = [];
    private readonly int _limit;
    private int _roundRobin;

    public DefaultRouterList(int limit) => _limit = limit;

    public IReadOnlyList<DefaultRouter> Routers => _routers;

    /// <summary>A configured gateway: never expires.</summary>
    public bool AddPermanent(Ipv6Address router, int interfaceIndex)
    {
        int i = Find(router, interfaceIndex);
        if (i >= 0) { _routers[i] = _routers[i] with { Permanent = true, ExpiresAt = Instant.MaxValue }; return true; }
        if (_routers.Count >= _limit) return false;
        _routers.Add(new DefaultRouter(router, interfaceIndex, Instant.MaxValue, true, 0));
        return true;
    }

    /// <summary>
    /// RFC 4861 §6.3.4: a Router Lifetime of zero removes the router (timing it out immediately); otherwise
    /// the router is added or its invalidation timer reset. Returns <c>Removed</c> when an entry went away
    /// (so the caller re-runs next-hop determination for destinations using it, §6.3.5).
    /// </summary>
    public RouterUpdate Update(Ipv6Address router, int interfaceIndex, TimeSpan lifetime, int preference, Instant now)
    {
        int i = Find(router, interfaceIndex);
        if (lifetime <= TimeSpan.Zero)
        {
            if (i < 0 || _routers[i].Permanent) return RouterUpdate.Unchanged;
            _routers.RemoveAt(i);
            return RouterUpdate.Removed;
        }
        var expires = now + lifetime;
        if (i >= 0)
        {
            if (!_routers[i].Permanent) _routers[i] = _routers[i] with { ExpiresAt = expires, Preference = preference };
            return RouterUpdate.Updated;
        }
        if (_routers.Count >= _limit) return RouterUpdate.Full;
        _routers.Add(new DefaultRouter(router, interfaceIndex, expires, false, preference));
        return RouterUpdate.Added;
    }

    /// <summary>Removes routers whose lifetime is over; returns true when any was removed.</summary>
    public bool Expire(Instant now)
    {
        bool removed = false;
        for (int i = _routers.Count - 1; i >= 0; i--)
        {
            if (_routers[i].Permanent || now < _routers[i].ExpiresAt) continue;
            _routers.RemoveAt(i);
            removed = true;
        }
        return removed;
    }

    public bool Remove(Ipv6Address router, int interfaceIndex)
    {
        int i = Find(router, interfaceIndex);
        if (i < 0) return false;
        _routers.RemoveAt(i);
        return true;
    }

    public Instant NextDeadline
    {
        get
        {
            var next = Instant.MaxValue;
            foreach (var r in _routers) if (!r.Permanent) next = Instant.Min(next, r.ExpiresAt);
            return next;
        }
    }

    public bool IsRouter(Ipv6Address address, int interfaceIndex) => Find(address, interfaceIndex) >= 0;

    /// <summary>
    /// RFC 4861 §6.3.6: picks a router whose neighbour entry is (probably) reachable, best preference first
    /// (RFC 4191 §3.2); when none is, cycles through the list round-robin so that each gets probed.
    /// </summary>
    public bool TrySelect(Instant now, Func<Ipv6Address, int, bool> isProbablyReachable, out DefaultRouter router)
    {
        router = default;
        int best = -1;
        for (int i = 0; i < _routers.Count; i++)
        {
            var r = _routers[i];
            if (!r.Permanent && now >= r.ExpiresAt) continue;
            if (!isProbablyReachable(r.Address, r.InterfaceIndex)) continue;
            if (best < 0 || r.Preference > _routers[best].Preference) best = i;
        }
        if (best >= 0) { router = _routers[best]; return true; }
        for (int k = 0; k < _routers.Count; k++)
        {
            int i = (_roundRobin + k) % _routers.Count;
            var r = _routers[i];
            if (!r.Permanent && now >= r.ExpiresAt) continue;
            _roundRobin = i + 1;
            router = r;
            return true;
        }
        return false;
    }

    private int Find(Ipv6Address router, int interfaceIndex)
    {
        for (int i = 0; i < _routers.Count; i++)
            if (_routers[i].Address == router && _routers[i].InterfaceIndex == interfaceIndex) return i;
        return -1;
    }
}

/// <summary>The effect of a router advertisement on the default router list.</summary>
internal enum RouterUpdate
{
    Unchanged,
    Added,
    Updated,
    Removed,
    /// <summary>The list was full; the router was not added (counted).</summary>
    Full,
}
