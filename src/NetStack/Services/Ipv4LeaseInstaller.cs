using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// Applies a DHCPv4 lease to a stack's IPv4 layer: the address with its prefix (and so its on-link route), a default
/// route through the first router (RFC 2132 §3.5: routers are listed in order of preference), and the interface MTU
/// (RFC 2132 §5.1, option 26, never below the 68 octets of RFC 791). Removal undoes exactly that.
/// </summary>
internal sealed class Ipv4LeaseInstaller(IIpFamilies stack) : IDhcpv4LeaseInstaller
{
    private const int MinimumMtu = 68;
    private int? _mtuBefore;

    /// <inheritdoc/>
    public void Install(NetworkInterface iface, Dhcpv4Lease lease, Instant now)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(lease);
        stack.AddIpv4Address(iface.Index, new Ipv4Cidr(lease.Address, lease.PrefixLength), now);
        if (lease.Routers.Count > 0) stack.AddIpv4Route(DefaultRoute(iface, lease));
        if (lease.Mtu is { } mtu && mtu >= MinimumMtu)
        {
            _mtuBefore ??= iface.Mtu;
            // Never above what the device carries.
            iface.Mtu = Math.Min(mtu, _mtuBefore.Value);
        }
    }

    /// <inheritdoc/>
    public void Remove(NetworkInterface iface, Dhcpv4Lease lease, Instant now)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(lease);
        if (lease.Routers.Count > 0) stack.RemoveIpv4Route(DefaultRoute(iface, lease));
        stack.RemoveIpv4Address(lease.Address);
        if (_mtuBefore is { } before)
        {
            iface.Mtu = before;
            _mtuBefore = null;
        }
    }

    private static Ipv4Route DefaultRoute(NetworkInterface iface, Dhcpv4Lease lease) =>
        new(new Ipv4Cidr(Ipv4Address.Any, 0), lease.Routers[0], iface.Index, 0, lease.Address);
}
