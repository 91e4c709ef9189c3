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
/// A transport whose output waits for the stack's egress pass (TCP: the segments a received segment makes due, ACKs and
/// the data an ACK lets out, are built and sent once the receive call has returned, never from inside it).
/// </summary>
internal interface IEgressParticipant
{
    /// <summary>Sends what became due during the ingress pass that just ended.</summary>
    void Egress(Instant now);
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
/// (<c>MulticastGroups</c>), DHCP leases, echo endpoints. Floors above the network floor get operations here, never the
/// family layers themselves (<c>FloorTests</c> holds them to it); the layers stay internal and only the network floor's
/// own endpoints (the echo sockets) take them.
/// </summary>
public interface IIpFamilies
{
    /// <summary>The interfaces, indexed as the family layers index them.</summary>
    IReadOnlyList<NetworkInterface> Interfaces { get; }

    /// <summary>The IPv4 layer, for the network floor's own endpoints (<see cref="IcmpEchoSocket"/>).</summary>
    internal Ipv4Layer Ipv4 { get; }

    /// <summary>The IPv6 layer, for the network floor's own endpoints.</summary>
    internal Ipv6Layer Ipv6 { get; }

    /// <summary>Joins <paramref name="group"/> for any source on an interface of its family (IGMPv3 / MLDv2 report it).</summary>
    internal bool JoinGroup(int interfaceIndex, IpAddress group, Instant now) =>
        group.IsV4 ? Ipv4.JoinGroup(interfaceIndex, group.V4, now) : Ipv6.JoinGroup(interfaceIndex, group.V6, now);

    /// <summary>Removes one any-source record of <paramref name="group"/> (reference counted).</summary>
    internal bool LeaveGroup(int interfaceIndex, IpAddress group, Instant now) =>
        group.IsV4 ? Ipv4.LeaveGroup(interfaceIndex, group.V4, now) : Ipv6.LeaveGroup(interfaceIndex, group.V6, now);

    /// <summary>Changes a socket-level source filter record of <paramref name="group"/> (RFC 3376 §3 / RFC 3810 §3).</summary>
    internal bool ChangeSourceFilter(int interfaceIndex, IpAddress group, IpAddress source, SourceFilterChange change, Instant now) =>
        group.IsV4 ? Ipv4.ChangeSourceFilter(interfaceIndex, group.V4, source.V4, change, now)
            : Ipv6.ChangeSourceFilter(interfaceIndex, group.V6, source.V6, change, now);

    /// <summary>Adds an IPv4 address with its prefix (and so its on-link route) to an interface.</summary>
    internal bool AddIpv4Address(int interfaceIndex, Ipv4Cidr cidr, Instant now) => Ipv4.AddAddress(interfaceIndex, cidr, now);

    /// <summary>Removes an IPv4 address (and the routes that came with it).</summary>
    internal bool RemoveIpv4Address(Ipv4Address address) => Ipv4.RemoveAddress(address);

    /// <summary>Adds an IPv4 route; false when the table is full or holds it already.</summary>
    internal bool AddIpv4Route(Ipv4Route route) => Ipv4.Routes.TryAdd(route);

    /// <summary>Removes an IPv4 route; false when it was not there.</summary>
    internal bool RemoveIpv4Route(Ipv4Route route) => Ipv4.Routes.Remove(route);
}
