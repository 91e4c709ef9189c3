using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// A static IPv6 route (router mode, or a host with more than a default router): packets to <see cref="Destination"/>
/// leave by <see cref="InterfaceIndex"/>, to <see cref="Gateway"/> or, when it is unspecified, directly. Kept in a
/// <see cref="RouteTable{TRoute, TAddress}"/>, consulted after the on-link prefixes and before the default router list
/// (RFC 4861 §5.2 next-hop determination extended with configured routes, as Linux does).
/// </summary>
/// <param name="Destination">The prefix this route covers (::/0 for a default route).</param>
/// <param name="Gateway">The next-hop router (usually its link-local or on-link address), or :: for on-link.</param>
/// <param name="InterfaceIndex">The outgoing interface.</param>
/// <param name="Metric">Lower wins among routes of the same prefix length.</param>
public readonly record struct Ipv6Route(Ipv6Cidr Destination, Ipv6Address Gateway, int InterfaceIndex, int Metric = 0)
    : IRoute<Ipv6Route, Ipv6Address>
{
    /// <summary>True for a route to an on-link prefix (no gateway).</summary>
    public bool IsOnLink => Gateway.IsUnspecified;

    int IRoute<Ipv6Route, Ipv6Address>.PrefixLength => Destination.PrefixLength;
    bool IRoute<Ipv6Route, Ipv6Address>.Covers(Ipv6Address address) => Destination.Contains(address);
    bool IRoute<Ipv6Route, Ipv6Address>.SameDestination(in Ipv6Route other) => Destination == other.Destination;
    Ipv6Route IRoute<Ipv6Route, Ipv6Address>.Normalized() =>
        this with { Destination = new Ipv6Cidr(Destination.Prefix, Destination.PrefixLength) };

    /// <summary>The prefix, then the gateway or "on-link", and the interface.</summary>
    public override string ToString() => IsOnLink
        ? $"{Destination} dev #{InterfaceIndex} metric {Metric}"
        : $"{Destination} via {Gateway} dev #{InterfaceIndex} metric {Metric}";
}
