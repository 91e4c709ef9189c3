using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// A TCP connection of a NetStack stack as a <see cref="Stream"/> (like <see cref="NetworkStream"/>) that is also an
/// <see cref="IDuplexPipe"/> (like Kestrel's socket transport), so <see cref="System.Net.Security.SslStream"/>,
/// <see cref="System.Net.Http.HttpClient"/> (through <see cref="System.Net.Http.SocketsHttpHandler.ConnectCallback"/>) and
/// pipeline-based servers run on it unchanged.
/// <para>
/// Every call is handed to the stack's loop (<see cref="IStackDispatcher"/>); tasks complete off the loop.
/// <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> completes with the bytes available (0 at the end of the stream,
/// after the peer's FIN); a zero-length read waits until data is available. <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>
/// completes once every byte is in the send buffer (the loop transmits at its next poll; <see cref="FlushAsync"/> has nothing to do).
/// One read and one write may be pending at a time, as with <see cref="NetworkStream"/>.
/// </para>
/// <para>
/// Errors: reads and writes throw <see cref="IOException"/> whose <see cref="Exception.InnerException"/> is a
/// <see cref="SocketException"/> (ConnectionReset, TimedOut, ConnectionAborted; Shutdown for a write after
/// <see cref="ShutdownSend"/>), exactly as <see cref="NetworkStream"/> does; pending operations fail with
/// OperationAborted when the stream is disposed, and with <see cref="OperationCanceledException"/> when their token is
/// cancelled (bytes of a cancelled write already queued are still sent).
/// </para>
/// <para>
/// Use either the <see cref="Stream"/> or the pipe (<see cref="Input"/> / <see cref="Output"/>), not both: the first access
/// to the pipe starts two pumps that own the stream's read and write sides. Completing <see cref="Output"/> shuts down the
/// send side (FIN). <see cref="DisposeAsync"/> lets the send pump deliver what was written to <see cref="Output"/> first;
/// a synchronous <see cref="Stream.Dispose()"/> stops the pumps at once.
/// </para>
/// </summary>
public sealed partial class TcpConnectionStream : Stream, IDuplexPipe
{
    /// <summary>A read handed to the loop: one per stream, reused call after call (a second concurrent read gets its own).</summary>
    private sealed class ReadOp(TcpConnectionStream owner) : LoopOperation<int>
    {
        private static readonly Action<object?> OnCancel = static s => ((ReadOp)s!).CancelRequested();
        public Memory<byte> Buffer;

        public void Start(Memory<byte> buffer, CancellationToken token, IStackDispatcher? continueOnLoop)
        {
            Buffer = buffer;
            Start(token, OnCancel, continueOnLoop);
        }

        protected override void Begin() => owner.StartRead(this);

        protected override void Released()
        {
            Buffer = default;
            owner.ReturnToCache(this);
        }

        private void CancelRequested()
        {
            short version = Version;
            OnLoopOrInline(owner._dispatcher, () => owner.CancelRead(this, version));
        }
    }

    /// <summary>A write handed to the loop: one per stream, reused call after call (a second concurrent write gets its own).</summary>
    private sealed class WriteOp(TcpConnectionStream owner) : LoopOperation<bool>
    {
        private static readonly Action<object?> OnCancel = static s => ((WriteOp)s!).CancelRequested();
        public ReadOnlyMemory<byte> Data;
        public bool Urgent;
        public int Written;

        public void Start(ReadOnlyMemory<byte> data, bool urgent, CancellationToken token, IStackDispatcher? continueOnLoop)
        {
            Data = data;
            Urgent = urgent;
            Written = 0;
            Start(token, OnCancel, continueOnLoop);
        }

        protected override void Begin() => owner.StartWrite(this);

        protected override void Released()
        {
            Data = default;
            owner.ReturnToCache(this);
        }

        private void CancelRequested()
        {
            short version = Version;
            OnLoopOrInline(owner._dispatcher, () => owner.CancelWrite(this, version));
        }
    }

    private readonly IStackDispatcher _dispatcher;
    private readonly TcpSocketHub _hub;
    private readonly TcpConnection _connection;
    private readonly Queue<ReadOp> _reads = new();
    private readonly Queue<WriteOp> _writes = new();
    private ReadOp? _readCache;
    private WriteOp? _writeCache;

    private void ReturnToCache(ReadOp op) => Volatile.Write(ref _readCache, op);
    private void ReturnToCache(WriteOp op) => Volatile.Write(ref _writeCache, op);
    private readonly Lock _pipeLock = new();
    private TaskCompletionSource<TcpConnectionStream>? _connect;
    private TcpDuplexPipe? _pipe;
    private bool _shutdownPending;   // loop: ShutdownSend asked while writes were still queued
    private bool _closedOnLoop;      // loop: disposed or aborted by the user
    private volatile bool _disposed;
    private volatile bool _sendShutdown;
    private int _noDelay;
    private long _urgentSignals; // written by the loop only
    private int _urgentRemaining;
    private int _keepAlive;
    private int _maxRetransmissions;
    private long _softErrorsSeen; // loop
    private int _trafficClass;
    private int _hopLimit;
    private volatile bool _continuationsOnLoop;

    /// <summary>The connection's activities (<see cref="Tap.NetStackDiagnostics"/>).</summary>
    internal TcpConnectionTrace Trace { get; } = new();

    private TcpConnectionStream(IStackDispatcher dispatcher, TcpSocketHub hub, TcpConnection connection)
    {
        _dispatcher = dispatcher;
        _hub = hub;
        _connection = connection;
        _noDelay = connection.NoDelay ? 1 : 0;
        _keepAlive = connection.KeepAlive ? 1 : 0;
        _maxRetransmissions = connection.MaxRetransmissions;
        _trafficClass = connection.TrafficClass;
        _hopLimit = connection.HopLimit;
        SendBufferSize = connection.SendBufferSize;
        ReceiveBufferSize = connection.ReceiveBufferSize;
        LocalEndPoint = ToIPEndPoint(connection.Local);
        RemoteEndPoint = ToIPEndPoint(connection.Remote);
        hub.Attach(connection, this);
    }

    /// <summary>Wraps an accepted connection (loop only).</summary>
    internal static TcpConnectionStream Accepted(IStackDispatcher dispatcher, TcpSocketHub hub, TcpConnection connection) =>
        new(dispatcher, hub, connection);

    /// <summary>
    /// Active open toward <paramref name="remote"/>, like <see cref="Socket.ConnectAsync(EndPoint, CancellationToken)"/>.
    /// Fails with <see cref="SocketException"/>: ConnectionRefused (RST), TimedOut (SYN retransmissions exhausted),
    /// HostUnreachable (no route or source address, or an ICMP hard error); cancelling the token aborts the attempt.
    /// </summary>
    internal static async Task<TcpConnectionStream> ConnectAsync(IStackDispatcher dispatcher, TcpSocketHub hub, IPEndPoint remote,
        TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(remote);
        var layer = hub.Layer;
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options?.Apply(layer.Settings) ?? layer.Settings;
        var endpoint = new IpEndpoint(IpAddress.FromIPAddress(remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address), (ushort)remote.Port);
        if (endpoint.Port == 0) throw new ArgumentOutOfRangeException(nameof(remote), "A remote port is needed.");
        var completion = new TaskCompletionSource<TcpConnectionStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        TcpConnectionStream? stream = null;
        using var activity = TcpConnectionTrace.StartConnect(remote);
        dispatcher.Post(() =>
        {
            if (completion.Task.IsCompleted) return; // cancelled before it started
            if (hub.IsClosed) { completion.TrySetException(TcpErrors.Socket(SocketError.OperationAborted)); return; } // the stack stopped
            IpEndpoint? local = options?.LocalEndPoint is { } le ? new IpEndpoint(IpAddress.FromIPAddress(le.Address), (ushort)le.Port) : null;
            var c = layer.Connect(endpoint, dispatcher.Now, local, settings);
            stream = new TcpConnectionStream(dispatcher, hub, c) { _connect = completion };
            stream.Trace.Connecting = activity;
            stream.OnChanged();
            dispatcher.Wake();
        });
        using (cancellationToken.Register(() => OnLoopOrInline(dispatcher, () =>
        {
            if (completion.TrySetCanceled(cancellationToken)) stream?.CloseOnLoop(abort: true);
        })))
        {
            TcpConnectionStream connected;
            try
            {
                connected = await completion.Task.ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                TcpConnectionTrace.Failed(activity, e.SocketErrorCode);
                throw;
            }
            catch (OperationCanceledException)
            {
                TcpConnectionTrace.Failed(activity, SocketError.OperationAborted);
                throw;
            }
            if (activity is not null)
            {
                activity.SetTag("network.local.address", connected.LocalEndPoint.Address.ToString());
                activity.SetTag("network.local.port", connected.LocalEndPoint.Port);
                activity.Stop();
            }
            connected.Trace.Start(ActivityKind.Client, connected.LocalEndPoint, connected.RemoteEndPoint);
            return connected;
        }
    }

    /// <summary>
    /// Connects to <paramref name="hostName"/> (an address literal, or a name given to <paramref name="resolver"/>), trying
    /// each address in turn as <see cref="Socket.ConnectAsync(string, int, CancellationToken)"/> does; the last failure is thrown.
    /// </summary>
    internal static async Task<TcpConnectionStream> ConnectAsync(IStackDispatcher dispatcher, TcpSocketHub hub, string hostName, int port,
        TcpHostResolver? resolver, TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        IPAddress[] addresses;
        var literal = hostName.StartsWith('[') && hostName.EndsWith(']') ? hostName[1..^1] : hostName;
        if (IPAddress.TryParse(literal, out var address)) addresses = [address];
        else if (resolver is null) throw new SocketException((int)SocketError.HostNotFound);
        else addresses = await resolver(hostName, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        SocketException? last = null;
        foreach (var a in addresses)
        {
            try
            {
                return await ConnectAsync(dispatcher, hub, new IPEndPoint(a, port), options, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                last = e;
            }
        }
        throw last!;
    }

    /// <summary>Our address and port.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The peer's address and port.</summary>
    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>The send buffer's size in bytes (set by <see cref="TcpSocketOptions.SendBufferSize"/>).</summary>
    public int SendBufferSize { get; }

    /// <summary>The receive buffer's size in bytes (set by <see cref="TcpSocketOptions.ReceiveBufferSize"/>).</summary>
    public int ReceiveBufferSize { get; }

    /// <summary>
    /// Runs the continuations of this stream's reads and writes on the stack's loop thread (right after the poll that
    /// completed them, never from inside TCP's receive call) instead of the thread pool, and makes the reads and writes
    /// issued there run inline: a read of data already received, or a write that fits the send buffer, completes before
    /// the caller awaits, with no work item, thread hop or wake-up of the loop (as <see cref="AsyncUdpSocket.RunContinuationsOnLoop"/>;
    /// netstackd's discard, chargen and echo services set it). Only for continuations that never block (no synchronous
    /// waits, no long computations): while one runs the stack does not move. Set it before the first read or write; default false.
    /// </summary>
    public bool RunContinuationsOnLoop
    {
        get => _continuationsOnLoop;
        set => _continuationsOnLoop = value;
    }

    /// <summary>Disables Nagle's algorithm (RFC 9293 §3.7.4); takes effect on the loop.</summary>
    public bool NoDelay
    {
        get => Volatile.Read(ref _noDelay) != 0;
        set => SetOption(ref _noDelay, value ? 1 : 0, (c, v) => c.NoDelay = v != 0);
    }

    /// <summary>Keep-alive probes on an idle connection (RFC 1122 §4.2.3.6); takes effect on the loop.</summary>
    public bool KeepAlive
    {
        get => Volatile.Read(ref _keepAlive) != 0;
        set => SetOption(ref _keepAlive, value ? 1 : 0, (c, v) => c.KeepAlive = v != 0);
    }

    /// <summary>DSCP of this connection's segments (RFC 9293 MUST-48; ECN bits ignored), like <c>IP_TOS</c>; takes effect on the loop.</summary>
    public byte TrafficClass
    {
        get => (byte)Volatile.Read(ref _trafficClass);
        set => SetOption(ref _trafficClass, value & 0xFC, (c, v) => c.TrafficClass = (byte)v);
    }

    /// <summary>TTL / hop limit of this connection's segments (RFC 9293 MUST-49), 0 = default, like <c>IP_TTL</c>; takes effect on the loop.</summary>
    public byte HopLimit
    {
        get => (byte)Volatile.Read(ref _hopLimit);
        set => SetOption(ref _hopLimit, value, (c, v) => c.HopLimit = (byte)v);
    }

    /// <summary>
    /// R2 for this connection (RFC 9293 §3.8.3 MUST-21): retransmission timeouts before it fails with TimedOut;
    /// <see cref="int.MaxValue"/> never gives up. Takes effect on the loop.
    /// </summary>
    public int MaxRetransmissions
    {
        get => Volatile.Read(ref _maxRetransmissions);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            SetOption(ref _maxRetransmissions, value, (c, v) => c.MaxRetransmissions = v);
        }
    }

    /// <summary>Publishes an option's value to readers on any thread and applies it to the connection on the loop.</summary>
    private void SetOption(ref int field, int value, Action<TcpConnection, int> apply)
    {
        Volatile.Write(ref field, value);
        PostIfOpen(() => apply(_connection, value));
    }

    /// <summary>Runs <paramref name="query"/> against the sans-IO connection on the loop (state, RTT, retransmissions...).</summary>
    public Task<T> InspectAsync<T>(Func<TcpConnection, T> query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return _dispatcher.InvokeAsync(() => query(_connection), cancellationToken);
    }

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;
    /// <inheritdoc/>
    public override bool CanWrite => !_disposed;
    /// <inheritdoc/>
    public override bool CanSeek => false;
    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Nothing to do: written bytes are already in the send buffer and go out at the loop's next poll.</summary>
    public override void Flush() { }

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    /// <summary>Reads what has arrived (waiting for at least one byte); 0 at the end of the stream.</summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        // Pooled: no allocation per call (issue 12 item 4); the loop completes it, the continuation runs on the thread pool.
        var op = Interlocked.Exchange(ref _readCache, null) ?? new ReadOp(this);
        bool onLoop = _continuationsOnLoop && _dispatcher.IsOnLoopThread;
        op.Start(buffer, cancellationToken, _continuationsOnLoop ? _dispatcher : null);
        var pending = new ValueTask<int>(op, op.Version);
        if (onLoop) op.RunInline(); // data already here: the ValueTask is complete before the caller awaits
        else _dispatcher.PostItem(op);
        return pending;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Queues every byte for sending (waiting for room in the send buffer).</summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        Write(buffer, urgent: false, cancellationToken);

    private ValueTask Write(ReadOnlyMemory<byte> buffer, bool urgent, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sendShutdown) throw TcpErrors.Io(SocketError.Shutdown);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        if (buffer.IsEmpty) return ValueTask.CompletedTask;
        var op = Interlocked.Exchange(ref _writeCache, null) ?? new WriteOp(this);
        bool onLoop = _continuationsOnLoop && _dispatcher.IsOnLoopThread;
        op.Start(buffer, urgent, cancellationToken, _continuationsOnLoop ? _dispatcher : null);
        var pending = new ValueTask(op, op.Version);
        if (onLoop) op.RunInline(); // room in the send buffer: complete before the caller awaits
        else _dispatcher.PostItem(op);
        return pending;
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        ThrowIfOnLoop();
        return ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        ThrowIfOnLoop();
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            rented.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        ThrowIfOnLoop();
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ThrowIfOnLoop();
        WriteAsync(buffer.ToArray()).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// Graceful shutdown of the send side, like <c>Socket.Shutdown(SocketShutdown.Send)</c>: a FIN follows the bytes
    /// already written (RFC 9293 §3.10.4); reading goes on until the peer closes. Later writes fail with Shutdown.
    /// </summary>
    public void ShutdownSend()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_sendShutdown) return;
        _sendShutdown = true;
        _dispatcher.Post(() =>
        {
            if (_closedOnLoop) return;
            if (_writes.Count > 0) _shutdownPending = true;
            else _connection.Shutdown();
            _dispatcher.Wake();
        });
    }

    /// <summary>Aborts the connection with RST (RFC 9293 §3.10.5), like closing a socket with a zero linger time; pending operations fail.</summary>
    public void Abort()
    {
        if (_disposed) return;
        _disposed = true;
        _sendShutdown = true;
        OnLoopOrInline(_dispatcher, () => CloseOnLoop(abort: true));
    }

    /// <summary>The pipe's reading side: bytes from the peer (the pipe starts on first use).</summary>
    public PipeReader Input => Pipe.Input;

    /// <summary>The pipe's writing side: bytes to the peer; completing it sends FIN.</summary>
    public PipeWriter Output => Pipe.Output;

    private TcpDuplexPipe Pipe
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_pipeLock) return _pipe ??= new TcpDuplexPipe(this);
        }
    }

    // ---- loop side -------------------------------------------------------------------------

    /// <summary>The connection's readiness may have changed (loop).</summary>
    internal void OnChanged()
    {
        var c = _connection;
        if (_connect is { } connect)
        {
            if ((c.Readiness & TcpReadiness.Connected) != 0)
            {
                _connect = null;
                if (!connect.TrySetResult(this)) CloseOnLoop(abort: true);
            }
            else if (c.State == TcpState.Closed)
            {
                _connect = null;
                var error = c.Error == TcpError.None ? SocketError.ConnectionRefused : TcpErrors.ToSocketError(c.Error);
                connect.TrySetException(TcpErrors.Socket(error));
                CloseOnLoop(abort: false);
                return;
            }
        }
        NoteUrgent();
        NoteSoftError();
        ServiceReads();
        ServiceWrites();
        if (c.State == TcpState.Closed)
            Trace.End(abort: c.Error != TcpError.None, c.Error == TcpError.None ? SocketError.Success : TcpErrors.ToSocketError(c.Error));
        if (c.State == TcpState.Closed && _reads.Count == 0 && _writes.Count == 0) _hub.Detach(c); // no event will follow
    }

    /// <summary>A read arrives on the loop.</summary>
    private void StartRead(ReadOp op)
    {
        if (_closedOnLoop) { op.TrySetException(TcpErrors.Io(SocketError.OperationAborted)); return; }
        if (op.IsCompleted) return; // cancelled before it got here
        _reads.Enqueue(op);
        ServiceReads();
    }

    /// <summary>The read's token fired (loop): it leaves the queue, then completes (never the other way round: once
    /// complete, the caller may reuse the object at once).</summary>
    private void CancelRead(ReadOp op, short version)
    {
        if (op.Version != version || op.IsCompleted) return;
        Remove(_reads, op);
        op.TrySetCanceled();
    }

    private void CancelWrite(WriteOp op, short version)
    {
        if (op.Version != version || op.IsCompleted) return;
        Remove(_writes, op);
        op.TrySetCanceled();
        ServiceWrites(); // a write behind the cancelled one may proceed
    }

    private void ServiceReads()
    {
        while (_reads.TryPeek(out var w))
        {
            if (w.IsCompleted) { _reads.Dequeue(); continue; }
            if (!TryCompleteRead(w, out int result, out var error)) return;
            _reads.Dequeue();
            if (error is not null) w.TrySetException(error);
            else w.TrySetResult(result);
        }
    }

    private bool TryCompleteRead(ReadOp w, out int result, out Exception? error)
    {
        var c = _connection;
        result = 0;
        error = null;
        if (w.Buffer.IsEmpty)
        {
            // A zero-byte read (SslStream and Kestrel use them) completes once reading would not wait.
            return (c.Readiness & TcpReadiness.Readable) != 0 || c.State == TcpState.Closed;
        }
        int n = c.Receive(w.Buffer.Span);
        if (n > 0)
        {
            Volatile.Write(ref _urgentRemaining, c.UrgentRemaining);
            result = n;
            _dispatcher.Wake(); // a window update may be due
            return true;
        }
        if (c.ReceiveFinished) return true;
        if (c.Error != TcpError.None) { error = TcpErrors.Io(TcpErrors.ToSocketError(c.Error)); return true; }
        return c.State == TcpState.Closed;
    }

    /// <summary>A write arrives on the loop.</summary>
    private void StartWrite(WriteOp op)
    {
        if (_closedOnLoop) { op.TrySetException(TcpErrors.Io(SocketError.OperationAborted)); return; }
        if (op.IsCompleted) return; // cancelled before it got here
        _writes.Enqueue(op);
        ServiceWrites();
    }

    private void ServiceWrites()
    {
        while (_writes.TryPeek(out var w))
        {
            if (w.IsCompleted) { _writes.Dequeue(); continue; }
            if (!TryProgressWrite(w, out var error)) return;
            _writes.Dequeue();
            if (error is not null) w.TrySetException(error);
            else w.TrySetResult(true);
        }
        if (_shutdownPending)
        {
            _shutdownPending = false;
            _connection.Shutdown();
            _dispatcher.Wake();
        }
    }

    private bool TryProgressWrite(WriteOp w, out Exception? error)
    {
        var c = _connection;
        error = null;
        if (c.Error != TcpError.None) { error = TcpErrors.Io(TcpErrors.ToSocketError(c.Error)); return true; }
        if (c.State is not (TcpState.Established or TcpState.CloseWait))
        {
            // Our FIN is queued (ShutdownSend) or the connection has closed: EPIPE's equivalent.
            error = TcpErrors.Io(SocketError.Shutdown);
            return true;
        }
        int n = w.Urgent ? c.SendUrgent(w.Data.Span[w.Written..]) : c.Send(w.Data.Span[w.Written..]);
        if (n > 0)
        {
            w.Written += n;
            _dispatcher.Wake();
        }
        return w.Written >= w.Data.Length;
    }

    /// <summary>Closes (or aborts) the connection and fails what is pending (loop).</summary>
    internal void CloseOnLoop(bool abort)
    {
        if (_closedOnLoop) return;
        _closedOnLoop = true;
        Trace.End(abort, SocketError.Success);
        _connect?.TrySetException(TcpErrors.Socket(SocketError.OperationAborted));
        _connect = null;
        while (_reads.TryDequeue(out var r)) r.TrySetException(TcpErrors.Io(SocketError.OperationAborted));
        while (_writes.TryDequeue(out var w)) w.TrySetException(TcpErrors.Io(SocketError.OperationAborted));
        _hub.Detach(_connection);
        if (abort) _connection.Abort();
        else _connection.Close();
        _dispatcher.Wake();
    }

    // ---- helpers ---------------------------------------------------------------------------

    /// <summary>Takes <paramref name="op"/> out of <paramref name="queue"/> (loop), keeping the others in order.</summary>
    private static void Remove<T>(Queue<T> queue, T op) where T : class
    {
        int n = queue.Count;
        for (int i = 0; i < n; i++)
        {
            var x = queue.Dequeue();
            if (!ReferenceEquals(x, op)) queue.Enqueue(x);
        }
    }

    /// <summary>Posts to the loop; when the loop is gone (stopped host), runs inline so that nothing waits forever.</summary>
    internal static void OnLoopOrInline(IStackDispatcher dispatcher, Action work)
    {
        if (dispatcher.IsOnLoopThread) { work(); return; }
        try
        {
            dispatcher.Post(work);
        }
        catch (ObjectDisposedException)
        {
            work();
        }
    }

    private void PostIfOpen(Action work)
    {
        if (_disposed) return;
        OnLoopOrInline(_dispatcher, () => { if (!_closedOnLoop) work(); });
    }

    private void ThrowIfOnLoop()
    {
        if (_dispatcher.IsOnLoopThread)
            throw new InvalidOperationException("Synchronous I/O on the stack's loop thread would wait for itself; use the async methods.");
    }

    internal static IPEndPoint ToIPEndPoint(IpEndpoint e) => new(e.Address.ToIPAddress(), e.Port);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _sendShutdown = true;
            _pipe?.Stop();
            OnLoopOrInline(_dispatcher, () => CloseOnLoop(abort: false));
        }
        base.Dispose(disposing);
    }

    /// <summary>Closes gracefully (FIN after the queued bytes; RST when received bytes were left unread, RFC 2525 §2.17).</summary>
    public override async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        if (_pipe is { } pipe) await pipe.StopAsync().ConfigureAwait(false);
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc/>
    public override string ToString() => $"TCP {LocalEndPoint} -> {RemoteEndPoint}";
}
