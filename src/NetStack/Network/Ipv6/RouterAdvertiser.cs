namespace NetStack.Network.Ipv6;

/// <summary>
/// When an advertising interface sends Router Advertisements (RFC 4861 §6.2.4 and §6.2.6). Unsolicited ones at random
/// intervals in [MinRtrAdvInterval, MaxRtrAdvInterval], the first MAX_INITIAL_RTR_ADVERTISEMENTS at most
/// MAX_INITIAL_RTR_ADVERT_INTERVAL apart; a solicitation is answered after a random delay of at most MAX_RA_DELAY_TIME,
/// and never sooner than MIN_DELAY_BETWEEN_RAS after the previous multicast advertisement. Pure: time and randomness in.
/// </summary>
internal sealed class RouterAdvertiser(RouterAdvertisementConfig config, IRandomSource random)
{
    // RFC 4861 §10, router constants.
    public const int MaxInitialRtrAdvertisements = 3;
    public const int MaxFinalRtrAdvertisements = 3;
    public static readonly TimeSpan MaxInitialRtrAdvertInterval = TimeSpan.FromSeconds(16);
    public static readonly TimeSpan MaxRaDelayTime = TimeSpan.FromMilliseconds(500);

    private Instant _lastSent;

    private int _finalLeft;

    public RouterAdvertisementConfig Config { get; } = config;

    /// <summary>True once <see cref="Cease"/> was called: the advertisements left carry a router lifetime of 0.</summary>
    public bool Ceasing { get; private set; }
    public Instant NextDeadline { get; private set; } = Instant.MaxValue;
    public int Sent { get; private set; }

    /// <summary>The interface became an advertising one (its link-local address is usable): the first advertisement now.</summary>
    public void Start(Instant now)
    {
        if (!Ceasing && NextDeadline == Instant.MaxValue) NextDeadline = now;
    }

    /// <summary>
    /// RFC 4861 §6.2.6: a valid Router Solicitation. The answer goes to all-nodes after a random delay in
    /// [0, MAX_RA_DELAY_TIME], and not before MIN_DELAY_BETWEEN_RAS after the last multicast advertisement; an
    /// advertisement already due sooner answers it too.
    /// </summary>
    public void OnSolicitation(Instant now)
    {
        if (Ceasing) return;
        if (Sent == 0 && NextDeadline == Instant.MaxValue) return; // not advertising yet: the first advertisement will come
        var at = now + TimeSpan.FromTicks((long)(random.NextDouble() * MaxRaDelayTime.Ticks));
        if (Sent > 0 && at < _lastSent + NdpConstants.MinDelayBetweenRas) at = _lastSent + NdpConstants.MinDelayBetweenRas;
        if (at < NextDeadline) NextDeadline = at;
    }

    /// <summary>
    /// RFC 4861 §6.2.5: the interface stops advertising. If it has advertised, MAX_FINAL_RTR_ADVERTISEMENTS final ones
    /// with a router lifetime of 0 follow (the first at once, then MIN_DELAY_BETWEEN_RAS apart), so that hosts drop us
    /// as a default router at once instead of when the lifetime runs out; then nothing more.
    /// </summary>
    public void Cease(Instant now)
    {
        if (Ceasing) return;
        Ceasing = true;
        _finalLeft = Sent > 0 ? MaxFinalRtrAdvertisements : 0;
        NextDeadline = _finalLeft > 0 ? now : Instant.MaxValue;
    }

    /// <summary>True when an advertisement is due now (the caller sends it); schedules the next unsolicited one.</summary>
    public bool Poll(Instant now)
    {
        if (now < NextDeadline) return false;
        _lastSent = now;
        Sent++;
        if (Ceasing)
        {
            NextDeadline = --_finalLeft > 0 ? now + NdpConstants.MinDelayBetweenRas : Instant.MaxValue;
            return true;
        }
        // RFC 4861 §6.2.4: uniformly distributed in [MinRtrAdvInterval, MaxRtrAdvInterval]; the initial ones capped.
        var min = Config.EffectiveMinInterval;
        var interval = min + TimeSpan.FromTicks((long)(random.NextDouble() * (Config.MaxInterval - min).Ticks));
        if (Sent < MaxInitialRtrAdvertisements && interval > MaxInitialRtrAdvertInterval) interval = MaxInitialRtrAdvertInterval;
        NextDeadline = now + interval;
        return true;
    }
}
