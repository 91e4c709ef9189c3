namespace NetStack.Transport.Tcp;

/// <summary>
/// Stack-wide TCP defaults; each connection copies them when created and some can then be changed
/// per connection (NoDelay, KeepAlive, buffer sizes, congestion algorithm).
/// </summary>
public sealed record TcpSettings
{
    public int SendBufferSize { get; init; } = 64 * 1024;
    public int ReceiveBufferSize { get; init; } = 64 * 1024;
    public bool NoDelay { get; init; }
    public CongestionAlgorithm Congestion { get; init; } = CongestionAlgorithm.Cubic;
    /// <summary>RFC 7323 window scaling offered.</summary>
    public bool WindowScaling { get; init; } = true;
    /// <summary>RFC 7323 timestamps offered.</summary>
    public bool Timestamps { get; init; } = true;
    /// <summary>RFC 2018 SACK offered.</summary>
    public bool Sack { get; init; } = true;
    /// <summary>
    /// RFC 8985 RACK-TLP loss detection (needs SACK): a segment is lost once a later-sent one is delivered and an RTT plus a
    /// reordering window has passed. Off: the DupThresh = 3 rules of RFC 5681 / RFC 6675. The tail loss probe is on either way.
    /// </summary>
    public bool Rack { get; init; } = true;
    /// <summary>
    /// RACK.min_RTT (RFC 8985 §6.2) is the minimum RTT seen over this much time (a windowed minimum, as the RFC allows;
    /// Linux's <c>tcp_min_rtt_wlen</c> is 300 s), so that a lasting RTT increase eventually raises it.
    /// </summary>
    public TimeSpan MinRttWindow { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>
    /// Proportional Rate Reduction (RFC 9937, formerly RFC 6937) governs how much is sent during fast recovery: the
    /// flight falls to ssthresh in proportion to the data delivered, and after heavy loss grows back toward it no faster
    /// than slow start. Off: RFC 6675's rule, cwnd = ssthresh on entry and send while pipe stays below it.
    /// </summary>
    public bool ProportionalRateReduction { get; init; } = true;
    /// <summary>
    /// PRR's bound when pipe has fallen to ssthresh or below: RFC 9937's (the default: one extra segment per ACK only on
    /// ACKs that advance SND.UNA with no new loss), or RFC 6937's slow start on every ACK, which under heavy random loss in
    /// small windows sends the segment that lets RACK find a lost retransmission without a timeout (bench/README.md).
    /// </summary>
    public PrrReductionBound PrrBound { get; init; } = PrrReductionBound.Rfc9937;
    /// <summary>RFC 6298 §2.1: 1 s.</summary>
    public TimeSpan InitialRto { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>RFC 6298 §2.4 says 1 s; like Linux we default to 200 ms.</summary>
    public TimeSpan MinRto { get; init; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>SYN (or SYN-ACK) retransmissions before giving up (RFC 1122 §4.2.3.5 R2 for SYN: at least 3 minutes is suggested; we count).</summary>
    public int MaxSynRetries { get; init; } = 6;
    /// <summary>Consecutive data retransmission timeouts before the connection times out (R2).</summary>
    public int MaxRetries { get; init; } = 15;
    /// <summary>RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: delayed ACK must be under 0.5 s.</summary>
    public TimeSpan DelayedAck { get; init; } = TimeSpan.FromMilliseconds(40);
    /// <summary>2 MSL (RFC 9293 §3.4.2); configurable.</summary>
    public TimeSpan TimeWait { get; init; } = TimeSpan.FromSeconds(60);
    public bool KeepAlive { get; init; }
    /// <summary>RFC 1122 §4.2.3.6: at least two hours by default.</summary>
    public TimeSpan KeepAliveIdle { get; init; } = TimeSpan.FromHours(2);
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(75);
    public int KeepAliveProbes { get; init; } = 9;
    /// <summary>
    /// Half-open (SYN-RECEIVED) connections per listener before SYN cookies are used; null (the default) bounds the SYN
    /// queue by the listen backlog, as Linux does when SYN cookies are on (<c>inet_csk_reqsk_queue_is_full</c>).
    /// </summary>
    public int? SynQueueLength { get; init; }
    /// <summary>RFC 4987: answer with SYN cookies when the SYN queue or accept queue is full.</summary>
    public bool SynCookies { get; init; } = true;
    /// <summary>Out-of-order ranges the receive side keeps.</summary>
    public int ReassemblyRanges { get; init; } = 8;
    /// <summary>RFC 5961 §7: challenge ACKs per second for the whole stack.</summary>
    public int ChallengeAckLimit { get; init; } = 100;
    /// <summary>Connections (all states) the table holds.</summary>
    public int MaxConnections { get; init; } = 65536;
}
