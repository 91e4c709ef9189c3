namespace NetStack.Network.Ipv6;

/// <summary>
/// Protocol constants of RFC 4861 §10, RFC 4862 §5.1, RFC 7559 §2 and RFC 3810 §9. Values that a router
/// advertisement may override (reachable time, retransmission timer) are only defaults here.
/// </summary>
internal static class NdpConstants
{
    // RFC 4861 §10, host constants.
    public static readonly TimeSpan MaxRtrSolicitationDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan RtrSolicitationInterval = TimeSpan.FromSeconds(4);
    public const int MaxRtrSolicitations = 3;

    // RFC 7559 §2: retransmissions continue with exponential back-off up to this interval.
    public static readonly TimeSpan MaxRtrSolicitationInterval = TimeSpan.FromSeconds(3600);

    // RFC 4861 §10, node constants.
    public const int MaxMulticastSolicit = 3;
    public const int MaxUnicastSolicit = 3;
    public const int MaxNeighborAdvertisement = 3;
    public static readonly TimeSpan ReachableTime = TimeSpan.FromMilliseconds(30_000);
    public static readonly TimeSpan RetransTimer = TimeSpan.FromMilliseconds(1_000);
    public static readonly TimeSpan DelayFirstProbeTime = TimeSpan.FromSeconds(5);
    public const double MinRandomFactor = 0.5;
    public const double MaxRandomFactor = 1.5;

    // RFC 4861 §10, router constants (used when we forward).
    public static readonly TimeSpan MinDelayBetweenRas = TimeSpan.FromSeconds(3);

    /// <summary>RFC 4862 §5.5.3 e): the "two hours" rule.</summary>
    public static readonly TimeSpan TwoHours = TimeSpan.FromHours(2);

    /// <summary>Lifetime value 0xffffffff means infinity (RFC 4861 §4.6.2).</summary>
    public const uint InfiniteLifetime = 0xFFFF_FFFF;

    /// <summary>A lifetime in seconds from an option, as a span (infinite = <see cref="TimeSpan.MaxValue"/>).</summary>
    public static TimeSpan Lifetime(uint seconds) =>
        seconds == InfiniteLifetime ? TimeSpan.MaxValue : TimeSpan.FromSeconds(seconds);

    /// <summary>now + lifetime, infinite when the lifetime is.</summary>
    public static Instant Expiry(Instant now, uint seconds) =>
        seconds == InfiniteLifetime ? Instant.MaxValue : now + TimeSpan.FromSeconds(seconds);

    /// <summary>RFC 4861 §6.3.2: ReachableTime is BaseReachableTime times a uniform random factor in [0.5, 1.5].</summary>
    public static TimeSpan RandomizedReachableTime(TimeSpan baseTime, IRandomSource random)
    {
        double f = MinRandomFactor + random.NextDouble() * (MaxRandomFactor - MinRandomFactor);
        return TimeSpan.FromTicks((long)(baseTime.Ticks * f));
    }
}
