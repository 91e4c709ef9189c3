namespace NetStack.Transport.Tcp;

/// <summary>
/// The retransmission timeout of RFC 6298: SRTT and RTTVAR smoothing (§2), clamping (§2.4, §2.5),
/// and exponential back-off (§5.5). Times in microseconds.
/// </summary>
internal sealed class RttEstimator
{
    private const long ClockGranularity = 1_000; // G = 1 ms
    private readonly long _min, _max;
    private long _srtt, _rttvar, _baseRto;
    private int _backoff;

    public RttEstimator(TimeSpan initial, TimeSpan min, TimeSpan max)
    {
        _min = min.Ticks / 10;
        _max = max.Ticks / 10;
        _baseRto = initial.Ticks / 10; // RFC 6298 §2.1
    }

    public bool HasSample { get; private set; }
    public long SmoothedMicros => _srtt;
    public long VarianceMicros => _rttvar;
    /// <summary>Current RTO including back-off.</summary>
    public long RtoMicros => Math.Min(_max, _baseRto << Math.Min(_backoff, 20));
    public int Backoffs => _backoff;

    public void Sample(long rtt)
    {
        if (rtt < 0) return;
        if (!HasSample)
        {
            // RFC 6298 §2.2: first measurement.
            _srtt = rtt;
            _rttvar = rtt / 2;
            HasSample = true;
        }
        else
        {
            // RFC 6298 §2.3: alpha = 1/8, beta = 1/4.
            _rttvar = (3 * _rttvar + Math.Abs(_srtt - rtt)) / 4;
            _srtt = (7 * _srtt + rtt) / 8;
        }
        _baseRto = Math.Clamp(_srtt + Math.Max(ClockGranularity, 4 * _rttvar), _min, _max);
        _backoff = 0; // a valid sample after back-off collapses it (RFC 6298 §5.7 note)
    }

    /// <summary>RFC 6298 §5.5: double the RTO on expiry.</summary>
    public void Backoff() => _backoff++;

    public void ResetBackoff() => _backoff = 0;

    /// <summary>
    /// RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP implementation is using an RTO
    /// less than 3 seconds, the RTO MUST be re-initialized to 3 seconds when data transmission begins". Without a sample
    /// (Karn's rule kept the handshake's out) after a back-off, the base RTO becomes at least 3 s.
    /// </summary>
    public void FallBackAfterSynTimeout()
    {
        if (_backoff > 0 && !HasSample) _baseRto = Math.Min(_max, Math.Max(_baseRto, 3_000_000));
    }
}
