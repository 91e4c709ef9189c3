namespace NetStack.Transport.Tcp;

/// <summary>CUBIC (RFC 9438): window growth as a cubic function of time since the last congestion event,
/// with the Reno-friendly region (§4.3), fast convergence (§4.7) and the timeout rules (§4.8). Units: segments
/// internally, bytes at the interface.</summary>
internal sealed class CubicCongestionControl : ICongestionControl
{
    private const double C = 0.4;        // RFC 9438 §5
    private const double Beta = 0.7;     // RFC 9438 §4.6
    private static readonly double AlphaCubic = 3 * (1 - Beta) / (1 + Beta); // RFC 9438 §4.3

    private double _cwnd;                // bytes
    private double _ssthresh = double.MaxValue;
    private double _wMax;                // segments
    private double _wEst;                // segments
    private double _cwndPrior;           // segments: cwnd when ssthresh was last set (§4.3)
    private double _k;                   // seconds
    private Instant? _epochStart;
    private double _cwndEpoch;           // segments
    private bool _afterTimeout;          // §4.8: the first congestion avoidance stage after an RTO

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
            // RFC 9438 §4.2: a new congestion-avoidance epoch; W_est starts at cwnd_epoch (§4.3).
            _epochStart = now;
            _cwndEpoch = cwndSeg;
            _wEst = cwndSeg;
            if (_afterTimeout)
            {
                // RFC 9438 §4.8: after a timeout, K = 0 and W_max = cwnd at the start of this stage.
                _afterTimeout = false;
                _wMax = cwndSeg;
                _k = 0;
            }
            else
            {
                if (_wMax < cwndSeg) _wMax = cwndSeg;
                _k = Math.Cbrt((_wMax - _cwndEpoch) / C); // RFC 9438 eq. 2
            }
        }
        double t = (now - _epochStart.Value).TotalSeconds;
        double rtt = Math.Max(smoothedRttMicros, 1000) / 1e6;
        double segsAcked = ackedBytes / (double)mss;
        double wCubicNow = C * Math.Pow(t - _k, 3) + _wMax;
        // RFC 9438 eq. 4: the Reno-friendly estimate; α_cubic becomes 1 once W_est reaches cwnd_prior (§4.3).
        _wEst += (_wEst >= _cwndPrior ? 1.0 : AlphaCubic) * segsAcked / cwndSeg;
        double next;
        if (wCubicNow < _wEst)
        {
            next = _wEst; // RFC 9438 §4.3: Reno-friendly region, cwnd = W_est
        }
        else
        {
            // RFC 9438 §4.4/4.5: target W_cubic(t + RTT), clamped to [cwnd, 1.5 cwnd]; cwnd += (target - cwnd) / cwnd per segment.
            double target = Math.Clamp(C * Math.Pow(t + rtt - _k, 3) + _wMax, cwndSeg, 1.5 * cwndSeg);
            next = cwndSeg + (target - cwndSeg) * segsAcked / cwndSeg;
        }
        _cwnd = Math.Max(_cwnd, next * mss);
    }

    /// <summary>
    /// RFC 9438 §4.6: ssthresh = flight_size · β (at least 2 segments) and cwnd = ssthresh. The RFC allows cwnd in place of
    /// flight_size only where cwnd cannot outgrow what is in flight; ours can (up to 2x, RFC 7661), so the window that was
    /// really used, min(cwnd, flight_size), sets both ssthresh and W_max (§4.7 fast convergence).
    /// </summary>
    public void OnCongestionEvent(int bytesInFlight, int mss, Instant now)
    {
        double used = Math.Min(_cwnd, Math.Max(bytesInFlight, mss));
        SetWMax(used / mss);
        _ssthresh = Math.Max(used * Beta, 2.0 * mss);
        _cwndPrior = used / mss;
        _cwnd = _ssthresh;
        _epochStart = null;
        _afterTimeout = false;
    }

    public void OnRecoveryEnd(int mss, Instant now) => _cwnd = Math.Max(_ssthresh, 2.0 * mss);

    /// <summary>RFC 9438 §4.8: ssthresh as for a congestion event (β), cwnd = 1 segment (RFC 5681), and the next stage starts with K = 0.</summary>
    public void OnRetransmitTimeout(int bytesInFlight, int mss, Instant now)
    {
        double used = Math.Min(_cwnd, Math.Max(bytesInFlight, mss));
        SetWMax(used / mss);
        _ssthresh = Math.Max(used * Beta, 2.0 * mss);
        _cwndPrior = used / mss;
        _cwnd = mss;
        _epochStart = null;
        _afterTimeout = true;
    }

    // RFC 9438 §4.7 fast convergence: a flow whose W_max shrank releases bandwidth by remembering less.
    private void SetWMax(double windowSeg) => _wMax = windowSeg < _wMax ? windowSeg * (1 + Beta) / 2 : windowSeg;

    /// <summary>A window-based controller: no rate of its own (see <see cref="TcpSettings.Pacing"/>).</summary>
    public long PacingRate => 0;

    public void OnRateSample(in RateSample rs, in CongestionAckInfo info) { }
    public bool UsesRateSamples => false;
    public bool HoldsRateBelowPath => false;
    public bool SetsRecoveryWindow => false;
}
