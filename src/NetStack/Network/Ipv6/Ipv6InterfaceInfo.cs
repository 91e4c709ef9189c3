using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// One IPv6 address of an interface as seen from outside the stack. <paramref name="Optimistic"/>: tentative but usable
/// while DAD runs (RFC 4429, <see cref="Ipv6Settings.OptimisticDad"/>).
/// </summary>
public readonly record struct Ipv6AddressInfo(Ipv6Address Address, int PrefixLength, Ipv6AddressState State, Ipv6AddressOrigin Origin,
    Instant ValidUntil, Instant PreferredUntil, bool Optimistic = false)
{
    /// <summary>Usable as a source address: preferred, deprecated, or tentative and optimistic (RFC 4862 §5.4, RFC 4429 §2.1).</summary>
    public bool IsUsable => State is Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated || (State == Ipv6AddressState.Tentative && Optimistic);
}

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
        var addresses = ifc.Addresses.Select(a => new Ipv6AddressInfo(a.Address, a.PrefixLength, a.State, a.Origin, a.ValidUntil, a.PreferredUntil, a.Optimistic)).ToArray();
        var gws = routers.Routers.Where(r => r.InterfaceIndex == ifc.Index && (r.Permanent || now < r.ExpiresAt)).Select(r => r.Address).ToArray();
        var dns = ifc.DnsServers.Where(d => now < d.Expires).Select(d => d.Server).ToArray();
        return new Ipv6InterfaceInfo(addresses, ifc.LinkMtu, ifc.CurHopLimit, ifc.Neighbors.BaseReachableTime, ifc.Neighbors.RetransTimer, gws, dns);
    }
}
