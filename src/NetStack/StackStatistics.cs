namespace NetStack;

/// <summary>
/// Why the stack discarded a frame or packet. Every discard in the stack is counted under one of
/// these (DESIGN principle 5: hostile input is a counted, categorized drop, never an exception).
/// Layers add reasons here as they need them; keep them grouped by layer.
/// </summary>
public enum DropReason
{
    // Link
    LinkMalformed,
    LinkNotForUs,
    LinkUnknownEtherType,
    LinkFrameTooLarge,
    DeviceQueueFull,

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
    ArpMalformed,
    ArpNotForUs,
    /// <summary>An ARP packet from someone else claiming one of our addresses (RFC 5227 §2.4): not learned.</summary>
    ArpAddressConflict,
    NeighborCacheFull,
    NeighborQueueFull,
    NeighborUnreachable,
    /// <summary>A new unresolved neighbour or a multicast solicitation refused by the per-interface budget or rate limit (RFC 6583 §7.1).</summary>
    NeighborRateLimited,

    // IPv4
    Ipv4Malformed,
    Ipv4BadChecksum,
    Ipv4BadOptions,
    Ipv4BadSource,
    /// <summary>A martian destination: 0.0.0.0, loopback or class E arriving from a link (RFC 1812 §5.3.7, RFC 1122 §3.2.1.3).</summary>
    Ipv4BadDestination,
    /// <summary>A datagram with a loose or strict source route option (Linux accept_source_route=0 drops them).</summary>
    Ipv4SourceRouted,
    Ipv4NotForUs,
    Ipv4TtlExpired,
    Ipv4NoRoute,
    Ipv4FragmentNeededDf,
    Ipv4ReassemblyLimit,
    Ipv4ReassemblyOverlap,
    Ipv4ReassemblyTimeout,
    Ipv4ReassemblyTooLarge,
    /// <summary>A fragment whose bytes were all held already, identical (the datagram is kept).</summary>
    Ipv4FragmentDuplicate,

    // IPv6
    Ipv6Malformed,
    Ipv6BadSource,
    Ipv6NotForUs,
    Ipv6HopLimitExpired,
    Ipv6NoRoute,
    Ipv6BadExtensionHeader,
    Ipv6UnknownOption,
    Ipv6UnknownNextHeader,
    Ipv6ReassemblyLimit,
    Ipv6ReassemblyOverlap,
    Ipv6ReassemblyTimeout,
    Ipv6ReassemblyTooLarge,
    Ipv6IncompleteHeaderChain,
    Ipv6PacketTooBig,
    Ipv6ReassemblyBadLength,
    Ipv6ReassemblyDuplicate,
    Ipv6ReassemblyInconsistent,
    Ipv6AddressTableFull,

    // ICMP / ICMPv6 / NDP / MLD
    IcmpMalformed,
    IcmpBadChecksum,
    IcmpUnknownType,
    IcmpErrorUnmatched,
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
    NdpInvalid,
    MldInvalid,
    /// <summary>An IGMP message that failed to parse or the RFC 3376 §9.1 / §4 checks (TTL 1, Router Alert, all-systems general query).</summary>
    IgmpInvalid,
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
    NdpNotForUs,
    NdpDuplicateAddress,
    NdpTableFull,

    // Transport
    UnknownProtocol,
    UdpMalformed,
    UdpBadChecksum,
    UdpNoSocket,
    UdpReceiveQueueFull,
    TcpMalformed,
    TcpBadChecksum,
    TcpNoConnection,
    TcpOutOfWindow,
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

    public long FramesReceived;
    public long FramesTransmitted;
    public long BytesReceived;
    public long BytesTransmitted;
    /// <summary>Received super-frames (a device's GRO/GSO: one frame carrying many segments) accepted after checking their virtio-net header.</summary>
    public long SuperFramesReceived;
    /// <summary>Received frames whose transport checksum the device vouched for (DATA_VALID / NEEDS_CSUM), so none was computed.</summary>
    public long ChecksumOffloadedFrames;
    /// <summary>Super-frames handed to a device that segments them itself (TSO/USO): one frame carrying many segments.</summary>
    public long SuperFramesTransmitted;
    /// <summary>Frames cut from super-segments in software (<c>Link.SoftwareSegmentation</c>) for a device without TSO/USO.</summary>
    public long SegmentsBuiltInSoftware;
    public long Ipv4PacketsReceived;
    public long Ipv4PacketsSent;
    public long Ipv4PacketsForwarded;
    public long Ipv6PacketsReceived;
    public long Ipv6PacketsSent;
    public long Ipv6PacketsForwarded;
    public long IcmpReceived;
    public long IcmpSent;
    public long Icmpv6Received;
    public long Icmpv6Sent;
    /// <summary>IGMP messages sent (RFC 3376 reports, RFC 2236 reports and leaves).</summary>
    public long IgmpSent;
    public long UdpReceived;
    public long UdpSent;
    public long FragmentsReassembled;
    public long FragmentsCreated;
    /// <summary>Negative advice from transports (RFC 9293 §3.8.3 MUST-20): first hops put back under verification.</summary>
    public long NegativeAdvice;
    /// <summary>Router Advertisements we sent from advertising interfaces (RFC 4861 §6.2).</summary>
    public long RouterAdvertisementsSent;
    /// <summary>Advertisements from other routers inconsistent with ours (RFC 4861 §6.2.7).</summary>
    public long RouterAdvertisementsInconsistent;
    /// <summary>Reachable Time / Retrans Timer values of received Router Advertisements ignored as out of bounds (RFC 4861 §6.3.4, §10).</summary>
    public long RouterAdvertisementTimersIgnored;
    /// <summary>Temporary addresses formed (RFC 8981).</summary>
    public long TemporaryAddressesFormed;

    /// <summary>Counts one discard.</summary>
    public void Drop(DropReason reason) => _drops[(int)reason]++;

    public long Drops(DropReason reason) => _drops[(int)reason];

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
