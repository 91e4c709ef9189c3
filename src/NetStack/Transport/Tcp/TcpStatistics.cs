namespace NetStack.Transport.Tcp;

/// <summary>Counters of the TCP layer (drops by reason, retransmissions, probes). Plain fields: read them, export them as metrics.</summary>
public sealed class TcpStatistics
{
    /// <summary>Segments handed to TCP by IP, of both families, before any check (a received super-segment counts once).</summary>
    public long SegmentsReceived;
    /// <summary>Segments handed to IP, of both families (a super-segment counts as the segments it carries).</summary>
    public long SegmentsSent;
    /// <summary>Super-segments handed to IP (each counted in <see cref="SegmentsSent"/> as the segments it carries).</summary>
    public long SuperSegmentsSent;
    /// <summary><see cref="SegmentsReceived"/> over IPv4.</summary>
    public long Ipv4SegmentsReceived;
    /// <summary><see cref="SegmentsReceived"/> over IPv6.</summary>
    public long Ipv6SegmentsReceived;
    /// <summary><see cref="SegmentsSent"/> over IPv4.</summary>
    public long Ipv4SegmentsSent;
    /// <summary><see cref="SegmentsSent"/> over IPv6.</summary>
    public long Ipv6SegmentsSent;
    /// <summary>Active opens: connections that sent a SYN (RFC 4022 tcpActiveOpens, Linux ActiveOpens).</summary>
    public long ActiveOpens;
    /// <summary>Passive opens: SYNs (or SYN-cookie ACKs) that made a connection for a listener (RFC 4022 tcpPassiveOpens).</summary>
    public long PassiveOpens;
    /// <summary>Payload bytes sent (retransmissions included).</summary>
    public long BytesSent;
    /// <summary>Payload bytes received in order.</summary>
    public long BytesReceived;
    /// <summary>Segments dropped as malformed.</summary>
    public long Malformed;
    /// <summary>Segments to a broadcast or multicast address, or from an invalid source (RFC 9293 MUST-57, MUST-63).</summary>
    public long BadAddress;
    /// <summary>Segments dropped for a bad checksum.</summary>
    public long BadChecksum;
    /// <summary>Segments for no connection or listener.</summary>
    public long NoConnection;
    /// <summary>Resets sent.</summary>
    public long ResetsSent;
    /// <summary>Segments sent again: RTO, fast retransmit, RACK and tail-loss-probe retransmissions, SYN and SYN,ACK retries.</summary>
    public long Retransmissions;
    /// <summary>Fast retransmits (RFC 5681 §3.2, or RACK-TLP, RFC 8985).</summary>
    public long FastRetransmits;
    /// <summary>Retransmission timeouts of connections with data in flight (RFC 6298 §5.4); SYN retries are not counted here.</summary>
    public long Timeouts;
    /// <summary>Tail loss probes sent (RFC 8985 §7).</summary>
    public long TailLossProbes;
    /// <summary>RFC 8985 §7.4.2: retransmitted probes that repaired a loss (each one cwnd reduction).</summary>
    public long TailLossProbeRepairs;
    /// <summary>Segments RACK (RFC 8985 §6.2) marked lost.</summary>
    public long RackLosses;
    /// <summary>RTT measurements fed to the RFC 6298 estimator.</summary>
    public long RttSamples;
    /// <summary>Of <see cref="RttSamples"/>, those taken in µs from a segment's send time (not from a 1 ms RFC 7323 TSecr).</summary>
    public long RttSamplesFromSendTime;
    /// <summary>ACKs whose first SACK block reported a duplicate (RFC 2883 D-SACK).</summary>
    public long DsacksReceived;
    /// <summary>Duplicate data reported back to the peer in a D-SACK block (RFC 2883).</summary>
    public long DsacksSent;
    /// <summary>SACKs for out-of-order segments held and sent as one (SACK compression, <see cref="TcpSettings.SackCompressionDelay"/>).</summary>
    public long SacksCompressed;
    /// <summary>Held SACKs sent early because a new out-of-order range or a D-SACK would have left a block out of every ACK (RFC 2018 §4).</summary>
    public long SacksFlushedForBlocks;
    /// <summary>Segments outside the receive window (RFC 9293 §3.10.7.4).</summary>
    public long OutOfWindow;
    /// <summary>Segments dropped by PAWS (RFC 7323 §5).</summary>
    public long PawsDropped;
    /// <summary>Non-RST segments without the timestamps the connection negotiated, dropped (RFC 7323 §3.2).</summary>
    public long MissingTimestampDropped;
    /// <summary>Challenge ACKs sent (RFC 5961).</summary>
    public long ChallengeAcks;
    /// <summary>Challenge ACKs not sent because of the rate limit (RFC 5961 §7).</summary>
    public long ChallengeAcksSuppressed;
    /// <summary>Urgent pointers that started or advanced urgent mode (RFC 9293 §3.8.5), each one signal to the application.</summary>
    public long UrgentReceived;
    /// <summary>Out-of-order segments dropped because the reassembly queue was full.</summary>
    public long ReassemblyDropped;
    /// <summary>Times receive-buffer auto-tuning raised a connection's receive buffer (<see cref="TcpSettings.ReceiveBufferMax"/>).</summary>
    public long ReceiveBufferGrowths;
    /// <summary>Times send-buffer auto-tuning raised a connection's send buffer (<see cref="TcpSettings.SendBufferMax"/>).</summary>
    public long SendBufferGrowths;
    /// <summary>SYN-ACKs sent with a SYN cookie.</summary>
    public long SynCookiesSent;
    /// <summary>Connections opened from a valid SYN cookie.</summary>
    public long SynCookiesAccepted;
    /// <summary>ACKs whose SYN cookie did not validate.</summary>
    public long SynCookiesRejected;
    /// <summary>SYNs dropped because the SYN queue was full and cookies are off, or the connection table was full.</summary>
    public long SynDropped;
    /// <summary>SYNs dropped because the listener's accept queue was full (Linux: ListenOverflows on the SYN).</summary>
    public long SynDroppedAcceptQueueFull;
    /// <summary>SYNs to a listener from proven peers (addresses that completed a handshake lately, <see cref="TcpSettings.ProvenPeerSlots"/>).</summary>
    public long ProvenPeerSyns;
    /// <summary>SYNs dropped by a listener's SYN budget (<see cref="TcpSettings.ListenerSynRate"/>).</summary>
    public long SynDroppedRateLimited;
    /// <summary>Handshake-completing ACKs (ordinary or cookie) that found the accept queue full.</summary>
    public long AcceptQueueOverflows;
    /// <summary>
    /// Clients reset because their completed handshake could not be queued: <see cref="TcpSettings.AbortOnOverflow"/>, a
    /// cookie ACK with no room to keep it half-open, or a half-open connection whose SYN,ACK retransmissions ran out after
    /// the client had acknowledged it.
    /// </summary>
    public long AcceptQueueOverflowResets;
    /// <summary>Zero-window probes sent (RFC 9293 §3.8.6.1).</summary>
    public long WindowProbes;
    /// <summary>Keep-alive probes sent (RFC 9293 §3.8.4).</summary>
    public long KeepAliveProbes;
    /// <summary>Segments the IP layer refused to send.</summary>
    public long SendFailures;
    /// <summary>ICMP errors delivered to connections.</summary>
    public long IcmpErrors;
}
