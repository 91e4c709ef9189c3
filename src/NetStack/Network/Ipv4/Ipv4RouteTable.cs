using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// One IPv4 route: datagrams to <see cref="Destination"/> leave by <see cref="InterfaceIndex"/>, either
/// directly to the destination (on-link, <see cref="Gateway"/> unspecified) or through <see cref="Gateway"/>.
/// </summary>
/// <param name="Destination">The prefix this route covers (0.0.0.0/0 for a default route).</param>
/// <param name="Gateway">The next-hop router, or <see cref="Ipv4Address.Any"/> for an on-link route.</param>
/// <param name="InterfaceIndex">The outgoing interface.</param>
/// <param name="Metric">Lower wins among routes of the same prefix length.</param>
/// <param name="PreferredSource">Source address for datagrams we originate on this route (Linux "src"); unspecified = choose.</param>
public readonly record struct Ipv4Route(
    Ipv4Cidr Destination,
    Ipv4Address Gateway,
    int InterfaceIndex,
    int Metric = 0,
    Ipv4Address PreferredSource = default)
{
    public bool IsOnLink => Gateway.IsUnspecified;

    /// <summary>The neighbour a datagram to <paramref name="destination"/> is handed to on this route.</summary>
    public Ipv4Address NextHop(Ipv4Address destination) => IsOnLink ? destination : Gateway;

    public override string ToString() => IsOnLink
        ? $"{Destination} dev #{InterfaceIndex} metric {Metric}"
        : $"{Destination} via {Gateway} dev #{InterfaceIndex} metric {Metric}";
}

/// <summary>
/// The IPv4 routing table: longest-prefix match (RFC 1812 §5.2.4.3), then lowest metric, then the
/// route added first. Bounded by <see cref="Capacity"/>. Kept sorted so a lookup is one ordered scan:
/// tables in this stack are small (on-link routes per address plus a few gateways).
/// </summary>
public sealed class Ipv4RouteTable
{
    private readonly List<Ipv4Route> _routes = [];

    public Ipv4RouteTable(int capacity = 1024) => Capacity = capacity;

    /// <summary>The most routes the table holds; <see cref="TryAdd"/> refuses more.</summary>
    public int Capacity { get; }

    public int Count => _routes.Count;

    /// <summary>The routes in lookup order (longest prefix first, then metric).</summary>
    public IReadOnlyList<Ipv4Route> Routes => _routes;

    /// <summary>Adds a route; false when the table is full or an identical route exists.</summary>
    public bool TryAdd(Ipv4Route route)
    {
        // Normalize the prefix so 192.0.2.7/24 and 192.0.2.0/24 are one destination.
        route = route with { Destination = new Ipv4Cidr(route.Destination.Network, route.Destination.PrefixLength) };
        if (_routes.Count >= Capacity) return false;
        int insertAt = _routes.Count;
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (r == route) return false;
            if (insertAt == _routes.Count && Precedes(route, r)) insertAt = i;
        }
        _routes.Insert(insertAt, route);
        return true;
    }

    /// <summary>Removes an exact route; false when absent.</summary>
    public bool Remove(Ipv4Route route)
    {
        route = route with { Destination = new Ipv4Cidr(route.Destination.Network, route.Destination.PrefixLength) };
        return _routes.Remove(route);
    }

    /// <summary>Removes every route out of interface <paramref name="interfaceIndex"/> (interface down); returns how many.</summary>
    public int RemoveInterface(int interfaceIndex) => _routes.RemoveAll(r => r.InterfaceIndex == interfaceIndex);

    /// <summary>
    /// The best route to <paramref name="destination"/>; when <paramref name="interfaceIndex"/> is not -1 only
    /// routes out of that interface are considered (SO_BINDTODEVICE-like sends).
    /// </summary>
    public bool TryLookup(Ipv4Address destination, out Ipv4Route route, int interfaceIndex = -1) =>
        TryLookup(destination, out route, interfaceIndex, flowHash: 0);

    /// <summary>
    /// As <see cref="TryLookup(Ipv4Address, out Ipv4Route, int)"/>, choosing among equal-cost routes (same prefix and
    /// metric, several gateways: ECMP, like a Linux multipath route) by <paramref name="flowHash"/>, so that one flow
    /// keeps one path while different flows spread over all of them.
    /// </summary>
    public bool TryLookup(Ipv4Address destination, out Ipv4Route route, int interfaceIndex, uint flowHash)
    {
        // Sorted by prefix length descending then metric: the first match is the longest, cheapest.
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (!r.Destination.Contains(destination)) continue;
            if (interfaceIndex >= 0 && r.InterfaceIndex != interfaceIndex) continue;
            int n = 1;
            while (i + n < _routes.Count && IsEqualCost(r, _routes[i + n], interfaceIndex)) n++;
            route = n == 1 ? r : _routes[i + (int)(flowHash % (uint)n)];
            return true;
        }
        route = default;
        return false;
    }

    private static bool IsEqualCost(Ipv4Route a, Ipv4Route b, int interfaceIndex) =>
        a.Destination == b.Destination && a.Metric == b.Metric && !a.IsOnLink && !b.IsOnLink
        && (interfaceIndex < 0 || b.InterfaceIndex == interfaceIndex);

    private static bool Precedes(Ipv4Route a, Ipv4Route b)
    {
        if (a.Destination.PrefixLength != b.Destination.PrefixLength) return a.Destination.PrefixLength > b.Destination.PrefixLength;
        return a.Metric < b.Metric; // equal metric: the older route stays first (stable).
    }
}
