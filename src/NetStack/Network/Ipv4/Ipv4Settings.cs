using NetStack.Link;

namespace NetStack.Network.Ipv4;

/// <summary>IPv4 limits and defaults (every table and queue of the IPv4 layer is bounded by one of these).</summary>
public sealed class Ipv4Settings
{
    /// <summary>TTL of datagrams we originate (RFC 1700 / Linux net.ipv4.ip_default_ttl: 64).</summary>
    public byte DefaultHopLimit { get; init; } = 64;

    /// <summary>Routes the table holds.</summary>
    public int MaxRoutes { get; init; } = 1024;

    /// <summary>Addresses over all interfaces.</summary>
    public int MaxAddresses { get; init; } = 256;

    /// <summary>Reassembly limits (largest datagram, concurrent datagrams, bytes held, 30 s timeout).</summary>
    public ReassemblyLimits Reassembly { get; init; } = ReassemblyLimits.Default;

    /// <summary>Path-MTU estimates held (RFC 1191).</summary>
    public int MaxPathMtuEntries { get; init; } = 1024;

    /// <summary>Lifetime of a path-MTU estimate (RFC 1191 §6.3: 10 minutes).</summary>
    public TimeSpan PathMtuExpiry { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Lowest path MTU accepted from a report (RFC 1191: 68; Linux's min_pmtu is 552).</summary>
    public int MinPathMtu { get; init; } = 68;

    /// <summary>ICMP errors per second we generate (Linux net.ipv4.icmp_msgs_per_sec: 1000).</summary>
    public double IcmpErrorsPerSecond { get; init; } = 1000;

    /// <summary>Burst of ICMP errors allowed (Linux net.ipv4.icmp_msgs_burst: 50).</summary>
    public int IcmpErrorBurst { get; init; } = 50;

    /// <summary>Echo replies answer echo requests sent to a broadcast address (Linux icmp_echo_ignore_broadcasts=1: no).</summary>
    public bool ReplyToBroadcastEcho { get; init; }

    /// <summary>Gratuitous ARP announcements sent when an address is configured (RFC 5227 §2.3 sends 2).</summary>
    public int GratuitousArpCount { get; init; } = 2;

    /// <summary>ARP cache limits and timers per interface. Up to 64 packets wait per unresolved neighbour (Linux holds
    /// unres_qlen_bytes, about 140 full frames), so that a 64 KB datagram's 45 fragments survive resolution. Requests are
    /// retried with exponential back-off (RFC 7048-style): 3 requests, 1 s then 2 s apart, given up 4 s after the last
    /// (<see cref="NeighborCacheOptions.MaxMulticastSolicit"/>, <see cref="NeighborCacheOptions.RetransTimer"/>,
    /// <see cref="NeighborCacheOptions.RetransBackoffMultiple"/>, <see cref="NeighborCacheOptions.MaxRetransTimer"/>);
    /// never more than one request per second per destination (RFC 1122 §2.3.2.1), whatever is set here.</summary>
    public NeighborCacheOptions Arp { get; init; } = new() { MaxQueuedPackets = 64, RetransBackoffMultiple = 2, MaxRetransTimer = TimeSpan.FromSeconds(8) };

    /// <summary>Host routes learned from ICMP redirects (RFC 1122 §3.2.2.2); the oldest goes when a new one comes.</summary>
    public int MaxRedirectRoutes { get; init; } = 64;

    /// <summary>Multicast groups joined per interface (IGMP, RFC 3376); a join beyond it is refused and counted.</summary>
    public int MaxMulticastGroupsPerInterface { get; init; } = 64;

    /// <summary>Sources one group's filter may name (RFC 3376 §3 source lists; like Linux igmp_max_msf); more are refused and counted.</summary>
    public int MaxMulticastSourcesPerGroup { get; init; } = 64;

    /// <summary>Echo sockets open at once.</summary>
    public int MaxEchoSockets { get; init; } = 64;

    /// <summary>Replies and errors queued per echo socket before further ones are dropped.</summary>
    public int EchoSocketQueueLength { get; init; } = 64;

    /// <summary>
    /// Whether this stack sends ICMP error messages at all (time exceeded, unreachable...). A router with this off is
    /// "silent" to traceroute, like one that filters ICMP; echo replies are unaffected.
    /// </summary>
    public bool IcmpErrorsEnabled { get; init; } = true;

    /// <summary>
    /// An MPLS label stack appended (RFC 4950 over the RFC 4884 extension structure) to the time exceeded and
    /// destination unreachable messages this stack generates, as a label-switching router does; empty = none.
    /// </summary>
    public IReadOnlyList<Wire.MplsLabelEntry> IcmpExtensionMplsLabels { get; init; } = [];
}

/// <summary>Limits of a reassembly buffer; every one is enforced and counted when hit. IPv4's are these
/// (<see cref="Ipv4Settings.Reassembly"/>); IPv6 builds its own from its settings (the same engine serves both).</summary>
/// <param name="MaxDatagramSize">Largest reassembled datagram, header included (RFC 791: 65,535; IPv6 counts the Payload Length, RFC 8200 §4.5).</param>
/// <param name="MaxDatagrams">Datagrams under reassembly at once.</param>
/// <param name="MaxBytes">Bytes of buffer held by all datagrams together (Linux ipfrag_high_thresh is 4 MiB).</param>
/// <param name="Timeout">Lifetime of an incomplete datagram from its first fragment (RFC 1122 §3.3.2 suggests 60-120 s; Linux ipfrag_time is 30 s).</param>
/// <param name="MaxHolesPerDatagram">Disjoint received ranges one datagram may have (bounds the bookkeeping of tiny-fragment
/// floods; IPv6 keeps one range per fragment, so there it bounds the fragments).</param>
public readonly record struct ReassemblyLimits(
    int MaxDatagramSize = 65535,
    int MaxDatagrams = 64,
    long MaxBytes = 4 * 1024 * 1024,
    TimeSpan Timeout = default,
    int MaxHolesPerDatagram = 128)
{
    /// <summary>The defaults (a 30 s timeout, RFC 791's upper bound on a fragment's lifetime).</summary>
    public static ReassemblyLimits Default => new(Timeout: TimeSpan.FromSeconds(30));
    /// <summary>The timeout in force (30 s when none was set).</summary>
    public TimeSpan EffectiveTimeout => Timeout > TimeSpan.Zero ? Timeout : TimeSpan.FromSeconds(30);
}
