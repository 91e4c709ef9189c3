using NetStack.Link;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Network;

// The boundaries of the network floor, each a small interface (gVisor pkg/tcpip/stack/registration.go): what the
// family layers are given, what they hand up, and what the floors above may ask of them. The composer
// (NetStack.Composition.NetworkStack) implements them and wires them; no layer holds the composer.

/// <summary>
/// The delivery interface above the family layers (gVisor's <c>TransportDispatcher</c>): where a validated,
/// reassembled datagram addressed to us goes (raw sockets, then its transport), and where a decoded ICMP error
/// goes (the transport whose datagram it quotes).
/// </summary>
internal interface ILocalDelivery
{
    /// <summary>Local delivery of one datagram; <paramref name="unknownProtocol"/> when no transport or raw socket wants it
    /// (the caller answers protocol unreachable, RFC 1122 §3.2.2.1, or Parameter Problem code 1, RFC 8200 §4).</summary>
    TransportVerdict DeliverLocal(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now, out bool unknownProtocol);

    /// <summary>Hands a decoded ICMP/ICMPv6 error to the transport whose datagram it quotes (RFC 1122 §3.2.2, RFC 4443 §3).</summary>
    void DeliverIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now);
}

/// <summary>
/// What a family layer (<see cref="Ipv4Layer"/>, <see cref="Ipv6Layer"/>) is given: the clock fallback, randomness,
/// statistics and the delivery interface above. Its settings come beside it; the devices below come with each
/// interface (<see cref="NetworkInterface"/>).
/// </summary>
internal sealed class NetworkContext(IClock clock, IRandomSource random, StackStatistics statistics, ILocalDelivery delivery)
{
    public IClock Clock { get; } = clock;
    public IRandomSource Random { get; } = random;
    public StackStatistics Statistics { get; } = statistics;
    public ILocalDelivery Delivery { get; } = delivery;
}

/// <summary>
/// The receive load the composer sees, for a transport that sheds work under overload: TCP asks before it answers a SYN
/// to a listener (RFC 4987 §3: under a flood, new handshakes are what a host gives up first; segments of established
/// connections are never shed). Implemented by <c>NetworkStack</c>; a transport over an <see cref="IIpLayer"/> without it
/// never sheds.
/// </summary>
internal interface IReceiveLoad
{
    /// <summary>
    /// True: answer this SYN from <paramref name="remote"/>. False: the stack is overloaded (its devices hold a backlog)
    /// and either the SYN comes from an on-link source not resolved in the neighbour cache or this poll's SYN work
    /// budget is spent, so drop it (the stack counts it, <see cref="DropReason.TcpSynShed"/>).
    /// </summary>
    bool TryTakeSynWork(IpAddress remote);
}

/// <summary>
/// What a transport layer (UDP; TCP takes the plain <see cref="IIpLayer"/>) is given: the send interface below,
/// registration for delivery, randomness and statistics, and the multicast facts it needs to loop a datagram back
/// to a local member (RFC 1112 §6.1, RFC 3542 §5.2).
/// </summary>
public interface ITransportContext : IIpLayer
{
    /// <summary>The stack's random source (ephemeral ports, identifiers).</summary>
    IRandomSource Random { get; }

    /// <summary>The stack's counters.</summary>
    StackStatistics Statistics { get; }

    /// <summary>Registers the handler for an IP protocol number: datagrams and ICMP errors for it are delivered there.</summary>
    void RegisterTransport(IpProtocol protocol, ITransportHandler handler);

    /// <summary>Whether some interface is a member of <paramref name="group"/> accepting <paramref name="source"/>.</summary>
    internal bool IsMulticastMember(IpAddress group, IpAddress source);

    /// <summary>The TTL / hop limit a datagram to multicast <paramref name="group"/> leaves with when <paramref name="requested"/> is 0.</summary>
    internal byte MulticastHopLimit(IpAddress group, byte requested);
}

/// <summary>
/// The two family layers and the interfaces under them, for what configures them from above: multicast membership
/// (<c>MulticastGroups</c>), DHCP leases, echo endpoints. The layers themselves stay internal.
/// </summary>
public interface IIpFamilies
{
    /// <summary>The interfaces, indexed as the family layers index them.</summary>
    IReadOnlyList<NetworkInterface> Interfaces { get; }

    internal Ipv4Layer Ipv4 { get; }

    internal Ipv6Layer Ipv6 { get; }
}
