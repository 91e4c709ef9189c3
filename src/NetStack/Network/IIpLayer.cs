using NetStack.Wire;

namespace NetStack.Network;

/// <summary>
/// Per-datagram controls a transport (or a probe) may set. The default value (including <c>default</c>)
/// means "the stack's defaults": TTL from the family options, no DF, traffic class 0, no flow label, route lookup.
/// </summary>
public readonly record struct IpSendOptions
{
    // Stored as index + 1 so that default(IpSendOptions) means "by route".
    private readonly int _interfacePlusOne;

    /// <param name="ttl">IPv4 TTL or IPv6 hop limit; 0 = default.</param>
    /// <param name="trafficClass">IPv4 TOS byte or IPv6 traffic class (DSCP and ECN).</param>
    /// <param name="dontFragment">IPv4: set DF and never fragment; IPv6: never fragment at the source.</param>
    /// <param name="flowLabel">IPv6 flow label (20 bits); 0 = none.</param>
    /// <param name="interfaceIndex">Send out of this interface; -1 = by route.</param>
    public IpSendOptions(byte ttl = 0, byte trafficClass = 0, bool dontFragment = false, uint flowLabel = 0, int interfaceIndex = -1)
    {
        Ttl = ttl;
        TrafficClass = trafficClass;
        DontFragment = dontFragment;
        FlowLabel = flowLabel;
        _interfacePlusOne = interfaceIndex + 1;
    }

    /// <summary>IPv4 TTL or IPv6 hop limit; 0 = default.</summary>
    public byte Ttl { get; init; }

    /// <summary>IPv4 TOS byte or IPv6 traffic class (DSCP and ECN).</summary>
    public byte TrafficClass { get; init; }

    /// <summary>IPv4: set DF and never fragment; IPv6: never fragment at the source.</summary>
    public bool DontFragment { get; init; }

    /// <summary>IPv6 flow label (20 bits); 0 = none.</summary>
    public uint FlowLabel { get; init; }

    /// <summary>Send out of this interface; -1 = by route.</summary>
    public int InterfaceIndex
    {
        get => _interfacePlusOne - 1;
        init => _interfacePlusOne = value + 1;
    }

    /// <summary>
    /// IPv4 options to put in the header (RFC 1122 §4.1.3.2: "An application MUST be able to specify IP options to be
    /// sent in its UDP datagrams"; Linux <c>IP_OPTIONS</c>); validated when built with <see cref="IpHeaderOptions.Create"/>.
    /// Record Route and Timestamp get our address / time as we originate the datagram (RFC 791 §3.1). Ignored for IPv6.
    /// </summary>
    public IpHeaderOptions HeaderOptions { get; init; }

    /// <summary>
    /// With <see cref="DontFragment"/>: size the datagram against the outgoing link's MTU only, ignoring a path MTU
    /// learned from "fragmentation needed" / "packet too big" (Linux <c>IP_PMTUDISC_PROBE</c> / <c>IPV6_PMTUDISC_PROBE</c>,
    /// what path MTU probing and traceroute -F use: the probe leaves and the router that cannot forward it says so).
    /// </summary>
    public bool IgnorePathMtu { get; init; }

    /// <summary>
    /// The transport's checksum field (TCP or UDP) holds only the pseudo-header sum, folded (Linux CHECKSUM_PARTIAL,
    /// virtio NEEDS_CSUM): the device completes it when it offers checksum offload, the network layer otherwise (in
    /// software, before loopback, fragmentation or a device without it). Only where
    /// <see cref="IIpLayer.TransmitOffloads"/> says the layer takes it.
    /// </summary>
    public bool PartialChecksum { get; init; }

    /// <summary>
    /// A TCP or UDP super-segment (with <see cref="PartialChecksum"/>): its payload is cut into segments of this many bytes
    /// (the MSS; datagrams for UDP), each with a copy of the headers, by the device (TSO/USO) or in software
    /// (<c>Link.SoftwareSegmentation</c>). Each segment, not the whole, must fit the path MTU. 0: one datagram.
    /// </summary>
    public int SegmentSize { get; init; }

    /// <summary>No option set: the stack's defaults.</summary>
    public static readonly IpSendOptions Default;
}

/// <summary>What became of a datagram handed to the network layer.</summary>
public enum IpSendResult
{
    /// <summary>Transmitted (or queued behind neighbour resolution).</summary>
    Sent,
    /// <summary>No route to the destination.</summary>
    NoRoute,
    /// <summary>No source address usable toward the destination (none configured, or only tentative ones).</summary>
    NoSourceAddress,
    /// <summary>Larger than the path MTU with DF set (or IPv6), the caller should shrink it.</summary>
    TooBig,
    /// <summary>A bounded queue (neighbour resolution, device) was full; counted.</summary>
    QueueFull,
}

/// <summary>Buffer layout shared by transports and the network layer for in-place sends (<see cref="IIpLayer.SendInPlace"/>).</summary>
public static class IpSendBuffers
{
    /// <summary>
    /// Bytes a transport leaves free before a segment it builds for <see cref="IIpLayer.SendInPlace"/>: the link layer's
    /// <see cref="Link.NetworkInterface.Headroom"/> plus room for an IPv4 header with options (60 bytes) or an IPv6 header.
    /// </summary>
    public const int TransportHeadroom = Link.NetworkInterface.Headroom + 64;
}

/// <summary>
/// The narrow interface a transport calls down through. The network layer adds the IP header,
/// chooses the route and next hop, resolves the neighbour, fragments when allowed, and transmits.
/// Transports compute their own checksums (with <see cref="Checksum.PseudoHeader"/>) before calling.
/// </summary>
public interface IIpLayer
{
    /// <summary>The source address the stack would use toward <paramref name="destination"/> (route + RFC 6724 for IPv6).</summary>
    bool TrySelectSource(IpAddress destination, out IpAddress source);

    /// <summary>True when <paramref name="address"/> is one of ours and usable as a source (IPv6: not tentative).</summary>
    bool IsLocalAddress(IpAddress address);

    /// <summary>The largest transport payload that reaches <paramref name="destination"/> unfragmented (path MTU minus IP header).</summary>
    int MaxTransportPayload(IpAddress destination);

    /// <summary>Sends one transport payload from <paramref name="source"/> to <paramref name="destination"/>, fragmenting (IPv4; IPv6 at the source) when it exceeds the path MTU and <paramref name="options"/> allow it.</summary>
    IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now);

    /// <summary>
    /// <see cref="Send"/> of a transport payload built in place at <paramref name="buffer"/>[<paramref name="offset"/>..+<paramref name="length"/>]
    /// with at least <see cref="IpSendBuffers.TransportHeadroom"/> bytes free before it (smoltcp's <c>TxToken</c>): the
    /// layer writes its header and the link header into that headroom and hands the frame to the device without copying
    /// the payload. The buffer stays the caller's; the layer may overwrite the headroom but not the payload. Paths that
    /// cannot build in place (loopback, fragmentation, options, a neighbour queue) copy as <see cref="Send"/> does, which
    /// is also what the default does.
    /// </summary>
    IpSendResult SendInPlace(IpAddress source, IpAddress destination, IpProtocol protocol,
        byte[] buffer, int offset, int length, in IpSendOptions options, Instant now) =>
        Send(source, destination, protocol, buffer.AsSpan(offset, length), options, now);

    /// <summary>
    /// Advice from a transport about the path to <paramref name="destination"/>. Forward progress (new data acknowledged)
    /// confirms the first hop's neighbour entry (RFC 4861 §7.3.1 upper-layer hints; RFC 1122 §3.3.1.4 positive advice).
    /// Negative advice (RFC 9293 §3.8.3 MUST-20: a segment retransmitted R1 times) forgets a redirect toward the
    /// destination and makes the first hop's entry be verified again, so a dead neighbour or router is noticed and
    /// another router chosen (RFC 1122 §3.3.1.4 dead gateway detection, RFC 4861 §7.3.3).
    /// </summary>
    void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now);

    /// <summary>
    /// What the layer takes from a transport sending to <paramref name="destination"/>: partial checksums
    /// (<see cref="IpSendOptions.PartialChecksum"/>) and super-segments of up to
    /// <see cref="TransmitOffloadSupport.MaxSuperSegment"/> transport bytes (<see cref="IpSendOptions.SegmentSize"/>).
    /// The default takes neither: the transport sends whole, checksummed segments of at most one MSS.
    /// </summary>
    TransmitOffloadSupport TransmitOffloads(IpAddress destination) => default;

    /// <summary>
    /// The receive load below, for a transport that sheds work under overload: TCP asks before it answers a SYN to a
    /// listener (RFC 4987 §3: under a flood, new handshakes are what a host gives up first; segments of established
    /// connections are never shed). True: answer this SYN from <paramref name="remote"/>. False: the layer is overloaded
    /// (its devices hold a backlog) and either the SYN comes from an on-link source not resolved in the neighbour cache or
    /// this poll's SYN work budget is spent, so drop it (the layer counts it, <see cref="DropReason.TcpSynShed"/>). A
    /// <paramref name="proven"/> source (it completed a handshake lately, <c>TcpProvenPeers</c>) has a budget of its own
    /// that the others cannot spend. The default never sheds (a layer without a receive backlog of its own, a test
    /// double); the composer answers from its devices' backlog.
    /// </summary>
    internal bool TryTakeSynWork(IpAddress remote, bool proven) => true;

    /// <summary>
    /// The egress pass below (docs/architecture.md, "The poll cycle"), for a transport whose output a received packet made
    /// due. True during an ingress pass: <paramref name="participant"/>'s <see cref="IEgressParticipant.Egress"/> runs in
    /// the egress pass that follows it (once however often it asks), after the receive call has returned. False outside
    /// one: send now. The default (a layer without an egress pass, a test double) always says send now.
    /// </summary>
    internal bool DeferToEgress(IEgressParticipant participant) => false;
}

/// <summary>What a network layer takes from its transports (<see cref="IIpLayer.TransmitOffloads"/>).</summary>
/// <param name="PartialChecksum">Transports may leave the checksum partial (<see cref="IpSendOptions.PartialChecksum"/>).</param>
/// <param name="MaxSuperSegment">The largest transport segment (header and payload) sent with
/// <see cref="IpSendOptions.SegmentSize"/>; 0: no super-segments.</param>
public readonly record struct TransmitOffloadSupport(bool PartialChecksum, int MaxSuperSegment);

/// <summary>What the network layer knows about a received datagram, handed to the transport with its payload.
/// <see cref="IsBroadcastOrMulticast"/>: addressed to a broadcast or multicast destination (no ICMP error may answer it).</summary>
public readonly record struct IpPacketInfo(
    IpAddress Source,
    IpAddress Destination,
    IpProtocol Protocol,
    byte Ttl,
    byte TrafficClass,
    uint FlowLabel,
    int InterfaceIndex,
    bool IsBroadcastOrMulticast)
{
    /// <summary>
    /// The IPv4 header's options, NOP and End-of-List aside (RFC 1122 §3.2.1.8: "All IP options (except NOP or
    /// END-OF-LIST) received in datagrams MUST be passed to the transport layer"); of the first fragment for a
    /// reassembled datagram (RFC 791 §3.2). A copy held in the value, so a transport may keep it. Empty for IPv6.
    /// </summary>
    public IpHeaderOptions HeaderOptions { get; init; }

    /// <summary>
    /// The device vouched for the transport checksum (a virtio-net header's DATA_VALID, or NEEDS_CSUM: a frame the host
    /// made whose checksum was never computed): the transport skips its check, as Linux does for CHECKSUM_UNNECESSARY
    /// and CHECKSUM_PARTIAL. Never set on a reassembled datagram.
    /// </summary>
    public bool ChecksumTrusted { get; init; }

    /// <summary>
    /// Non-zero when the datagram is a super-frame the device coalesced (GRO) or the host sent unsegmented (GSO): the
    /// payload size of each original segment. TCP takes the super-segment as one segment; UDP (USO) delivers one
    /// datagram per <see cref="GsoSize"/> bytes of payload.
    /// </summary>
    public int GsoSize { get; init; }
}

/// <summary>What a transport did with a datagram; the network layer answers <see cref="PortUnreachable"/> with ICMP.</summary>
public enum TransportVerdict
{
    /// <summary>The payload was taken by a socket or connection.</summary>
    Delivered,
    /// <summary>Malformed, bad checksum, or refused; already counted by the transport.</summary>
    Dropped,
    /// <summary>No socket listens: the network layer sends ICMP port unreachable (RFC 1122 §4.1.3.1, RFC 4443 §3.1 code 4).</summary>
    PortUnreachable,
}

/// <summary>
/// A received ICMP or ICMPv6 error, decoded by the network layer, addressed to the transport whose
/// datagram it quotes (this is how traceroute and PMTU discovery learn of errors).
/// </summary>
/// <param name="Reporter">The address that sent the error (the router or host).</param>
/// <param name="Type">ICMP or ICMPv6 type.</param>
/// <param name="Code">ICMP or ICMPv6 code.</param>
/// <param name="Parameter">Next-hop MTU (fragmentation needed / packet too big) or pointer (parameter problem); 0 otherwise.</param>
/// <param name="OriginalSource">Source of the quoted datagram (one of ours).</param>
/// <param name="OriginalDestination">Destination of the quoted datagram.</param>
/// <param name="OriginalProtocol">Upper-layer protocol of the quoted datagram.</param>
/// <param name="ReceivedTtl">TTL / hop limit of the error itself as it arrived.</param>
/// <param name="InterfaceIndex">The interface the error arrived on.</param>
public readonly record struct IcmpErrorInfo(
    IpAddress Reporter,
    byte Type,
    byte Code,
    uint Parameter,
    IpAddress OriginalSource,
    IpAddress OriginalDestination,
    IpProtocol OriginalProtocol,
    byte ReceivedTtl,
    int InterfaceIndex)
{
    /// <summary>The IP version of the error (that of the reporting router).</summary>
    public IpVersion Version => Reporter.Version;
}

/// <summary>The upward dispatch target for one IP protocol number (UDP, TCP, ICMP sockets).</summary>
public interface ITransportHandler
{
    /// <summary>Handles one datagram of the handler's protocol addressed to this host; says whether it was delivered.</summary>
    TransportVerdict Receive(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now);

    /// <summary>
    /// An ICMP error that quotes a datagram of this protocol. <paramref name="quotedTransport"/> is the
    /// quoted transport header and whatever of its payload was quoted (at least 8 bytes when present);
    /// <paramref name="icmpMessage"/> is the whole ICMP message (for extensions such as RFC 4950 MPLS labels).
    /// </summary>
    void ReceiveIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now);
}
