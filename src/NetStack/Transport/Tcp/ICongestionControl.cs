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

    /// <summary>
    /// The rate the sender paces at, in bytes per second, or 0 when this controller does not set one (a window-based
    /// controller: the connection then paces only when <see cref="TcpSettings.Pacing"/> asks for it, at Linux's
    /// default cwnd/SRTT ratio).
    /// </summary>
    long PacingRate { get; }

    /// <summary>
    /// One delivery rate sample per ACK that delivered data (draft-cheng-iccrg-delivery-rate-estimation §3.1.3),
    /// with the connection's state after the ACK: what a rate-based controller (BBR) runs on. Called after
    /// <see cref="OnAck"/> / <see cref="OnCongestionEvent"/> for the same ACK.
    /// </summary>
    void OnRateSample(in RateSample rs, in CongestionAckInfo info);

    /// <summary>
    /// True when this controller reads <see cref="OnRateSample"/> (a rate-based controller, BBR): only then does the
    /// connection run the delivery rate estimator's per-ACK work (Linux calls tcp_rate_gen only for a controller with
    /// cong_control). Fixed for the controller's life.
    /// </summary>
    bool UsesRateSamples { get; }

    /// <summary>
    /// True while the controller deliberately sends below the path's rate (BBR's ProbeRTT): the connection marks what is in
    /// flight application limited, so that those low-rate samples are not taken for the path's
    /// (draft-cheng-iccrg-delivery-rate-estimation §3.2, as tcp_bbr.c does in ProbeRTT).
    /// </summary>
    bool HoldsRateBelowPath { get; }

    /// <summary>
    /// True when the controller sets the window itself during fast recovery (BBR's packet conservation,
    /// draft-cardwell-iccrg-bbr §4.2.3.4), so Proportional Rate Reduction (RFC 9937) stays out, as Linux skips
    /// tcp_cwnd_reduction for a controller with its own cong_control. Fixed for the controller's life.
    /// </summary>
    bool SetsRecoveryWindow { get; }
}

/// <summary>The connection state a rate-based controller reads on each ACK (bytes and µs).</summary>
/// <param name="Now">The ACK's arrival.</param>
/// <param name="Mss">The sender MSS.</param>
/// <param name="Inflight">Bytes in flight after the ACK (RFC 6675 pipe).</param>
/// <param name="NewlyLost">Bytes newly deemed lost by this ACK.</param>
/// <param name="Delivered">C.delivered after the ACK.</param>
/// <param name="RttMicros">The RTT sample this ACK gave, or -1.</param>
/// <param name="InRecovery">Fast recovery or RTO recovery is under way.</param>
internal readonly record struct CongestionAckInfo(Instant Now, int Mss, int Inflight, long NewlyLost, long Delivered, long RttMicros, bool InRecovery);

internal static class CongestionControlFactory
{
    public static ICongestionControl Create(CongestionAlgorithm algorithm) => algorithm switch
    {
        CongestionAlgorithm.NewReno => new NewRenoCongestionControl(),
        CongestionAlgorithm.Bbr => new BbrCongestionControl(),
        _ => new CubicCongestionControl(),
    };
}
