using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// What the sans-IO sockets and services (ping, ICMP probes, the DNS resolver, the DHCPv4 client) are given instead
/// of the object that composes the stack: the send interface below (<see cref="IIpLayer"/>), the family layers for
/// what configures them (<see cref="IIpFamilies"/>), the clock fallback, a place to be polled, randomness,
/// statistics and raw sockets. <c>NetworkStack</c> implements it.
/// </summary>
public interface IServiceContext : IIpLayer, IIpFamilies, IClock, IPollRegistry
{
    /// <summary>The stack's random source.</summary>
    IRandomSource Random { get; }

    /// <summary>The stack's counters.</summary>
    StackStatistics Statistics { get; }

    /// <summary>Opens a raw socket for one family and protocol (see <see cref="RawSocket"/>).</summary>
    RawSocket OpenRawSocket(IpVersion version, IpProtocol protocol, int capacity = 1024);
}
