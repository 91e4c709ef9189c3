namespace NetStack.Transport.Tcp;

/// <summary>Slow start and congestion avoidance of RFC 5681 with the NewReno window rules of RFC 6582.</summary>
internal sealed class NewRenoCongestionControl : ICongestionControl
{
    private long _cwnd, _ssthresh = int.MaxValue, _avoidanceCredit;

    public int Window => (int)Math.Min(_cwnd, int.MaxValue);
    public int SlowStartThreshold => (int)Math.Min(_ssthresh, int.MaxValue);

    // RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)).
    public void Initialize(int mss) => _cwnd = Math.Min(10L * mss, Math.Max(2L * mss, 14600));

    public void OnAck(int ackedBytes, int mss, int bytesInFlight, long smoothedRttMicros, Instant now)
    {
        // RFC 7661 §4.3: do not grow a window the sender is not using (application or receiver limited).
        if (bytesInFlight < _cwnd / 2) return;
        if (_cwnd < _ssthresh)
        {
            // RFC 5681 §3.1 with RFC 3465 byte counting, L = 2 SMSS.
            _cwnd += Math.Min(ackedBytes, 2 * mss);
            return;
        }
        // RFC 5681 §3.1 eq. 3: about one SMSS per RTT.
        _avoidanceCredit += ackedBytes;
        if (_avoidanceCredit >= _cwnd)
        {
            _avoidanceCredit -= _cwnd;
            _cwnd += mss;
        }
    }

    public void OnCongestionEvent(int bytesInFlight, int mss, Instant now)
    {
        // RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS); RFC 6675 pipe-based recovery then uses cwnd = ssthresh.
        _ssthresh = Math.Max(bytesInFlight / 2, 2 * mss);
        _cwnd = _ssthresh;
        _avoidanceCredit = 0;
    }

    public void OnRecoveryEnd(int mss, Instant now) => _cwnd = _ssthresh; // RFC 6582 §3.2 step 3 (deflate)

    public void OnRetransmitTimeout(int bytesInFlight, int mss, Instant now)
    {
        // RFC 5681 §3.1 eq. 4 and: cwnd = loss window = 1 SMSS.
        _ssthresh = Math.Max(bytesInFlight / 2, 2 * mss);
        _cwnd = mss;
        _avoidanceCredit = 0;
    }

    /// <summary>A window-based controller: no rate of its own (see <see cref="TcpSettings.Pacing"/>).</summary>
    public long PacingRate => 0;

    public void OnRateSample(in RateSample rs, in CongestionAckInfo info) { }
    public bool UsesRateSamples => false;
    public bool HoldsRateBelowPath => false;
    public bool SetsRecoveryWindow => false;
}
