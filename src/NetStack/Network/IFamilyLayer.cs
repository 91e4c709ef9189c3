using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>What the link layer tells a network layer about the frame a packet arrived in.</summary>
/// <param name="Source">The frame's source MAC (zero on a raw-IP medium).</param>
/// <param name="Destination">The frame's destination MAC.</param>
public readonly record struct LinkInfo(MacAddress Source, MacAddress Destination)
{
    /// <summary>Sent to a link-layer broadcast or multicast address (RFC 1122 §3.3.6: such datagrams are not forwarded and earn no ICMP error).</summary>
    public bool IsLinkBroadcastOrMulticast => Destination.IsMulticast;
}

/// <summary>
/// The contract between <c>NetworkStack</c> and one IP family's layer (IPv4 with ARP, IPv6 with NDP).
/// The stack owns the devices and the demultiplexing of frames; each family owns its addresses, neighbour
/// cache, routes, fragmentation, ICMP and forwarding.
/// </summary>
internal interface IFamilyLayer
{
    void AddInterface(NetworkInterface iface, InterfaceConfig config, Instant now);

    /// <summary>A packet of this family (or an ARP packet, for IPv4) as it arrived; only valid during the call.</summary>
    void Receive(NetworkInterface iface, EtherType etherType, ReadOnlySpan<byte> packet, in LinkInfo link, Instant now);

    /// <summary>Timers; returns the next deadline.</summary>
    Instant Poll(Instant now);

    bool TrySelectSource(IpAddress destination, out IpAddress source);

    int MaxTransportPayload(IpAddress destination);

    bool IsLocalAddress(IpAddress address);

    IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now);

    /// <inheritdoc cref="IIpLayer.ReachabilityAdvice"/>
    void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now);
}
