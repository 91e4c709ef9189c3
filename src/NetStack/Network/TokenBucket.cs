namespace NetStack.Network;

/// <summary>
/// A token bucket in stack time: <see cref="TryTake"/> succeeds while tokens remain, tokens refill at
/// <see cref="RatePerSecond"/> up to <see cref="Burst"/>. Used to rate-limit generated ICMP errors
/// (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)) and challenge ACKs (RFC 5961 §7).
/// </summary>
internal sealed class TokenBucket
{
    private double _tokens;
    private Instant _last;
    private bool _started;

    public TokenBucket(double ratePerSecond, double burst)
    {
        if (ratePerSecond < 0) throw new ArgumentOutOfRangeException(nameof(ratePerSecond));
        if (burst < 1) throw new ArgumentOutOfRangeException(nameof(burst));
        RatePerSecond = ratePerSecond;
        Burst = burst;
        _tokens = burst;
    }

    public double RatePerSecond { get; }
    public double Burst { get; }

    /// <summary>Takes one token if available at <paramref name="now"/>.</summary>
    public bool TryTake(Instant now)
    {
        Refill(now);
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }

    private void Refill(Instant now)
    {
        if (!_started) { _started = true; _last = now; return; }
        if (now <= _last) return;
        _tokens = Math.Min(Burst, _tokens + (now - _last).TotalSeconds * RatePerSecond);
        _last = now;
    }
}
