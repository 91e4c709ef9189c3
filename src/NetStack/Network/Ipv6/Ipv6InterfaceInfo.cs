using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>One IPv6 address of an interface as seen from outside the stack.</summary>
public readonly record struct Ipv6AddressInfo(Ipv6Address Address, int PrefixLength, Ipv6AddressState State, Ipv6AddressOrigin Origin,
    Instant ValidUntil, Instant PreferredUntil);

/// <summary>A snapshot of an interface's IPv6 configuration: addresses, link parameters learned from routers, DNS servers.</summary>
public sealed record Ipv6InterfaceInfo(
    IReadOnlyList<Ipv6AddressInfo> Addresses,
    int LinkMtu,
    byte CurHopLimit,
    TimeSpan BaseReachableTime,
    TimeSpan RetransTimer,
    IReadOnlyList<Ipv6Address> DefaultRouters,
    IReadOnlyList<Ipv6Address> DnsServers)
{
    internal static Ipv6InterfaceInfo From(Ipv6Interface ifc, DefaultRouterList routers, Instant now)
    {
        var addresses = ifc.Addresses.Select(a => new Ipv6AddressInfo(a.Address, a.PrefixLength, a.State, a.Origin, a.ValidUntil, a.PreferredUntil)).ToArray();
        var gws = routers.Routers.Where(r => r.InterfaceIndex == ifc.Index && (r.Permanent || now < r.ExpiresAt)).Select(r => r.Address).ToArray();
        var dns = ifc.DnsServers.Where(d => now < d.Expires).Select(d => d.Server).ToArray();
        return new Ipv6InterfaceInfo(addresses, ifc.LinkMtu, ifc.CurHopLimit, ifc.Neighbors.BaseReachableTime, ifc.Neighbors.RetransTimer, gws, dns);
    }
}
