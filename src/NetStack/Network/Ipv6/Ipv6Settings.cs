using NetStack.Link;

namespace NetStack.Network.Ipv6;

/// <summary>IPv6 limits and defaults. Every table and queue of the IPv6 layer is bounded by one of these.</summary>
public sealed class Ipv6Settings
{
    /// <summary>Hop limit of datagrams we originate (RFC 4861 §6.3.2: until a router advertises CurHopLimit).</summary>
    public byte DefaultHopLimit { get; init; } = 64;

    /// <summary>How interface identifiers are formed: RFC 7217 stable opaque (default) or modified EUI-64.</summary>
    public InterfaceIdentifierMode InterfaceIdentifiers { get; init; } = InterfaceIdentifierMode.StableOpaque;

    /// <summary>The RFC 7217 secret_key (at least 128 bits); a random one is drawn from the stack's random source when null.</summary>
    public byte[]? StableIdentifierSecret { get; init; }

    /// <summary>DupAddrDetectTransmits (RFC 4862 §5.1); 0 disables duplicate address detection.</summary>
    public int DupAddrDetectTransmits { get; init; } = 1;

    /// <summary>
    /// RFC 4429 Optimistic DAD: a new address is usable at once, as an Optimistic address, while duplicate address
    /// detection runs: chosen as a source only like a deprecated one (§2.1), answering solicitations for it without the
    /// Override flag (§2.2.1), never advertising our link-layer address from it in a solicitation (§2.2.2, §2.4). A
    /// duplicate found later ends it as without the option. Off by default (RFC 4862 behaviour: tentative, unusable).
    /// </summary>
    public bool OptimisticDad { get; init; }

    /// <summary>Keep soliciting routers with RFC 7559 back-off after the first MAX_RTR_SOLICITATIONS.</summary>
    public bool RouterSolicitationBackoff { get; init; } = true;

    /// <summary>At most this many addresses per interface (RFC 4862 autoconfiguration and temporary addresses included).</summary>
    public int MaxAddressesPerInterface { get; init; } = 16;

    /// <summary>
    /// Temporary (privacy) addresses for SLAAC prefixes (RFC 8981). Off by default, as the Linux kernel's
    /// use_tempaddr = 0: a library stack is more often a server or an appliance than a browsing host.
    /// </summary>
    public TemporaryAddressMode TemporaryAddresses { get; init; } = TemporaryAddressMode.Off;

    /// <summary>RFC 8981 §3.8 TEMP_VALID_LIFETIME: 2 days.</summary>
    public TimeSpan TemporaryValidLifetime { get; init; } = TimeSpan.FromDays(2);

    /// <summary>RFC 8981 §3.8 TEMP_PREFERRED_LIFETIME: 1 day (at most TemporaryValidLifetime).</summary>
    public TimeSpan TemporaryPreferredLifetime { get; init; } = TimeSpan.FromDays(1);
    /// <summary>At most this many on-link prefixes learned from router advertisements.</summary>
    public int MaxPrefixes { get; init; } = 32;
    /// <summary>At most this many default routers (RFC 4861 §6.3.4).</summary>
    public int MaxDefaultRouters { get; init; } = 8;
    /// <summary>At most this many destination-cache entries.</summary>
    public int MaxDestinations { get; init; } = 1024;
    /// <summary>At most this many path-MTU entries (RFC 8201).</summary>
    public int MaxPathMtuEntries { get; init; } = 1024;
    /// <summary>At most this many multicast groups joined per interface.</summary>
    public int MaxMulticastGroupsPerInterface { get; init; } = 64;

    /// <summary>Sources one group's filter may name (RFC 3810 §3 source lists; like Linux mld_max_msf); more are refused and counted.</summary>
    public int MaxMulticastSourcesPerGroup { get; init; } = 64;
    /// <summary>At most this many DNS servers learned from RDNSS options (RFC 8106).</summary>
    public int MaxDnsServers { get; init; } = 8;

    /// <summary>RFC 8201 §4: a learned path MTU is forgotten after this long (at least 5 minutes; 10 recommended).</summary>
    public TimeSpan PathMtuAgeOut { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Packets being reassembled at once; the oldest is dropped for a new one.</summary>
    public int ReassemblyMaxPackets { get; init; } = 64;
    /// <summary>Bytes of fragment data held for reassembly in total.</summary>
    public int ReassemblyMaxBytes { get; init; } = 4 << 20;
    /// <summary>Fragments accepted for one packet.</summary>
    public int ReassemblyMaxFragments { get; init; } = 128;
    /// <summary>RFC 8200 §4.5: 60 seconds.</summary>
    public TimeSpan ReassemblyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>ICMPv6 echo sockets open at once (as <see cref="Ipv4.Ipv4Settings.MaxEchoSockets"/>).</summary>
    public int MaxEchoSockets { get; init; } = 64;

    /// <summary>Results an ICMPv6 echo socket queues (as <see cref="Ipv4.Ipv4Settings.EchoSocketQueueLength"/>).</summary>
    public int EchoSocketQueueLength { get; init; } = 64;

    /// <summary>The reassembly engine's limits from these settings: RFC 8200 §4.5 bounds the reassembled Payload Length by
    /// 65,535; the engine keeps one range per fragment under RFC 5722, so its range bound is the fragment bound.</summary>
    internal Ipv4.ReassemblyLimits ToReassemblyLimits() => new(MaxDatagramSize: 65535, MaxDatagrams: ReassemblyMaxPackets,
        MaxBytes: ReassemblyMaxBytes, Timeout: ReassemblyTimeout, MaxHolesPerDatagram: ReassemblyMaxFragments);

    /// <summary>RFC 4443 §2.4(f): ICMPv6 errors generated per second (token bucket rate) ...</summary>
    public double IcmpErrorsPerSecond { get; init; } = 100;
    /// <summary>... and burst.</summary>
    public double IcmpErrorBurst { get; init; } = 50;

    /// <summary>Neighbour cache limits and RFC 4861 timers. Up to 64 packets wait per unresolved neighbour (RFC 4861 §7.2.2
    /// asks for at least one; Linux holds about 100 frames), so a burst such as traceroute's 16 parallel probes survives resolution.</summary>
    public NeighborCacheOptions Neighbor { get; init; } = new() { MaxQueuedPackets = 64 };

    /// <summary>Whether this stack sends ICMPv6 error messages at all; off makes a router "silent" to traceroute.</summary>
    public bool IcmpErrorsEnabled { get; init; } = true;

    /// <summary>An MPLS label stack appended (RFC 4950 objects in an RFC 4884 extension) to the time exceeded and
    /// destination unreachable messages this stack generates, as a label-switching router does; empty = none.</summary>
    public IReadOnlyList<Wire.MplsLabelEntry> IcmpExtensionMplsLabels { get; init; } = [];

    /// <summary>Static routes at most (router mode).</summary>
    public int MaxRoutes { get; init; } = 1024;
}

/// <summary>Whether SLAAC also forms temporary addresses (RFC 8981) and whether sources prefer them (RFC 6724 rule 7).</summary>
public enum TemporaryAddressMode
{
    /// <summary>None (Linux use_tempaddr = 0).</summary>
    Off,
    /// <summary>Formed, but public addresses are preferred as sources (Linux use_tempaddr = 1).</summary>
    Generate,
    /// <summary>Formed and preferred as sources, RFC 6724 rule 7's default (Linux use_tempaddr = 2).</summary>
    Prefer,
}
