namespace NetStack;

/// <summary>
/// Why the stack discarded a frame or packet. Every discard in the stack is counted under one of
/// these (DESIGN principle 5: hostile input is a counted, categorized drop, never an exception).
/// Layers add reasons here as they need them; keep them grouped by layer.
/// </summary>
public enum DropReason
{
    // Link
    /// <summary>A frame too short for its link header, or otherwise unparsable.</summary>
    LinkMalformed,
    /// <summary>A frame for another station's hardware address.</summary>
    LinkNotForUs,
    /// <summary>A frame of an EtherType the stack does not handle.</summary>
    LinkUnknownEtherType,
    /// <summary>A frame longer than the device's maximum frame size (received, or about to be sent).</summary>
    LinkFrameTooLarge,
    /// <summary>A packet dropped because a device or loopback queue was full.</summary>
    DeviceQueueFull,
    /// <summary>A frame produced while processing a received frame (a reply, a forwarded packet) that did not fit the
    /// stack's egress queue (<see cref="Link.EgressQueue"/>: bounded in frames and bytes).</summary>
    EgressQueueFull,

    // Device offloads (a virtio-net header that lies; see Wire.VirtioNetHeader)
    /// <summary>A super-frame longer than the device's negotiated maximum (it did not fit the receive buffer).</summary>
    OffloadFrameTooLong,
    /// <summary>A super-frame whose gso_size is 0 or larger than its payload.</summary>
    OffloadBadGsoSize,
    /// <summary>A gso_type we do not know or never offered (UFO, reserved values).</summary>
    OffloadUnknownGsoType,
    /// <summary>A gso_type that does not match the packet (TCPv4 on an IPv6 packet, on a fragment, on UDP...).</summary>
    OffloadGsoMismatch,
    /// <summary>NEEDS_CSUM with csum_start / csum_offset pointing outside the frame.</summary>
    OffloadBadChecksumRange,
    /// <summary>A received super-frame to be forwarded out of an interface whose MTU it exceeds: software segmentation on
    /// the forwarding path is not there yet (routers open their TAPs with <c>TunOffloads.Checksum</c> only).</summary>
    OffloadSuperFrameNotForwarded,

    // ARP / neighbour caches
    /// <summary>An ARP packet that failed to parse or to validate (hardware or protocol type, lengths).</summary>
    ArpMalformed,
    /// <summary>An ARP request for an address that is not ours.</summary>
    ArpNotForUs,
    /// <summary>An ARP packet from someone else claiming one of our addresses (RFC 5227 §2.4): not learned.</summary>
    ArpAddressConflict,
    /// <summary>A neighbour not cached because the cache was full.</summary>
    NeighborCacheFull,
    /// <summary>A packet dropped because its neighbour's queue of packets awaiting resolution was full.</summary>
    NeighborQueueFull,
    /// <summary>A packet dropped because its neighbour never answered resolution (RFC 4861 §7.3.3 INCOMPLETE timed out, or ARP gave up).</summary>
    NeighborUnreachable,
    /// <summary>A new unresolved neighbour or a multicast solicitation refused by the per-interface budget or rate limit (RFC 6583 §7.1).</summary>
    NeighborRateLimited,

    // IPv4
    /// <summary>An IPv4 header that failed to parse (version, lengths).</summary>
    Ipv4Malformed,
    /// <summary>An IPv4 header with a bad checksum (RFC 791 §3.1).</summary>
    Ipv4BadChecksum,
    /// <summary>An IPv4 datagram whose options are malformed (RFC 791 §3.1).</summary>
    Ipv4BadOptions,
    /// <summary>An IPv4 source that may not appear on a received datagram: broadcast, multicast, loopback (RFC 1122 §3.2.1.3).</summary>
    Ipv4BadSource,
    /// <summary>A martian destination: 0.0.0.0, loopback or class E arriving from a link (RFC 1812 §5.3.7, RFC 1122 §3.2.1.3).</summary>
    Ipv4BadDestination,
    /// <summary>A datagram with a loose or strict source route option (Linux accept_source_route=0 drops them).</summary>
    Ipv4SourceRouted,
    /// <summary>An IPv4 datagram for another host, with forwarding off.</summary>
    Ipv4NotForUs,
    /// <summary>An IPv4 datagram to forward whose TTL ran out (RFC 1812 §5.3.1).</summary>
    Ipv4TtlExpired,
    /// <summary>An IPv4 datagram with no route to its destination.</summary>
    Ipv4NoRoute,
    /// <summary>An IPv4 datagram with DF set that is larger than the next hop's MTU (RFC 1191).</summary>
    Ipv4FragmentNeededDf,
    /// <summary>An IPv4 fragment refused by the reassembly limits (datagrams or bytes in progress).</summary>
    Ipv4ReassemblyLimit,
    /// <summary>An IPv4 fragment overlapping another with different bytes: the whole datagram is dropped.</summary>
    Ipv4ReassemblyOverlap,
    /// <summary>An IPv4 datagram whose fragments did not all arrive in time (RFC 791: the reassembly timer).</summary>
    Ipv4ReassemblyTimeout,
    /// <summary>An IPv4 datagram whose fragments add up to more than 65,535 bytes.</summary>
    Ipv4ReassemblyTooLarge,
    /// <summary>A fragment whose bytes were all held already, identical (the datagram is kept).</summary>
    Ipv4FragmentDuplicate,

    // IPv6
    /// <summary>An IPv6 header that failed to parse (version, payload length).</summary>
    Ipv6Malformed,
    /// <summary>An IPv6 source that may not appear on a received packet: multicast, or loopback from a link (RFC 4291 §2.7, §2.5.3).</summary>
    Ipv6BadSource,
    /// <summary>An IPv6 packet for another host, with forwarding off.</summary>
    Ipv6NotForUs,
    /// <summary>An IPv6 packet to forward whose hop limit ran out (RFC 8200 §3).</summary>
    Ipv6HopLimitExpired,
    /// <summary>An IPv6 packet with no route to its destination.</summary>
    Ipv6NoRoute,
    /// <summary>An IPv6 extension header that failed to parse or came out of order (RFC 8200 §4.1).</summary>
    Ipv6BadExtensionHeader,
    /// <summary>An IPv6 option whose type says to discard the packet when not recognized (RFC 8200 §4.2).</summary>
    Ipv6UnknownOption,
    /// <summary>An IPv6 packet whose next header is unknown (answered with a parameter problem, RFC 8200 §4).</summary>
    Ipv6UnknownNextHeader,
    /// <summary>An IPv6 fragment refused by the reassembly limits (packets or bytes in progress).</summary>
    Ipv6ReassemblyLimit,
    /// <summary>An IPv6 fragment overlapping another: the whole packet is dropped (RFC 5722).</summary>
    Ipv6ReassemblyOverlap,
    /// <summary>An IPv6 packet whose fragments did not all arrive within 60 s (RFC 8200 §4.5).</summary>
    Ipv6ReassemblyTimeout,
    /// <summary>An IPv6 packet whose fragments add up to more than 65,535 bytes of payload (RFC 8200 §4.5).</summary>
    Ipv6ReassemblyTooLarge,
    /// <summary>A first fragment that does not hold the whole header chain up to the upper-layer header (RFC 7112).</summary>
    Ipv6IncompleteHeaderChain,
    /// <summary>An IPv6 packet larger than the next hop's MTU (answered with Packet Too Big when forwarding, RFC 4443 §3.2).</summary>
    Ipv6PacketTooBig,
    /// <summary>An IPv6 fragment whose length is not a multiple of 8 bytes though more fragments follow (RFC 8200 §4.5).</summary>
    Ipv6ReassemblyBadLength,
    /// <summary>An IPv6 fragment whose bytes were all held already.</summary>
    Ipv6ReassemblyDuplicate,
    /// <summary>IPv6 fragments of one packet that disagree (first fragment's headers, the end of the packet).</summary>
    Ipv6ReassemblyInconsistent,
    /// <summary>An IPv6 address not added because the interface's address table was full.</summary>
    Ipv6AddressTableFull,

    // ICMP / ICMPv6 / NDP / MLD
    /// <summary>An ICMP or ICMPv6 message that failed to parse.</summary>
    IcmpMalformed,
    /// <summary>An ICMP or ICMPv6 message with a bad checksum.</summary>
    IcmpBadChecksum,
    /// <summary>An ICMP or ICMPv6 message of a type the stack does not handle.</summary>
    IcmpUnknownType,
    /// <summary>An ICMP error quoting a datagram that matches no socket or connection.</summary>
    IcmpErrorUnmatched,
    /// <summary>An ICMP error not sent because of the rate limit (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)).</summary>
    IcmpRateLimited,
    /// <summary>An echo reply for no open echo socket.</summary>
    IcmpEchoUnmatched,
    /// <summary>An echo request to a broadcast or multicast address, not answered (RFC 1122 §3.2.2.6 MAY; Linux default).</summary>
    IcmpEchoIgnored,
    /// <summary>A well-formed ICMP message the stack deliberately does not act on (source quench, redirect).</summary>
    IcmpIgnored,
    /// <summary>A redirect that failed the RFC 1122 §3.2.2.2 checks (gateway off-link, not from our current first hop) or arrived on a forwarding interface.</summary>
    IcmpRedirectRejected,
    /// <summary>An echo socket's receive queue was full.</summary>
    IcmpEchoQueueFull,
    /// <summary>An NDP message that failed the RFC 4861 validity checks (hop limit 255, code, lengths, options).</summary>
    NdpInvalid,
    /// <summary>An MLD message that failed to parse or the RFC 3810 §5 / RFC 2710 §5 checks (link-local source, hop limit 1).</summary>
    MldInvalid,
    /// <summary>An IGMP message that failed to parse or the RFC 3376 §9.1 / §4 checks (TTL 1, Router Alert, all-systems general query).</summary>
    IgmpInvalid,
    /// <summary>An IGMP message with a bad checksum.</summary>
    IgmpBadChecksum,
    /// <summary>A join refused because the interface's group table is full.</summary>
    IgmpGroupTableFull,
    /// <summary>An IPv6 join refused because the interface's MLD group table is full.</summary>
    MldGroupTableFull,
    /// <summary>A multicast datagram for a group not joined on the receiving interface (RFC 1112 §6.4).</summary>
    Ipv4MulticastNotJoined,
    /// <summary>A source-filter change refused: the group's source list is full (IGMPv3 / MLDv2, like Linux igmp_max_msf).</summary>
    MulticastSourceLimit,
    /// <summary>A multicast datagram from a source the joined group's filter does not accept (RFC 3376 §3.2 / RFC 3810 §4.2).</summary>
    MulticastSourceFiltered,
    /// <summary>A neighbour solicitation for an address that is not ours.</summary>
    NdpNotForUs,
    /// <summary>A neighbour message showing that an address we hold or are trying is used by another node (RFC 4862 §5.4).</summary>
    NdpDuplicateAddress,
    /// <summary>A neighbour, router or prefix not learned because its table was full.</summary>
    NdpTableFull,

    // Transport
    /// <summary>A datagram of a transport protocol that no handler and no raw socket takes.</summary>
    UnknownProtocol,
    /// <summary>A UDP datagram that failed to parse (length field).</summary>
    UdpMalformed,
    /// <summary>A UDP datagram with a bad checksum, or a zero checksum over IPv6 (RFC 8200 §8.1).</summary>
    UdpBadChecksum,
    /// <summary>A UDP datagram for a port no socket is bound to (answered with port unreachable).</summary>
    UdpNoSocket,
    /// <summary>A UDP datagram dropped because its socket's receive queue was full.</summary>
    UdpReceiveQueueFull,
    /// <summary>A TCP segment that failed to parse (data offset, options).</summary>
    TcpMalformed,
    /// <summary>A TCP segment with a bad checksum.</summary>
    TcpBadChecksum,
    /// <summary>A TCP segment for no connection or listener (answered with a reset, RFC 9293 §3.10.7.1).</summary>
    TcpNoConnection,
    /// <summary>A TCP segment outside the receive window (RFC 9293 §3.10.7.4).</summary>
    TcpOutOfWindow,
    /// <summary>Reserved for a TCP segment dropped because a queue was full (nothing counts it today: see TcpStatistics).</summary>
    TcpQueueFull,
    /// <summary>A SYN to a listener dropped unanswered because the stack was overloaded (<see cref="Composition.StackOptions.SynsPerPollUnderLoad"/>).</summary>
    TcpSynShed,
}

/// <summary>
/// The stack's counters. Plain fields incremented on the stack's own thread (the core is single-threaded);
/// readers on other threads see eventually consistent values, which is what metrics need.
/// </summary>
public sealed class StackStatistics
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    /// <summary>Frames received from every device.</summary>
    public long FramesReceived;
    /// <summary>Frames transmitted to every device.</summary>
    public long FramesTransmitted;
    /// <summary>Bytes received from every device.</summary>
    public long BytesReceived;
    /// <summary>Bytes transmitted to every device.</summary>
    public long BytesTransmitted;
    /// <summary>Received super-frames (a device's GRO/GSO: one frame carrying many segments) accepted after checking their virtio-net header.</summary>
    public long SuperFramesReceived;
    /// <summary>Received frames whose transport checksum the device vouched for (DATA_VALID / NEEDS_CSUM), so none was computed.</summary>
    public long ChecksumOffloadedFrames;
    /// <summary>Super-frames handed to a device that segments them itself (TSO/USO): one frame carrying many segments.</summary>
    public long SuperFramesTransmitted;
    /// <summary>Frames cut from super-segments in software (<c>Link.SoftwareSegmentation</c>) for a device without TSO/USO.</summary>
    public long SegmentsBuiltInSoftware;
    /// <summary>IPv4 datagrams received (before validation).</summary>
    public long Ipv4PacketsReceived;
    /// <summary>IPv4 datagrams handed to the link (each fragment counted).</summary>
    public long Ipv4PacketsSent;
    /// <summary>IPv4 datagrams forwarded.</summary>
    public long Ipv4PacketsForwarded;
    /// <summary>IPv6 packets received (before validation).</summary>
    public long Ipv6PacketsReceived;
    /// <summary>IPv6 packets handed to the link (each fragment counted).</summary>
    public long Ipv6PacketsSent;
    /// <summary>IPv6 packets forwarded.</summary>
    public long Ipv6PacketsForwarded;
    /// <summary>ICMP messages received.</summary>
    public long IcmpReceived;
    /// <summary>ICMP messages sent.</summary>
    public long IcmpSent;
    /// <summary>ICMPv6 messages received.</summary>
    public long Icmpv6Received;
    /// <summary>ICMPv6 messages sent.</summary>
    public long Icmpv6Sent;
    /// <summary>IGMP messages sent (RFC 3376 reports, RFC 2236 reports and leaves).</summary>
    public long IgmpSent;
    /// <summary>UDP datagrams received for delivery (counted before the socket lookup; each segment of a super-frame once).</summary>
    public long UdpReceived;
    /// <summary>UDP datagrams sent (each datagram of a train once).</summary>
    public long UdpSent;
    /// <summary>Received super-frames (GRO) forwarded as super-frames: whole to a device with TSO/USO, cut in software otherwise.</summary>
    public long SuperFramesForwarded;
    /// <summary>UDP trains (<c>UdpSocket.SendSegmented</c>) handed to IP as one super-datagram (USO, or software segmentation below).</summary>
    public long UdpSuperDatagramsSent;
    /// <summary>Datagrams reassembled from fragments (IPv4 and IPv6).</summary>
    public long FragmentsReassembled;
    /// <summary>Fragments sent (IPv4 and IPv6).</summary>
    public long FragmentsCreated;
    /// <summary>Negative advice from transports (RFC 9293 §3.8.3 MUST-20): first hops put back under verification.</summary>
    public long NegativeAdvice;
    /// <summary>Router Advertisements we sent from advertising interfaces (RFC 4861 §6.2).</summary>
    public long RouterAdvertisementsSent;
    /// <summary>Advertisements from other routers inconsistent with ours (RFC 4861 §6.2.7).</summary>
    public long RouterAdvertisementsInconsistent;
    /// <summary>Reachable Time / Retrans Timer values of received Router Advertisements ignored as out of bounds (RFC 4861 §6.3.4, §10).</summary>
    public long RouterAdvertisementTimersIgnored;
    /// <summary>
    /// Neighbours (ARP and NDP) whose unicast probes all went unanswered, kept UNREACHABLE (RFC 7048 §3) with their
    /// link-layer address while solicitations back off.
    /// </summary>
    public long NeighborsUnreachable;
    /// <summary>Temporary addresses formed (RFC 8981).</summary>
    public long TemporaryAddressesFormed;

    /// <summary>Counts one discard.</summary>
    public void Drop(DropReason reason) => _drops[(int)reason]++;

    /// <summary>Discards counted under <paramref name="reason"/>.</summary>
    public long Drops(DropReason reason) => _drops[(int)reason];

    /// <summary>Discards of every reason.</summary>
    public long TotalDrops
    {
        get
        {
            long t = 0;
            foreach (var d in _drops) t += d;
            return t;
        }
    }

    /// <summary>Every non-zero drop counter, for diagnostics and the samples' exit summaries.</summary>
    public IEnumerable<KeyValuePair<DropReason, long>> NonZeroDrops()
    {
        for (int i = 0; i < _drops.Length; i++)
            if (_drops[i] != 0) yield return new((DropReason)i, _drops[i]);
    }
}
