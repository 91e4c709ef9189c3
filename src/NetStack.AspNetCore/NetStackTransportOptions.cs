using NetStack.Sockets;

namespace NetStack.AspNetCore;

/// <summary>
/// Options of the NetStack Kestrel transport, the counterpart of Kestrel's <c>SocketTransportOptions</c>: the listen
/// backlog, the TCP options of accepted connections, and the bounds of each connection's pipes.
/// </summary>
public sealed class NetStackTransportOptions
{
    /// <summary>The listener's accept queue (the SYN queue answers with SYN cookies beyond it, RFC 4987). Default 512, as Kestrel's sockets.</summary>
    public int Backlog { get; set; } = 512;

    /// <summary>Disable Nagle's algorithm on accepted connections (RFC 9293 §3.7.4). Default true, as Kestrel's sockets.</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>
    /// TCP options of accepted connections (buffer sizes, keep-alive, congestion control...); null keeps the stack's settings.
    /// Its <see cref="TcpSocketOptions.NoDelay"/>, when set, wins over <see cref="NoDelay"/>.
    /// </summary>
    public TcpSocketOptions? SocketOptions { get; set; }

    /// <summary>Bytes received but not yet read by the application before the transport stops reading (back-pressure through the TCP window); null or 0: unbounded. Default 1 MiB, as Kestrel's sockets.</summary>
    public long? MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Bytes written by the application but not yet in the TCP send buffer before its writes wait; null or 0: unbounded. Default 64 KiB, as Kestrel's sockets.</summary>
    public long? MaxWriteBufferSize { get; set; } = 64 * 1024;

    /// <summary>The TCP options a listener hands to its connections.</summary>
    internal TcpSocketOptions EffectiveSocketOptions
    {
        get
        {
            var o = SocketOptions ?? new TcpSocketOptions();
            return o.NoDelay is null ? o with { NoDelay = NoDelay } : o;
        }
    }
}
