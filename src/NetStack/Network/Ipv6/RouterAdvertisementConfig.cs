using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// A prefix a router advertises (RFC 4861 §6.2.1 AdvPrefixList; the Prefix Information option of §4.6.2). Defaults are
/// RFC 4861's: on-link, autonomous (SLAAC, RFC 4862), valid for 30 days, preferred for 7.
/// </summary>
public sealed record AdvertisedPrefix(Ipv6Cidr Prefix)
{
    /// <summary>The prefix's on-link flag (L, RFC 4861 §4.6.2).</summary>
    public bool OnLink { get; init; } = true;
    /// <summary>The prefix's autonomous flag (A): hosts may form addresses from it (RFC 4862 §5.5.3).</summary>
    public bool Autonomous { get; init; } = true;
    /// <summary>The prefix's valid lifetime.</summary>
    public TimeSpan ValidLifetime { get; init; } = TimeSpan.FromDays(30);
    /// <summary>The prefix's preferred lifetime.</summary>
    public TimeSpan PreferredLifetime { get; init; } = TimeSpan.FromDays(7);
}

/// <summary>
/// Makes a forwarding interface an advertising interface (RFC 4861 §6.2.1 AdvSendAdvertisements): the router sends
/// Router Advertisements with these values, unsolicited and in answer to Router Solicitations. Defaults are RFC 4861 §6.2.1's.
/// </summary>
public sealed record RouterAdvertisementConfig
{
    /// <summary>MaxRtrAdvInterval: 4 to 1800 s, default 600 s.</summary>
    public TimeSpan MaxInterval { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>
    /// MinRtrAdvInterval: 3 s to 0.75 × MaxInterval. Null = §6.2.1's default, 0.33 × MaxInterval when MaxInterval is at
    /// least 9 s; below that 0.75 × MaxInterval (the RFC's "MaxRtrAdvInterval" would break its own 0.75 bound; radvd does the same).
    /// </summary>
    public TimeSpan? MinInterval { get; init; }

    /// <summary>AdvManagedFlag (M: addresses by DHCPv6).</summary>
    public bool Managed { get; init; }

    /// <summary>AdvOtherConfigFlag (O: other configuration by DHCPv6).</summary>
    public bool OtherConfig { get; init; }

    /// <summary>AdvLinkMTU: sent in an MTU option when not 0.</summary>
    public uint LinkMtu { get; init; }

    /// <summary>AdvReachableTime: 0 = unspecified (hosts keep theirs); at most 3,600,000 ms.</summary>
    public TimeSpan ReachableTime { get; init; }

    /// <summary>AdvRetransTimer: 0 = unspecified.</summary>
    public TimeSpan RetransTimer { get; init; }

    /// <summary>AdvCurHopLimit: 64 (RFC 8200's recommended hop limit); 0 = unspecified.</summary>
    public byte CurHopLimit { get; init; } = 64;

    /// <summary>AdvDefaultLifetime: 0 (not a default router) or MaxInterval to 9000 s; null = 3 × MaxInterval.</summary>
    public TimeSpan? DefaultLifetime { get; init; }

    /// <summary>AdvPrefixList.</summary>
    public IReadOnlyList<AdvertisedPrefix> Prefixes { get; init; } = [];

    /// <summary>Recursive DNS servers sent in an RDNSS option (RFC 8106 §5.1).</summary>
    public IReadOnlyList<Ipv6Address> DnsServers { get; init; } = [];

    /// <summary>Lifetime of the RDNSS option; null = 3 × MaxInterval (RFC 8106 §5.1 suggests at least MaxRtrAdvInterval).</summary>
    public TimeSpan? DnsLifetime { get; init; }

    internal TimeSpan EffectiveMinInterval => MinInterval
        ?? (MaxInterval >= TimeSpan.FromSeconds(9) ? MaxInterval * 0.33 : MaxInterval * 0.75);

    internal TimeSpan EffectiveDefaultLifetime => DefaultLifetime ?? MaxInterval * 3;

    internal TimeSpan EffectiveDnsLifetime => DnsLifetime ?? MaxInterval * 3;

    /// <summary>The ranges of RFC 4861 §6.2.1 (and the field widths of §4.2); throws <see cref="ArgumentException"/>.</summary>
    internal void Validate()
    {
        if (MaxInterval < TimeSpan.FromSeconds(4) || MaxInterval > TimeSpan.FromSeconds(1800))
            throw new ArgumentException("MaxRtrAdvInterval must be 4 to 1800 seconds (RFC 4861 §6.2.1).", nameof(MaxInterval));
        var min = EffectiveMinInterval;
        if (min < TimeSpan.FromSeconds(3) || min > MaxInterval * 0.75)
            throw new ArgumentException("MinRtrAdvInterval must be 3 seconds to 0.75 × MaxRtrAdvInterval (RFC 4861 §6.2.1).", nameof(MinInterval));
        var life = EffectiveDefaultLifetime;
        if (life != TimeSpan.Zero && (life < MaxInterval || life > TimeSpan.FromSeconds(9000)))
            throw new ArgumentException("AdvDefaultLifetime must be 0 or MaxRtrAdvInterval to 9000 seconds (RFC 4861 §6.2.1).", nameof(DefaultLifetime));
        if (ReachableTime > TimeSpan.FromMilliseconds(3_600_000))
            throw new ArgumentException("AdvReachableTime must be at most 3,600,000 ms (RFC 4861 §6.2.1).", nameof(ReachableTime));
        foreach (var p in Prefixes)
            if (p.PreferredLifetime > p.ValidLifetime)
                throw new ArgumentException($"Prefix {p.Prefix}: the preferred lifetime exceeds the valid one (RFC 4861 §4.6.2).", nameof(Prefixes));
    }
}
