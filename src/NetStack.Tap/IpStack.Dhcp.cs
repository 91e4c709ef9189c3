using NetStack.Services;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    private IDhcpv4LeaseInstaller CreateLeaseInstaller() => new Ipv4LeaseInstaller(Stack);
}
