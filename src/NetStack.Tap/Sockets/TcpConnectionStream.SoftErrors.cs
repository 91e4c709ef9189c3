using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>The data a <see cref="TcpConnectionStream.SoftErrorReported"/> event carries.</summary>
public sealed class TcpSoftErrorEventArgs(TcpSoftError error) : EventArgs
{
    /// <summary>What was reported.</summary>
    public TcpSoftError Error { get; } = error;
}

/// <summary>
/// Soft errors (RFC 9293 §3.9.1.8 MUST-47): ICMP errors that do not end the connection (MUST-56) and a segment
/// retransmitted R1 times (§3.8.3 SHLD-9) reach the application without failing a read or a write.
/// </summary>
public sealed partial class TcpConnectionStream
{
    private TcpSoftError _softError;
    private readonly Lock _softErrorLock = new();

    /// <summary>Raised (off the stack's loop) for every soft error, like Linux's IP_RECVERR notifications on a TCP socket.</summary>
    public event EventHandler<TcpSoftErrorEventArgs>? SoftErrorReported;

    /// <summary>The latest soft error (<see cref="TcpSoftErrorKind.None"/> when there was none), like SO_ERROR's soft error.</summary>
    public TcpSoftError LastSoftError
    {
        get { lock (_softErrorLock) return _softError; }
    }

    /// <summary>Publishes a new soft error of the connection and raises the event (loop).</summary>
    private void NoteSoftError()
    {
        var c = _connection;
        if (c.SoftErrors == _softErrorsSeen) return;
        _softErrorsSeen = c.SoftErrors;
        var error = c.SoftError;
        lock (_softErrorLock) _softError = error;
        if (SoftErrorReported is not null) RaiseSoftErrorReported(error);
    }

    /// <summary>Apart from <see cref="NoteSoftError"/>, which runs on every change of the connection: a closure over a handler
    /// declared there would be allocated on every call, raised or not.</summary>
    private void RaiseSoftErrorReported(TcpSoftError error)
    {
        var handler = SoftErrorReported;
        if (handler is null) return;
        var args = new TcpSoftErrorEventArgs(error);
        ThreadPool.QueueUserWorkItem(_ => handler(this, args));
    }
}
