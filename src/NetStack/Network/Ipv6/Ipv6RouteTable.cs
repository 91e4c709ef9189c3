using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// A static IPv6 route (router mode, or a host with more than a default router): packets to <see cref="Destination"/>
/// leave by <see cref="InterfaceIndex"/>, to <see cref="Gateway"/> or, when it is unspecified, directly.
/// </summary>
/// <param name="Destination">The prefix this route covers (::/0 for a default route).</param>
/// <param name="Gateway">The next-hop router (usually its link-local or on-link address), or :: for on-link.</param>
/// <param name="InterfaceIndex">The outgoing interface.</param>
/// <param name="Metric">Lower wins among routes of the same prefix length.</param>
public readonly record struct Ipv6Route(Ipv6Cidr Destination, Ipv6Address Gateway, int InterfaceIndex, int Metric = 0)
{
    public bool IsOnLink => Gateway.IsUnspecified;

    public override string ToString() => IsOnLink
        ? $"{Destination} dev #{InterfaceIndex} metric {Metric}"
        : $"{Destination} via {Gateway} dev #{InterfaceIndex} metric {Metric}";
}

/// <summary>
/// Static IPv6 routes, consulted after the on-link prefixes and before the default router list (RFC 4861 §5.2 next-hop
/// determination extended with configured routes, as Linux does). Longest prefix, then lowest metric; equal-cost routes
/// (same prefix and metric, several gateways) are chosen among by a per-flow hash. Bounded.
/// </summary>
public sealed class Ipv6RouteTable(int capacity = 1024)
{
    private readonly List<Ipv6Route> _routes = [];

    public int Capacity { get; } = capacity;
    public IReadOnlyList<Ipv6Route> Routes => _routes;

    /// <summary>Adds a route; false when the table is full or an identical route exists.</summary>
    public bool TryAdd(Ipv6Route route)
    {
        route = route with { Destination = new Ipv6Cidr(route.Destination.Prefix, route.Destination.PrefixLength) };
        if (_routes.Count >= Capacity || _routes.Contains(route)) return false;
        int at = _routes.Count;
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (route.Destination.PrefixLength > r.Destination.PrefixLength
                || (route.Destination.PrefixLength == r.Destination.PrefixLength && route.Metric < r.Metric))
            {
                at = i;
                break;
            }
        }
        _routes.Insert(at, route);
        return true;
    }

    public bool Remove(Ipv6Route route) =>
        _routes.Remove(route with { Destination = new Ipv6Cidr(route.Destination.Prefix, route.Destination.PrefixLength) });

    /// <summary>The best route; <paramref name="multipath"/> tells whether it was chosen among equal-cost routes.</summary>
    public bool TryLookup(Ipv6Address destination, int interfaceIndex, uint flowHash, out Ipv6Route route, out bool multipath)
    {
        for (int i = 0; i < _routes.Count; i++)
        {
            var r = _routes[i];
            if (!r.Destination.Contains(destination)) continue;
            if (interfaceIndex >= 0 && r.InterfaceIndex != interfaceIndex) continue;
            int n = 1;
            while (i + n < _routes.Count && _routes[i + n].Destination == r.Destination && _routes[i + n].Metric == r.Metric
                   && !r.IsOnLink && !_routes[i + n].IsOnLink && (interfaceIndex < 0 || _routes[i + n].InterfaceIndex == interfaceIndex)) n++;
            multipath = n > 1;
            route = n == 1 ? r : _routes[i + (int)(flowHash % (uint)n)];
            return true;
        }
        route = default;
        multipath = false;
        return false;
    }
}
