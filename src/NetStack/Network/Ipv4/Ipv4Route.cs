using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// One IPv4 route: datagrams to <see cref="Destination"/> leave by <see cref="InterfaceIndex"/>, either
/// directly to the destination (on-link, <see cref="Gateway"/> unspecified) or through <see cref="Gateway"/>.
/// Kept in a <see cref="RouteTable{TRoute, TAddress}"/>.
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
    Ipv4Address PreferredSource = default) : IRoute<Ipv4Route, Ipv4Address>
{
    /// <summary>True for a route to an on-link prefix (no gateway).</summary>
    public bool IsOnLink => Gateway.IsUnspecified;

    /// <summary>The neighbour a datagram to <paramref name="destination"/> is handed to on this route.</summary>
    public Ipv4Address NextHop(Ipv4Address destination) => IsOnLink ? destination : Gateway;

    int IRoute<Ipv4Route, Ipv4Address>.PrefixLength => Destination.PrefixLength;
    bool IRoute<Ipv4Route, Ipv4Address>.Covers(Ipv4Address address) => Destination.Contains(address);
    bool IRoute<Ipv4Route, Ipv4Address>.SameDestination(in Ipv4Route other) => Destination == other.Destination;
    Ipv4Route IRoute<Ipv4Route, Ipv4Address>.Normalized() =>
        this with { Destination = new Ipv4Cidr(Destination.Network, Destination.PrefixLength) };

    /// <summary>The prefix, then the gateway or "on-link", and the interface.</summary>
    public override string ToString() => IsOnLink
        ? $"{Destination} dev #{InterfaceIndex} metric {Metric}"
        : $"{Destination} via {Gateway} dev #{InterfaceIndex} metric {Metric}";
}
