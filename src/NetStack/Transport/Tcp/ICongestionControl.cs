namespace NetStack.Transport.Tcp;

/// <summary>
/// A congestion controller (cwnd and ssthresh in bytes). The connection calls it on new data acked
/// outside fast recovery, on entering fast recovery, and on a retransmission timeout; loss recovery
/// itself (which segments to resend, the pipe) is the connection's business (RFC 6675).
/// </summary>
internal interface ICongestionControl
{
    int Window { get; }
    int SlowStartThreshold { get; }

    /// <summary>RFC 5681 §3.1 / RFC 6928 initial window for sender MSS <paramref name="mss"/>.</summary>
    void Initialize(int mss);

    /// <summary>New data acked (not during fast recovery).</summary>
    void OnAck(int ackedBytes, int mss, int bytesInFlight, long smoothedRttMicros, Instant now);

    /// <summary>Loss detected by duplicate ACKs / SACK: entering fast recovery.</summary>
    void OnCongestionEvent(int bytesInFlight, int mss, Instant now);

    /// <summary>Fast recovery ended with a full ACK.</summary>
    void OnRecoveryEnd(int mss, Instant now);

    /// <summary>The retransmission timer expired.</summary>
    void OnRetransmitTimeout(int bytesInFlight, int mss, Instant now);
}

internal static class CongestionControlFactory
{
    public static ICongestionControl Create(CongestionAlgorithm algorithm) => algorithm switch
    {
        CongestionAlgorithm.NewReno => new NewRenoCongestionControl(),
        _ => new CubicCongestionControl(),
    };
}
