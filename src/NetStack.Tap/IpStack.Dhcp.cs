using NetStack.Link;
using NetStack.Services;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    // Until the IPv4 layer offers addresses and routes to install, a lease cannot be applied.
    private static IDhcpv4LeaseInstaller CreateLeaseInstaller() => new NoLeaseInstaller();

    private sealed class NoLeaseInstaller : IDhcpv4LeaseInstaller
    {
        public void Install(NetworkInterface iface, Dhcpv4Lease lease, Instant now) =>
            throw new NotSupportedException("Installing a DHCPv4 lease needs the IPv4 layer.");

        public void Remove(NetworkInterface iface, Dhcpv4Lease lease, Instant now)
        {
        }
    }
}
