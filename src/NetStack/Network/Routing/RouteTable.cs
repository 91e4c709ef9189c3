namespace NetStack.Network.Routing;

/// <summary>
/// What <see cref="RouteTable{TRoute, TAddress}"/> needs of a family's route: its prefix, whether it covers an address,
/// and the outgoing interface, metric and on-link flag. Implemented by the family's route record struct (a constrained
/// call on a struct: no boxing, no virtual dispatch).
/// </summary>
internal interface IRoute<TSelf, TAddress> : IEquatable<TSelf> where TSelf : struct, IRoute<TSelf, TAddress>
{
    /// <summary>Length of the destination prefix (0 for a default route).</summary>
    int PrefixLength { get; }
    int InterfaceIndex { get; }
    /// <summary>Lower wins among routes of the same prefix length.</summary>
    int Metric { get; }
    /// <summary>No gateway: the destination itself is the next hop.</summary>
    bool IsOnLink { get; }
    /// <summary>The destination prefix contains <paramref name="address"/>.</summary>
    bool Covers(TAddress address);
    /// <summary>Same destination prefix as <paramref name="other"/>.</summary>
    bool SameDestination(in TSelf other);
    /// <summary>This route with its destination cut to the network (192.0.2.7/24 becomes 192.0.2.0/24).</summary>
    TSelf Normalized();
}

/// <summary>
/// A routing table for either family: longest-prefix match (RFC 1812 §5.2.4.3), then lowest metric, then the route added
/// first; among equal-cost routes (same prefix and metric, several gateways: ECMP, like a Linux multipath route) the
/// choice is made by a per-flow hash (<see cref="FlowHash"/>), so that one flow keeps one path while different flows
/// spread over all of them. Bounded by <see cref="Capacity"/>. Kept sorted so that a lookup is one ordered scan, without
/// allocation: tables in this stack are small (on-link routes per address plus a few gateways).
/// </summary>
internal sealed class RouteTable<TRoute, TAddress> where TRoute : struct, IRoute<TRoute, TAddress>
{
    private readonly List<TRoute> _routes = [];

    public RouteTable(int capacity = 1024) => Capacity = capacity;

    /// <summary>The most routes the table holds; <see cref="TryAdd"/> refuses more.</summary>
    public int Capacity { get; }

    public int Count => _routes.Count;

    /// <summary>The routes in lookup order (longest prefix first, then metric).</summary>
    public IReadOnlyList<TRoute> Routes => _routes;

    /// <summary>Adds a route; false when the table is full or an identical route exists.</summary>
    public bool TryAdd(TRoute route)
    {
        // Normalize the prefix so 192.0.2.7/24 and 192.0.2.0/24 are one destination.
        route = route.Normalized();
        if (_routes.Count >= Capacity) return false;
        int insertAt = _routes.Count;
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (r.Equals(route)) return false;
            if (insertAt == _routes.Count && Precedes(route, r)) insertAt = i;
        }
        _routes.Insert(insertAt, route);
        return true;
    }

    /// <summary>Removes an exact route; false when absent.</summary>
    public bool Remove(TRoute route) => _routes.Remove(route.Normalized());

    /// <summary>Removes every route out of interface <paramref name="interfaceIndex"/> (interface down); returns how many.</summary>
    public int RemoveInterface(int interfaceIndex) => _routes.RemoveAll(r => r.InterfaceIndex == interfaceIndex);

    /// <summary>
    /// The best route to <paramref name="destination"/>; when <paramref name="interfaceIndex"/> is not -1 only routes out
    /// of that interface are considered (SO_BINDTODEVICE-like sends). Equal-cost routes are chosen among by <paramref name="flowHash"/>.
    /// </summary>
    public bool TryLookup(TAddress destination, out TRoute route, int interfaceIndex = -1, uint flowHash = 0) =>
        TryLookup(destination, interfaceIndex, flowHash, out route, out _);

    /// <summary>As <see cref="TryLookup(TAddress, out TRoute, int, uint)"/>; <paramref name="multipath"/> tells whether the route was chosen among equal-cost routes.</summary>
    public bool TryLookup(TAddress destination, int interfaceIndex, uint flowHash, out TRoute route, out bool multipath)
    {
        // Sorted by prefix length descending then metric: the first match is the longest, cheapest.
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (!r.Covers(destination)) continue;
            if (interfaceIndex >= 0 && r.InterfaceIndex != interfaceIndex) continue;
            int n = 1;
            while (i + n < _routes.Count && IsEqualCost(r, _routes[i + n], interfaceIndex)) n++;
            multipath = n > 1;
            route = n == 1 ? r : _routes[i + (int)(flowHash % (uint)n)];
            return true;
        }
        route = default;
        multipath = false;
        return false;
    }

    private static bool IsEqualCost(in TRoute a, in TRoute b, int interfaceIndex) =>
        a.SameDestination(b) && a.Metric == b.Metric && !a.IsOnLink && !b.IsOnLink
        && (interfaceIndex < 0 || b.InterfaceIndex == interfaceIndex);

    private static bool Precedes(in TRoute a, in TRoute b)
    {
        if (a.PrefixLength != b.PrefixLength) return a.PrefixLength > b.PrefixLength;
        return a.Metric < b.Metric; // equal metric: the older route stays first (stable).
    }
}
