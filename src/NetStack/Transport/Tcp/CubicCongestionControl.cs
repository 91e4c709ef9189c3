namespace NetStack.Transport.Tcp;

/// <summary>CUBIC (RFC 9438): window growth as a cubic function of time since the last congestion event,
/// with the Reno-friendly region (§4.3) and fast convergence (§4.7). Units: segments internally.</summary>
public sealed class CubicCongestionControl : ICongestionControl
{
    private const double C = 0.4;        // RFC 9438 §5
    private const double Beta = 0.7;     // RFC 9438 §4.6
    private static readonly double Alpha = 3 * (1 - Beta) / (1 + Beta); // RFC 9438 §4.3

    private double _cwnd;                // bytes
    private double _ssthresh = double.MaxValue;
    private double _wMax;                // segments
    private double _wEst;                // segments
    private double _k;                   // seconds
    private Instant? _epochStart;
    private double _cwndEpoch;           // segments

    public int Window => (int)Math.Min(_cwnd, int.MaxValue);
    public int SlowStartThreshold => (int)Math.Min(_ssthresh, int.MaxValue);

    public void Initialize(int mss) => _cwnd = Math.Min(10.0 * mss, Math.Max(2.0 * mss, 14600));

    public void OnAck(int ackedBytes, int mss, int bytesInFlight, long smoothedRttMicros, Instant now)
    {
        // RFC 7661 §4.3: do not grow a window the sender is not using (application or receiver limited).
        if (bytesInFlight < _cwnd / 2) return;
        if (_cwnd < _ssthresh)
        {
            _cwnd += Math.Min(ackedBytes, 2 * mss); // RFC 9438 §4.10: standard slow start
            return;
        }
        double cwndSeg = _cwnd / mss;
        if (_epochStart is null)
        {
            // RFC 9438 §4.2: a new congestion-avoidance epoch.
            _epochStart = now;
            _cwndEpoch = cwndSeg;
            _wEst = cwndSeg;
            if (_wMax < cwndSeg) _wMax = cwndSeg;
            _k = Math.Cbrt((_wMax - _cwndEpoch) / C); // RFC 9438 eq. 2
        }
        double t = (now - _epochStart.Value).TotalSeconds;
        double rtt = Math.Max(smoothedRttMicros, 1000) / 1e6;
        double wCubicNow = C * Math.Pow(t - _k, 3) + _wMax;
        // RFC 9438 §4.2: target is W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd].
        double target = Math.Clamp(C * Math.Pow(t + rtt - _k, 3) + _wMax, cwndSeg, 1.5 * cwndSeg);
        // RFC 9438 eq. 4: Reno-friendly estimate.
        _wEst += Alpha * (ackedBytes / (double)mss) / cwndSeg;
        double next;
        if (wCubicNow < _wEst) next = cwndSeg + Math.Max(0, _wEst - cwndSeg) * (ackedBytes / (double)mss) / cwndSeg; // §4.3
        else next = cwndSeg + (target - cwndSeg) * (ackedBytes / (double)mss) / cwndSeg; // §4.4/4.5
        _cwnd = Math.Max(_cwnd, next * mss);
    }

    public void OnCongestionEvent(int bytesInFlight, int mss, Instant now)
    {
        double cwndSeg = _cwnd / mss;
        // RFC 9438 §4.7 fast convergence.
        _wMax = cwndSeg < _wMax ? cwndSeg * (1 + Beta) / 2 : cwndSeg;
        // RFC 9438 §4.6: ssthresh = cwnd * beta, at least 2 segments.
        _ssthresh = Math.Max(_cwnd * Beta, 2.0 * mss);
        _cwnd = _ssthresh;
        _epochStart = null;
    }

    public void OnRecoveryEnd(int mss, Instant now) => _cwnd = Math.Max(_ssthresh, 2.0 * mss);

    public void OnRetransmitTimeout(int bytesInFlight, int mss, Instant now)
    {
        // RFC 9438 §4.8: like a congestion event, then cwnd = 1 segment (RFC 5681).
        double cwndSeg = _cwnd / mss;
        _wMax = cwndSeg < _wMax ? cwndSeg * (1 + Beta) / 2 : cwndSeg;
        _ssthresh = Math.Max(Math.Min(_cwnd, Math.Max(bytesInFlight, mss)) * Beta, 2.0 * mss);
        _cwnd = mss;
        _epochStart = null;
    }
}
