using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>What the link layer tells a network layer about the frame a packet arrived in.</summary>
/// <param name="Source">The frame's source MAC (zero on a raw-IP medium).</param>
/// <param name="Destination">The frame's destination MAC.</param>
internal readonly record struct LinkInfo(MacAddress Source, MacAddress Destination)
{
    /// <summary>Sent to a link-layer broadcast or multicast address (RFC 1122 §3.3.6: such datagrams are not forwarded and earn no ICMP error).</summary>
    public bool IsLinkBroadcastOrMulticast => Destination.IsMulticast;

    /// <summary>The device vouched for the transport checksum (virtio DATA_VALID or NEEDS_CSUM, validated by the stack).</summary>
    public bool ChecksumTrusted { get; init; }

    /// <summary>Non-zero for a super-frame coalesced from segments of this payload size (GRO/GSO, validated by the stack).</summary>
    public int GsoSize { get; init; }

    /// <summary>
    /// For a partially checksummed packet (virtio NEEDS_CSUM, range validated): where the checksummed data starts, counted
    /// from the IP header, and where in it the checksum field lies; -1 when the packet's checksums are whole. A router
    /// completes the checksum before the packet leaves (<see cref="ReceiveOffloads.CompleteChecksum"/>), as Linux's
    /// skb_checksum_help does for a device without checksum offload.
    /// </summary>
    public int PartialChecksumStart { get; init; } = -1;

    /// <summary>The checksum field's offset from <see cref="PartialChecksumStart"/>.</summary>
    public int PartialChecksumOffset { get; init; }
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

    /// <inheritdoc cref="IIpLayer.SendInPlace"/>
    IpSendResult SendInPlace(IpAddress source, IpAddress destination, IpProtocol protocol,
        byte[] buffer, int offset, int length, in IpSendOptions options, Instant now);

    /// <inheritdoc cref="IIpLayer.ReachabilityAdvice"/>
    void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now);

    /// <summary>This family's open <see cref="IcmpEchoSocket"/>s (ICMP and ICMPv6 identifiers are separate spaces).</summary>
    EchoEndpoints EchoEndpoints { get; }

    /// <summary>
    /// Sends an echo request of this family for an <see cref="IcmpEchoSocket"/>: ICMP Echo (RFC 792 type 8, checksum over the
    /// message) or ICMPv6 Echo Request (RFC 4443 §4.1 type 128, checksum over the IPv6 pseudo-header, RFC 8200 §8.1).
    /// An unspecified <paramref name="source"/> is chosen by route; <paramref name="options"/> gives TTL / hop limit, DF
    /// (IPv6: no source fragmentation), the interface and the IPv4 header options.
    /// </summary>
    IpSendResult SendEchoRequest(IpAddress source, IpAddress destination, ushort identifier, ushort sequence,
        ReadOnlySpan<byte> data, in IpSendOptions options, Instant now);
}
