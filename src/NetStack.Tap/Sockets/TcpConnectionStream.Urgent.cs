using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>The data an <see cref="TcpConnectionStream.UrgentDataReceived"/> event carries.</summary>
/// <param name="Remaining">Bytes of the stream, from the next byte read, up to the end of the urgent data.</param>
public sealed class TcpUrgentDataEventArgs(int Remaining) : EventArgs
{
    /// <summary>Bytes of the stream, from the next byte read, up to the end of the urgent data (the "mark").</summary>
    public int Remaining { get; } = Remaining;
}

/// <summary>
/// The TCP urgent mechanism (RFC 9293 §3.8.5). New applications should not use it (SHLD-13), but telnet, FTP and
/// rlogin peers do, so it is here: urgent bytes travel in line, in stream order (RFC 6093 §6: no out-of-band byte, unlike
/// the BSD socket default), and the reader learns where they end.
/// </summary>
public sealed partial class TcpConnectionStream
{
    /// <summary>
    /// Raised (off the stack's loop) when the peer's urgent pointer arrives while no urgent data was pending, or advances
    /// (RFC 9293 MUST-32), like SIGURG. Read <see cref="TcpUrgentDataEventArgs.Remaining"/> bytes to reach the mark.
    /// </summary>
    public event EventHandler<TcpUrgentDataEventArgs>? UrgentDataReceived;

    /// <summary>
    /// Bytes of urgent data not yet read (RFC 9293 MUST-33): after reading this many bytes the stream is at the mark;
    /// 0 when there is no urgent data. Updated by the loop as segments arrive and as reads complete.
    /// </summary>
    public int UrgentBytesRemaining => Volatile.Read(ref _urgentRemaining);

    /// <summary>
    /// How many times the peer signalled urgent data so far (one <see cref="UrgentDataReceived"/> event each). It is
    /// counted before any read that returns the signalled bytes completes.
    /// </summary>
    public long UrgentSignals => Volatile.Read(ref _urgentSignals);

    /// <summary>
    /// Queues every byte as urgent data (the SEND call's URGENT flag, RFC 9293 §3.9.1.2, like send with MSG_OOB): the
    /// urgent pointer moves past the last byte and segments carry URG until the peer acknowledges it. Urgent data is not
    /// held back by Nagle's algorithm.
    /// </summary>
    public ValueTask WriteUrgentAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        Write(buffer, urgent: true, cancellationToken);

    /// <summary>Publishes the urgent state and raises the event when the connection counted a new signal (loop).</summary>
    private void NoteUrgent()
    {
        var c = _connection;
        int remaining = c.UrgentRemaining;
        Volatile.Write(ref _urgentRemaining, remaining);
        if (c.UrgentSignals == _urgentSignals) return;
        Volatile.Write(ref _urgentSignals, c.UrgentSignals);
        if (UrgentDataReceived is not null) RaiseUrgentDataReceived(remaining);
    }

    /// <summary>Apart from <see cref="NoteUrgent"/>, which runs on every change of the connection: a closure over a handler
    /// declared there would be allocated on every call, raised or not.</summary>
    private void RaiseUrgentDataReceived(int remaining)
    {
        var handler = UrgentDataReceived;
        if (handler is null) return;
        var args = new TcpUrgentDataEventArgs(remaining);
        ThreadPool.QueueUserWorkItem(_ => handler(this, args));
    }
}
