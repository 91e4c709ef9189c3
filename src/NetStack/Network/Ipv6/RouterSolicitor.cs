namespace NetStack.Network.Ipv6;

/// <summary>
/// When to send Router Solicitations (RFC 4861 §6.3.7, extended by RFC 7559): a random initial delay in
/// [0, MAX_RTR_SOLICITATION_DELAY]; the first MAX_RTR_SOLICITATIONS sent RTR_SOLICITATION_INTERVAL apart as
/// RFC 4861 requires; then, when <see cref="ContinueWithBackoff"/> is set, RFC 7559 exponential back-off
/// (RT = 2 RTprev + RAND RTprev, RAND in [-0.1, 0.1], capped at MAX_RTR_SOLICITATION_INTERVAL) until a
/// Router Advertisement arrives. Pure.
/// </summary>
internal sealed class RouterSolicitor
{
    private readonly IRandomSource _random;
    private TimeSpan _interval;

    public RouterSolicitor(IRandomSource random, bool continueWithBackoff)
    {
        _random = random;
        ContinueWithBackoff = continueWithBackoff;
    }

    public bool ContinueWithBackoff { get; }
    public Instant NextDeadline { get; private set; } = Instant.MaxValue;
    public int Sent { get; private set; }
    public bool IsActive => NextDeadline != Instant.MaxValue;

    /// <summary>Starts (or restarts) solicitation: the first one after a random delay (RFC 4861 §6.3.7).</summary>
    public void Start(Instant now)
    {
        Sent = 0;
        _interval = NdpConstants.RtrSolicitationInterval;
        var delay = TimeSpan.FromTicks((long)(_random.NextDouble() * NdpConstants.MaxRtrSolicitationDelay.Ticks));
        NextDeadline = now + delay;
    }

    /// <summary>RFC 4861 §6.3.7: once a valid Router Advertisement has been received, solicitation stops.</summary>
    public void Stop() => NextDeadline = Instant.MaxValue;

    /// <summary>True when a solicitation is due now; the caller sends it. Schedules the next.</summary>
    public bool Poll(Instant now)
    {
        if (now < NextDeadline) return false;
        Sent++;
        if (Sent < NdpConstants.MaxRtrSolicitations)
        {
            NextDeadline = now + NdpConstants.RtrSolicitationInterval;
        }
        else if (ContinueWithBackoff)
        {
            // RFC 7559 §2: RT = 2*RTprev + RAND*RTprev, RAND uniform in [-0.1, +0.1]; RT = MRT + RAND*MRT when above MRT.
            double rand = (_random.NextDouble() * 0.2) - 0.1;
            var next = TimeSpan.FromTicks((long)(_interval.Ticks * (2 + rand)));
            var max = NdpConstants.MaxRtrSolicitationInterval;
            if (next > max) next = TimeSpan.FromTicks((long)(max.Ticks * (1 + rand)));
            _interval = next;
            NextDeadline = now + next;
        }
        else
        {
            NextDeadline = Instant.MaxValue;
        }
        return true;
    }
}
