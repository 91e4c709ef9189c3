using NetStack.Link;
using NetStack.Network.Ipv6;

namespace NetStack.Composition;

/// <summary>Where an interface stands on its way to usable addresses (see <see cref="InterfaceReadiness"/>).</summary>
public enum ReadinessStatus
{
    /// <summary>Every address is usable (and a default router is known where one was required).</summary>
    Ready,
    /// <summary>Still waiting (duplicate address detection, a router advertisement); <see cref="InterfaceReadiness.Reason"/> says for what.</summary>
    Waiting,
    /// <summary>Will never be ready: an address was found to be in use by another node (RFC 4862 §5.4.5).</summary>
    Failed,
}

/// <summary>
/// Whether the addresses of an interface can be used now, as a pure check over the stack's state (so the simulator tests
/// it in virtual time and the runtime polls it): every IPv6 address is past duplicate address detection (RFC 4862 §5.4;
/// an RFC 4429 optimistic address, <see cref="Ipv6Settings.OptimisticDad"/>, is usable at once) and, when
/// <c>requireIpv6Router</c>, a default router is known and a global address has been formed from its advertisement
/// (RFC 4862 §5.5). IPv4 static addresses are usable at once (no RFC 5227 probing); a DHCPv4 lease is the runtime's to check.
/// </summary>
/// <param name="Status">Ready, waiting or failed.</param>
/// <param name="Reason">What is awaited or what failed (empty when ready).</param>
public readonly record struct InterfaceReadiness(ReadinessStatus Status, string Reason)
{
    /// <summary>Ready.</summary>
    public static InterfaceReadiness Ready { get; } = new(ReadinessStatus.Ready, "");

    /// <summary>Checks <paramref name="iface"/> of <paramref name="stack"/> (call it where the stack runs: on its loop).</summary>
    public static InterfaceReadiness Check(NetworkStack stack, NetworkInterface iface, bool requireIpv6Router)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(iface);
        var info = stack.GetIpv6Info(iface);
        if (info is null)
            return requireIpv6Router ? new(ReadinessStatus.Failed, $"an IPv6 router was required but IPv6 is off on {iface.Name}") : Ready;
        foreach (var a in info.Addresses)
        {
            // RFC 4862 §5.4.5: a duplicate address is never used; an operator must act.
            if (a.State == Ipv6AddressState.Duplicate && a.Origin is Ipv6AddressOrigin.Static or Ipv6AddressOrigin.LinkLocal)
                return new(ReadinessStatus.Failed, $"IPv6 address {a.Address} is in use by another node on {iface.Name} (duplicate address detection, RFC 4862 §5.4.5)");
        }
        foreach (var a in info.Addresses)
        {
            // RFC 4862 §5.4: a tentative address is neither a source nor a destination until DAD ends, unless optimistic (RFC 4429).
            if (a.State == Ipv6AddressState.Tentative && !a.Optimistic)
                return new(ReadinessStatus.Waiting, $"IPv6 address {a.Address} is tentative (duplicate address detection)");
        }
        if (requireIpv6Router)
        {
            if (info.DefaultRouters.Count == 0) return new(ReadinessStatus.Waiting, $"no IPv6 default router known on {iface.Name} yet (router advertisement)");
            if (!info.Addresses.Any(a => a.IsUsable && a.Origin != Ipv6AddressOrigin.LinkLocal))
                return new(ReadinessStatus.Waiting, $"no usable global IPv6 address on {iface.Name} yet (SLAAC)");
        }
        return Ready;
    }
}
