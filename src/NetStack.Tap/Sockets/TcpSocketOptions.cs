using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>
/// Per-connection (or per-listener) socket options, like <see cref="System.Net.Sockets.Socket"/>'s
/// NoDelay / KeepAlive / SendBufferSize / ReceiveBufferSize. A null member keeps the stack's
/// <see cref="TcpSettings"/> value. Buffer sizes are fixed when the connection is created; NoDelay and
/// KeepAlive can also be changed later on <see cref="TcpConnectionStream"/>.
/// </summary>
public sealed record TcpSocketOptions
{
    /// <summary>Disable Nagle's algorithm (RFC 9293 §3.7.4), like <c>TCP_NODELAY</c>.</summary>
    public bool? NoDelay { get; init; }

    /// <summary>Send keep-alive probes on an idle connection (RFC 1122 §4.2.3.6), like <c>SO_KEEPALIVE</c>.</summary>
    public bool? KeepAlive { get; init; }

    /// <summary>Idle time before the first keep-alive probe (<c>TCP_KEEPIDLE</c>).</summary>
    public TimeSpan? KeepAliveIdle { get; init; }

    /// <summary>Time between unanswered keep-alive probes (<c>TCP_KEEPINTVL</c>).</summary>
    public TimeSpan? KeepAliveInterval { get; init; }

    /// <summary>Unanswered probes before the connection times out (<c>TCP_KEEPCNT</c>).</summary>
    public int? KeepAliveProbes { get; init; }

    /// <summary>
    /// Send buffer in bytes (<c>SO_SNDBUF</c>). Setting it turns send-buffer auto-tuning off for the connection
    /// (<see cref="TcpSettings.SendBufferMax"/>), as <c>SO_SNDBUF</c> does on Linux.
    /// </summary>
    public int? SendBufferSize { get; init; }

    /// <summary>
    /// Receive buffer in bytes (<c>SO_RCVBUF</c>); it bounds the advertised window. Setting it turns receive-buffer
    /// auto-tuning off for the connection (<see cref="TcpSettings.ReceiveBufferMax"/>), as <c>SO_RCVBUF</c> does on Linux.
    /// </summary>
    public int? ReceiveBufferSize { get; init; }

    /// <summary>
    /// R2 (RFC 9293 §3.8.3 MUST-21): consecutive retransmission timeouts before the connection times out, like Linux's
    /// TCP_USER_TIMEOUT counted in timeouts; <see cref="int.MaxValue"/> never gives up.
    /// </summary>
    public int? MaxRetransmissions { get; init; }

    /// <summary>DSCP of the segments as the TOS / Traffic Class byte, like <c>IP_TOS</c> (RFC 9293 MUST-48; ECN bits ignored).</summary>
    public byte? TrafficClass { get; init; }

    /// <summary>TTL / hop limit of the segments, like <c>IP_TTL</c> (RFC 9293 MUST-49); 0 = the stack's default.</summary>
    public byte? HopLimit { get; init; }

    /// <summary>
    /// For a connect: the local address (and port, 0 = ephemeral) to open from, like <see cref="System.Net.Sockets.Socket.Bind"/>
    /// before connecting (RFC 9293 §3.9.1.1 MUST-43). It must be one of the stack's addresses (AddressNotAvailable otherwise).
    /// </summary>
    public System.Net.IPEndPoint? LocalEndPoint { get; init; }

    /// <summary>Congestion control (CUBIC by default).</summary>
    public CongestionAlgorithm? Congestion { get; init; }

    /// <summary>The stack's settings with these options applied.</summary>
    public TcpSettings Apply(TcpSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (SendBufferSize is < 1) throw new ArgumentOutOfRangeException(nameof(SendBufferSize), "A send buffer needs at least one byte.");
        if (MaxRetransmissions is < 1) throw new ArgumentOutOfRangeException(nameof(MaxRetransmissions), "At least one retransmission.");
        if (ReceiveBufferSize is < 1) throw new ArgumentOutOfRangeException(nameof(ReceiveBufferSize), "A receive buffer needs at least one byte.");
        return settings with
        {
            NoDelay = NoDelay ?? settings.NoDelay,
            KeepAlive = KeepAlive ?? settings.KeepAlive,
            KeepAliveIdle = KeepAliveIdle ?? settings.KeepAliveIdle,
            KeepAliveInterval = KeepAliveInterval ?? settings.KeepAliveInterval,
            KeepAliveProbes = KeepAliveProbes ?? settings.KeepAliveProbes,
            SendBufferSize = SendBufferSize ?? settings.SendBufferSize,
            SendBufferMax = SendBufferSize ?? settings.SendBufferMax,
            ReceiveBufferSize = ReceiveBufferSize ?? settings.ReceiveBufferSize,
            ReceiveBufferMax = ReceiveBufferSize ?? settings.ReceiveBufferMax,
            Congestion = Congestion ?? settings.Congestion,
            MaxRetries = MaxRetransmissions ?? settings.MaxRetries,
            TrafficClass = TrafficClass ?? settings.TrafficClass,
            HopLimit = HopLimit ?? settings.HopLimit,
        };
    }
}
