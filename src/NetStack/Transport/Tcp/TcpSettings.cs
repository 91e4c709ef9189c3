namespace NetStack.Transport.Tcp;

/// <summary>
/// Stack-wide TCP defaults; each connection copies them when created and some can then be changed
/// per connection (NoDelay, KeepAlive, buffer sizes, congestion algorithm).
/// </summary>
public sealed record TcpSettings
{
    /// <summary>Bytes of the send buffer each connection starts with (auto-tuning may raise it: <see cref="SendBufferMax"/>).</summary>
    public int SendBufferSize { get; init; } = 64 * 1024;
    /// <summary>
    /// Send-buffer auto-tuning (as Linux's <c>tcp_sndbuf_expand</c>, up to <c>tcp_wmem</c>'s maximum, 4 MB by default there
    /// too): when the application found the send buffer full and an acknowledgment then shows that neither the congestion
    /// window nor the peer's window is what limits the flight, the buffer grows to the smaller of twice the congestion
    /// window and the peer's window, up to this bound, so that a bulk sender keeps more than one buffer's worth in flight.
    /// Storage is still taken only as data is queued and given back once everything is acknowledged. At or below
    /// <see cref="SendBufferSize"/>: no auto-tuning (a socket's explicit send buffer, like Linux's <c>SO_SNDBUF</c>, turns it off).
    /// </summary>
    public int SendBufferMax { get; init; } = 4 * 1024 * 1024;
    /// <summary>
    /// The receive buffer a connection starts with (bytes): it bounds the advertised window until auto-tuning raises it
    /// (<see cref="ReceiveBufferMax"/>).
    /// </summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024;
    /// <summary>
    /// Receive-buffer auto-tuning (dynamic right-sizing, as Linux's <c>tcp_rcv_space_adjust</c> with <c>tcp_rmem</c>'s
    /// maximum, 6 MB by default there too): once per receiver-measured round trip, when the application consumed more than
    /// in the previous one, the buffer (and so the window, RFC 7323 §2) grows to twice what was consumed plus 16 segments,
    /// more while the sender is still speeding up, up to this bound. Storage is still taken only as data arrives and given
    /// back when read, so an idle or slowly read connection keeps its small footprint. The window-scale option offered
    /// is chosen for this bound (RFC 7323 §2.2: it cannot change later). At or below <see cref="ReceiveBufferSize"/>:
    /// no auto-tuning (a socket's explicit receive buffer, like Linux's <c>SO_RCVBUF</c>, turns it off).
    /// </summary>
    public int ReceiveBufferMax { get; init; } = 6 * 1024 * 1024;
    /// <summary>Turns off Nagle's algorithm (RFC 9293 §3.7.4): small segments leave at once.</summary>
    public bool NoDelay { get; init; }

    /// <summary>
    /// Send super-segments (TSO/GSO): new data goes to the network layer in segments of up to 64 KB cut into MSS-sized
    /// pieces by the device or in software, where the network layer takes them (<c>IIpLayer.TransmitOffloads</c>).
    /// The wire carries the same segments either way; off, TCP hands down one MSS at a time.
    /// </summary>
    public bool SegmentationOffload { get; init; } = true;
    /// <summary>The congestion control algorithm.</summary>
    public CongestionAlgorithm Congestion { get; init; } = CongestionAlgorithm.Cubic;
    /// <summary>
    /// Pace a window-based controller's (CUBIC, NewReno) sending at Linux's default rate: 2·cwnd/SRTT in slow start
    /// (below half of ssthresh), 1.2·cwnd/SRTT after (net.ipv4.tcp_pacing_ss_ratio / tcp_pacing_ca_ratio). Off by
    /// default (window-clocked bursts, as before). BBR always paces at its own rate.
    /// </summary>
    public bool Pacing { get; init; }
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
    /// Segments of new data a tail loss probe sends (RFC 8985 §7.3 sends one). 2 (the default): the receiver must
    /// acknowledge a second full segment at once (RFC 9293 §3.8.6.3, RFC 5681 §4.2) where it may delay the ACK of a lone
    /// one by 40 ms or more, which on a lossy LAN, after a lost ACK, is most probes' cost (bench/README.md). 1: the RFC's.
    /// </summary>
    public int TailLossProbeSegments { get; init; } = 2;
    /// <summary>
    /// The least probe timeout (RFC 8985 §7.2's PTO = 2·SRTT is raised to this), for timer granularity: QUIC floors its
    /// PTO at kGranularity = 1 ms (RFC 9002 §6.1.2, §6.2.1), Linux adds TCP_TIMEOUT_MIN (2 ms) to 2·SRTT. On a LAN, where
    /// SRTT is a fraction of a millisecond and a lost ACK of a whole flight stalls the sender until the probe, this floor
    /// is most of what each such loss costs (bench/README.md, "Loss recovery on a lossy LAN"). The runtime's timers are
    /// precise to microseconds (ppoll); a probe that comes too early costs at most its two segments (new data) or one.
    /// </summary>
    public TimeSpan TailLossProbeMinimum { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>
    /// Probes sent for one stalled tail before it is left to the RTO (the first included). RFC 8985 §7.3 sends one; when
    /// nothing at all answers it (the probe or its ACK lost, 1 in 10 at 5 % loss each way), the next probe goes after the
    /// PTO backed off exponentially (as QUIC's repeated PTOs, RFC 9002 §6.2.1), as long as that is before the RTO, which the
    /// first probe re-armed and which still fires if every probe goes unanswered. 1: the RFC's single probe.
    /// </summary>
    public int MaxTailLossProbes { get; init; } = 8;
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
    /// <summary>The upper bound of the retransmission timeout (RFC 6298 §2.5 allows one of at least 60 s).</summary>
    public TimeSpan MaxRto { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>
    /// SYN retransmissions of an active open before it times out (R2 for a SYN). RFC 9293 §3.8.3 MUST-23: "large enough
    /// to provide retransmission of the segment for at least 3 minutes": 7 with the default RTOs (1 s doubling, capped at
    /// 60 s) sends the last SYN at 123 s and gives up at 183 s.
    /// </summary>
    public int MaxSynRetries { get; init; } = 7;
    /// <summary>SYN,ACK retransmissions of a passive open before the half-open connection is dropped (Linux tcp_synack_retries).</summary>
    public int MaxSynAckRetries { get; init; } = 5;
    /// <summary>
    /// Consecutive data retransmission timeouts before the connection times out: R2 of RFC 9293 §3.8.3 (SHLD-11: at least
    /// 100 s; 15 is Linux's tcp_retries2, about 15 minutes). Per connection: <see cref="TcpConnection.MaxRetransmissions"/> (MUST-21).
    /// </summary>
    public int MaxRetries { get; init; } = 15;
    /// <summary>
    /// R1 of RFC 9293 §3.8.3: after this many retransmissions of the same segment (SYN or data) the IP layer gets negative
    /// advice (MUST-20) and re-verifies the first hop. SHLD-10: at least 3.
    /// </summary>
    public int RetransmissionsBeforeAdvice { get; init; } = 3;
    /// <summary>DSCP of the segments (TOS / Traffic Class byte; ECN bits ignored), RFC 9293 MUST-48. Per connection: <see cref="TcpConnection.TrafficClass"/>.</summary>
    public byte TrafficClass { get; init; }
    /// <summary>TTL / hop limit of the segments, 0 = the IP layer's default (RFC 9293 MUST-49). Per connection: <see cref="TcpConnection.HopLimit"/>.</summary>
    public byte HopLimit { get; init; }
    /// <summary>RFC 9293 §3.8.6.3 / RFC 1122 §4.2.3.2: delayed ACK must be under 0.5 s.</summary>
    public TimeSpan DelayedAck { get; init; } = TimeSpan.FromMilliseconds(40);
    /// <summary>
    /// SACK compression (Linux's net.ipv4.tcp_comp_sack_delay_ns): while out-of-order data is held, after the first three
    /// duplicate ACKs for one RCV.NXT (what the sender's fast retransmit needs, RFC 5681 §3.2) further SACKs wait up to
    /// min(this, RTT/20) and are sent as one. <see cref="TimeSpan.Zero"/> sends a SACK for every out-of-order segment.
    /// </summary>
    public TimeSpan SackCompressionDelay { get; init; } = TimeSpan.FromMilliseconds(1);
    /// <summary>Out-of-order segments after which a compressed SACK goes at once (Linux's net.ipv4.tcp_comp_sack_nr).</summary>
    public int SackCompressionSegments { get; init; } = 44;
    /// <summary>2 MSL (RFC 9293 §3.4.2); configurable.</summary>
    public TimeSpan TimeWait { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Sends keep-alive probes on an idle connection (RFC 9293 §3.8.4; off by default, as the RFC says).</summary>
    public bool KeepAlive { get; init; }
    /// <summary>RFC 1122 §4.2.3.6: at least two hours by default.</summary>
    public TimeSpan KeepAliveIdle { get; init; } = TimeSpan.FromHours(2);
    /// <summary>Idle time before the first keep-alive probe, and between probes.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(75);
    /// <summary>Unanswered keep-alive probes after which the connection is dropped.</summary>
    public int KeepAliveProbes { get; init; } = 9;
    /// <summary>
    /// Half-open (SYN-RECEIVED) connections per listener before SYN cookies are used; null (the default) bounds the SYN
    /// queue by the listen backlog, as Linux does when SYN cookies are on (<c>inet_csk_reqsk_queue_is_full</c>).
    /// </summary>
    public int? SynQueueLength { get; init; }
    /// <summary>
    /// RFC 4987: answer with SYN cookies when the SYN queue is full. A full accept queue drops SYNs either way (as Linux's
    /// <c>tcp_conn_request</c> does), so the client retries rather than believing in a connection nobody will accept.
    /// </summary>
    public bool SynCookies { get; init; } = true;
    /// <summary>
    /// What the handshake's final ACK gets when it finds the accept queue full (Linux's <c>tcp_abort_on_overflow</c>).
    /// False (the default): the ACK is dropped, the connection stays in SYN-RECEIVED and its SYN,ACK is retransmitted, so
    /// the client's next ACK retries; if the retransmissions run out, the client (which believes it is connected) is reset.
    /// True: the client is reset at once.
    /// </summary>
    public bool AbortOnOverflow { get; init; }
    /// <summary>
    /// A listener's SYN budget (SYNs per second, token bucket with <see cref="ListenerSynBurst"/>): SYNs beyond it are
    /// dropped before they cost a SYN,ACK, a cookie or state (counted in <see cref="TcpStatistics.SynDroppedRateLimited"/>),
    /// so that a flood against one port cannot take the whole loop from established connections and other listeners
    /// (RFC 4987 §3.2 "filtering"; segments of existing connections never pass through it). 0: no budget.
    /// </summary>
    public int ListenerSynRate { get; init; } = 100_000;
    /// <summary>The SYNs a listener may take at once beyond <see cref="ListenerSynRate"/> (the bucket's depth).</summary>
    public int ListenerSynBurst { get; init; } = 20_000;
    /// <summary>
    /// Remote addresses remembered as proven (they completed a handshake within <see cref="ProvenPeerLifetime"/>): their
    /// SYNs take a listener budget of their own and go first when the stack sheds SYNs under load, so that a flood from
    /// spoofed sources (which never complete a handshake) does not lock out returning clients (RFC 4987 §3). A
    /// direct-mapped table (newest wins a slot; about 40 bytes a slot). 0: off.
    /// </summary>
    public int ProvenPeerSlots { get; init; } = 4096;
    /// <summary>How long a completed handshake vouches for its remote address (<see cref="ProvenPeerSlots"/>).</summary>
    public TimeSpan ProvenPeerLifetime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>
    /// Out-of-order ranges (holes) the receive side keeps; a segment that would open one more is dropped and retransmitted.
    /// With an auto-tuned window of thousands of segments random loss opens many at once (about 5 per 100 segments at
    /// 5 % loss), each of which a retransmission fills within a round trip; Linux bounds its out-of-order queue only by the
    /// receive buffer. The table is taken on demand (a connection without holes keeps none).
    /// </summary>
    public int ReassemblyRanges { get; init; } = 256;
    /// <summary>RFC 5961 §7: challenge ACKs per second for the whole stack.</summary>
    public int ChallengeAckLimit { get; init; } = 100;
    /// <summary>Connections (all states) the table holds.</summary>
    public int MaxConnections { get; init; } = 65536;
}
