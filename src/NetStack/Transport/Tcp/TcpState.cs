namespace NetStack.Transport.Tcp;

/// <summary>The connection states of RFC 9293 §3.3.2.</summary>
public enum TcpState : byte
{
    /// <summary>No connection (RFC 9293 §3.3.2).</summary>
    Closed,
    /// <summary>Waiting for a connection request.</summary>
    Listen,
    /// <summary>A SYN sent, waiting for the matching SYN.</summary>
    SynSent,
    /// <summary>A SYN received and answered, waiting for its acknowledgement.</summary>
    SynReceived,
    /// <summary>Open: data flows both ways.</summary>
    Established,
    /// <summary>We closed: our FIN is sent and not yet acknowledged.</summary>
    FinWait1,
    /// <summary>Our FIN is acknowledged; waiting for the peer's.</summary>
    FinWait2,
    /// <summary>The peer closed; we may still send.</summary>
    CloseWait,
    /// <summary>Both closed at once: waiting for the acknowledgement of our FIN.</summary>
    Closing,
    /// <summary>The peer closed first, then we did: waiting for the acknowledgement of our FIN.</summary>
    LastAck,
    /// <summary>Both closed: waiting 2 MSL so that late segments die out.</summary>
    TimeWait,
}

/// <summary>Why a connection ended other than by an orderly close.</summary>
public enum TcpError : byte
{
    /// <summary>No error.</summary>
    None,
    /// <summary>The peer answered our SYN with RST (RFC 9293 §3.10.7.3).</summary>
    Refused,
    /// <summary>The peer reset an established connection.</summary>
    Reset,
    /// <summary>Retransmissions or keep-alive probes went unanswered (RFC 1122 §4.2.3.5 R2).</summary>
    TimedOut,
    /// <summary>No route or no source address toward the peer.</summary>
    Unreachable,
    /// <summary>Aborted locally.</summary>
    Aborted,
    /// <summary>The local address asked for is not one of ours (RFC 9293 §3.9.1.1 MUST-43/44), or its port is taken.</summary>
    AddressNotAvailable,
}

/// <summary>Readiness an async layer can wait on.</summary>
[Flags]
public enum TcpReadiness : byte
{
    /// <summary>Nothing to do yet.</summary>
    None = 0,
    /// <summary>Data to read, or end of stream (FIN) or an error to report.</summary>
    Readable = 1,
    /// <summary>Room in the send buffer and the send side still open.</summary>
    Writable = 2,
    /// <summary>The handshake completed (stays set).</summary>
    Connected = 4,
    /// <summary>The connection is fully closed (orderly or by error).</summary>
    Closed = 8,
    /// <summary>
    /// Urgent data not yet read (RFC 9293 §3.8.5 "urgent mode"): <see cref="TcpConnection.UrgentRemaining"/> bytes of the
    /// stream, from the next byte read, lead up to the urgent pointer.
    /// </summary>
    Urgent = 16,
}

/// <summary>Congestion control algorithms selectable per connection.</summary>
public enum CongestionAlgorithm : byte
{
    /// <summary>RFC 9438.</summary>
    Cubic,
    /// <summary>RFC 5681 + RFC 6582.</summary>
    NewReno,
    /// <summary>BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00): rate based, paced; see docs/tcp.md.</summary>
    Bbr,
}
