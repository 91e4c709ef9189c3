using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using NetStack.Tap;
using NetStack.Network;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>The result of <see cref="AsyncUdpSocket.ReceiveFromAsync"/>: like <see cref="SocketReceiveMessageFromResult"/>, plus the IP header fields a measurement tool wants.</summary>
/// <param name="ReceivedBytes">Bytes copied into the caller's buffer (the datagram is truncated to the buffer, as recvfrom does).</param>
/// <param name="RemoteEndPoint">The sender.</param>
/// <param name="LocalAddress">The destination address of the datagram: ours, a broadcast address or a multicast group.</param>
/// <param name="Ttl">IPv4 TTL or IPv6 hop limit as received.</param>
/// <param name="TrafficClass">IPv4 TOS byte or IPv6 traffic class as received.</param>
/// <param name="FlowLabel">IPv6 flow label as received (0 for IPv4).</param>
/// <param name="InterfaceIndex">The interface it arrived on.</param>
/// <param name="DatagramLength">The datagram's full payload length (larger than <paramref name="ReceivedBytes"/> when truncated).</param>
public readonly record struct UdpReceiveResult(int ReceivedBytes, IPEndPoint RemoteEndPoint, IPAddress LocalAddress,
    int Ttl, int TrafficClass, int FlowLabel, int InterfaceIndex, int DatagramLength)
{
    /// <summary>True when the datagram was longer than the buffer and was cut (MSG_TRUNC).</summary>
    public bool Truncated => DatagramLength > ReceivedBytes;

    /// <summary>The IPv4 options the datagram came with, byte for byte (NOP / End-of-List padding aside), like Linux
    /// <c>IP_RECVOPTS</c> (RFC 1122 §4.1.3.2); empty when none and for IPv6. <c>HeaderOptions.ToArray()</c> gives the bytes.</summary>
    public IpHeaderOptions HeaderOptions { get; init; }
}

/// <summary>A received datagram with its own copy of the payload (for <see cref="AsyncUdpSocket.ReceiveAllAsync"/>).</summary>
public sealed record UdpMessage(byte[] Data, UdpReceiveResult Info);

/// <summary>
/// A UDP socket shaped like <see cref="Socket"/>'s datagram API, over a NetStack stack: every call is handed to the
/// stack's loop (an <see cref="IStackDispatcher"/>). Pending receives complete when a datagram arrives, fail with
/// <see cref="OperationCanceledException"/> when their token is cancelled, and with <see cref="SocketException"/>
/// (<see cref="SocketError.OperationAborted"/>) when the socket is disposed. ICMP and ICMPv6 errors about datagrams
/// it sent (port unreachable, time exceeded, packet too big...) are read with <see cref="ReceiveErrorAsync"/>, like
/// Linux's <c>IP_RECVERR</c> error queue.
/// <para>Per-datagram IP controls (TTL / hop limit, DF, traffic class, flow label, IPv4 header options built with
/// <see cref="IpHeaderOptions.Create"/>) are given to <see cref="SendToAsync"/>; <see cref="DefaultSendOptions"/> applies
/// when none are given (a socket-wide <c>IP_OPTIONS</c>). Received IPv4 options come in <see cref="UdpReceiveResult.HeaderOptions"/>.</para>
/// <para>Trains of datagrams (Linux's <c>UDP_SEGMENT</c>, sent as one super-frame to a TAP with USO) go with
/// <see cref="SendSegmentedAsync"/>.</para>
/// <para>Cost per call: <see cref="SendToAsync"/>, <see cref="SendSegmentedAsync"/> and <see cref="ReceiveFromAsync"/> complete through pooled
/// <see cref="IValueTaskSource{TResult}"/>s (nothing is allocated per call in steady state); called on the loop thread
/// (from a continuation run there, see <see cref="RunContinuationsOnLoop"/>) they run inline, without a queue or a wake-up.
/// Continuations of pending receives and sends run on the thread pool unless <see cref="RunContinuationsOnLoop"/> is set.</para>
/// </summary>
public sealed partial class AsyncUdpSocket : IAsyncDisposable, IDisposable, ILoopClosable
{
    private readonly IStackDispatcher _dispatcher;
    private readonly UdpSocket _socket;
    private readonly Queue<ReceiveOperation> _waiters = new();
    private ReceiveOperation? _freeReceive; // one pooled operation of each kind (the common case: one call outstanding)
    private SendOperation? _freeSend;
    private IPEndPoint? _lastRemote; // loop only: the endpoint object handed out for the last sender, reused while it repeats
    private IpEndpoint _lastRemoteCore;
    private IPAddress? _lastLocal;
    private IpAddress _lastLocalCore;
    private volatile bool _continuationsOnLoop;
    private readonly Queue<TaskCompletionSource<UdpError>> _errorWaiters = new();
    private readonly Action<AsyncUdpSocket>? _onClosed;
    private volatile bool _disposed;

    internal AsyncUdpSocket(IStackDispatcher dispatcher, UdpSocket socket, Action<AsyncUdpSocket>? onClosed = null)
    {
        _dispatcher = dispatcher;
        _socket = socket;
        _onClosed = onClosed;
        LocalEndPoint = socket.LocalEndpoint.ToIPEndPoint();
        socket.Readable += OnReadable;
    }

    /// <summary>
    /// Binds a socket on the stack's loop (address <see cref="IPAddress.Any"/> / <see cref="IPAddress.IPv6Any"/> for
    /// every address of the family, port 0 for an ephemeral port) and registers it with <paramref name="owner"/> (the
    /// stack, which closes it when it stops). Fails with <see cref="SocketException"/>:
    /// <see cref="SocketError.AddressAlreadyInUse"/>, <see cref="SocketError.TooManyOpenSockets"/> when the
    /// ephemeral range is exhausted, or <see cref="SocketError.OperationAborted"/> when the owner has stopped.
    /// </summary>
    internal static Task<AsyncUdpSocket> BindAsync(IStackDispatcher dispatcher, UdpLayer udp, IPEndPoint local,
        OpenSockets? owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(udp);
        ArgumentNullException.ThrowIfNull(local);
        var endpoint = IpEndpoint.FromIPEndPoint(local);
        return dispatcher.InvokeAsync(() =>
        {
            if (owner is { IsClosed: true }) throw new SocketException((int)SocketError.OperationAborted);
            var socket = new AsyncUdpSocket(dispatcher, udp.Bind(endpoint), owner is null ? null : owner.Remove);
            return owner is null ? socket : owner.Add(socket);
        }, cancellationToken);
    }

    /// <summary>Closes the socket on the loop thread (for owners shutting a stack down); pending operations fail with OperationAborted.</summary>
    void ILoopClosable.CloseOnLoop()
    {
        _disposed = true;
        Close();
    }

    /// <summary>The bound address and port (the port chosen when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The connected peer, if any.</summary>
    public IPEndPoint? RemoteEndPoint { get; private set; }

    /// <summary>IP controls used by sends that give none (like <see cref="Socket.Ttl"/> and friends). Default: the stack's.</summary>
    public IpSendOptions DefaultSendOptions { get; set; }

    /// <summary>
    /// Linux IP_MULTICAST_LOOP: datagrams sent to a group this host has joined are also received by the host's sockets on
    /// the port (default true). Takes effect on the stack's loop, before datagrams sent after the change.
    /// </summary>
    public bool MulticastLoopback
    {
        get => Volatile.Read(ref _multicastLoopback);
        set
        {
            Volatile.Write(ref _multicastLoopback, value);
            _dispatcher.RunOnLoop(() => _socket.MulticastLoopback = value);
        }
    }

    private bool _multicastLoopback = true;

    /// <summary>
    /// When true, the continuations of this socket's pending <see cref="ReceiveFromAsync"/> and <see cref="SendToAsync"/>
    /// run on the stack's loop thread, right after the loop's current poll, instead of being handed to the thread pool (like
    /// Kestrel's inline scheduling). A request/response service then costs one wake-up of the loop and no thread hop: its
    /// next send and receive, made from the loop thread, run inline. Only for continuations that never block (no
    /// synchronous waits, no long computations): while one runs the stack does not move. Default false.
    /// </summary>
    public bool RunContinuationsOnLoop
    {
        get => _continuationsOnLoop;
        set => _continuationsOnLoop = value;
    }

    /// <summary>Datagrams this socket dropped because its receive queue was full (read on any thread; eventually consistent).</summary>
    public long DroppedFull => _socket.DroppedFull;

    /// <summary>Receives only from <paramref name="remote"/> and sends there by default (RFC 8085 §3.2 "connected" UDP).</summary>
    public Task ConnectAsync(IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var r = IpEndpoint.FromIPEndPoint(remote);
        return _dispatcher.InvokeAsync(() =>
        {
            ObjectDisposedException.ThrowIf(_socket.IsClosed, this);
            _socket.Connect(r);
            RemoteEndPoint = remote;
            return true;
        }, cancellationToken);
    }

    /// <summary>Sends one datagram to the connected peer.</summary>
    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        SendToAsync(data, null, null, cancellationToken);

    /// <summary>
    /// Sends one datagram to <paramref name="remote"/> (the connected peer when null). <paramref name="options"/> sets
    /// TTL / hop limit, DF, traffic class and IPv6 flow label for this datagram only (<see cref="DefaultSendOptions"/> when null).
    /// Errors are <see cref="SocketException"/>s: <see cref="SocketError.NetworkUnreachable"/> (no route),
    /// <see cref="SocketError.AddressNotAvailable"/> (no source address), <see cref="SocketError.MessageSize"/>
    /// (larger than a datagram, or than the path MTU with DF), <see cref="SocketError.NoBufferSpaceAvailable"/> (a queue was full).
    /// </summary>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> data, IPEndPoint? remote = null, IpSendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IpEndpoint? to = remote is null ? null : IpEndpoint.FromIPEndPoint(remote);
        var opts = options ?? DefaultSendOptions;
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        if (_dispatcher.IsOnLoopThread)
        {
            // Inline: the datagram leaves now, no queue and no wake-up (the Wake below is a flag on the loop thread).
            try { return new ValueTask<int>(SendOnLoop(data, 0, to, opts)); }
            catch (Exception e) { return ValueTask.FromException<int>(e); }
        }
        return PostSend(data, 0, to, opts, cancellationToken);
    }

    /// <summary>
    /// Sends <paramref name="data"/> as a train of datagrams of <paramref name="segmentSize"/> bytes each, the last one
    /// possibly shorter, to <paramref name="remote"/> (the connected peer when null): Linux's <c>UDP_SEGMENT</c> socket
    /// option (UDP GSO), one call for up to <see cref="UdpSocket.MaxSegments"/> datagrams. Toward a TAP with USO the train
    /// leaves as one super-frame that the kernel cuts; toward any other device the stack cuts it. The receiver sees
    /// ordinary datagrams. Completes with <paramref name="data"/>'s length once the train has been handed to the stack,
    /// through the same pooled machinery as <see cref="SendToAsync"/> (nothing allocated per call in steady state; inline
    /// on the loop thread). Errors as <see cref="SendToAsync"/>; <see cref="SocketError.MessageSize"/> also when a
    /// datagram would exceed the path MTU, the whole a 64 KB datagram, or the count <see cref="UdpSocket.MaxSegments"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="segmentSize"/> is not positive.</exception>
    public ValueTask<int> SendSegmentedAsync(ReadOnlyMemory<byte> data, int segmentSize, IPEndPoint? remote = null, IpSendOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(segmentSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        IpEndpoint? to = remote is null ? null : IpEndpoint.FromIPEndPoint(remote);
        var opts = options ?? DefaultSendOptions;
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        if (_dispatcher.IsOnLoopThread)
        {
            try { return new ValueTask<int>(SendOnLoop(data, segmentSize, to, opts)); }
            catch (Exception e) { return ValueTask.FromException<int>(e); }
        }
        return PostSend(data, segmentSize, to, opts, cancellationToken);
    }

    /// <summary>Off the loop: a pooled send operation posted to the loop (<paramref name="segmentSize"/> 0: one datagram).</summary>
    private ValueTask<int> PostSend(ReadOnlyMemory<byte> data, int segmentSize, IpEndpoint? to, in IpSendOptions options, CancellationToken cancellationToken)
    {
        var op = Interlocked.Exchange(ref _freeSend, null) ?? new SendOperation(this);
        var pending = op.Start(data, segmentSize, to, options, cancellationToken, !_continuationsOnLoop);
        try
        {
            _dispatcher.PostItem(op);
        }
        catch (ObjectDisposedException e)
        {
            return ValueTask.FromException<int>(e); // the stack has stopped (the operation is not reused)
        }
        return pending;
    }

    /// <summary>
    /// Loop only: one datagram out (<paramref name="segmentSize"/> 0) or a train of them, the result mapped to a byte count
    /// or the exception a socket would throw.
    /// </summary>
    private int SendOnLoop(ReadOnlyMemory<byte> data, int segmentSize, IpEndpoint? to, in IpSendOptions options)
    {
        if (_socket.IsClosed) throw new ObjectDisposedException(nameof(AsyncUdpSocket));
        var result = segmentSize == 0
            ? _socket.Send(data.Span, to, options, _dispatcher.Now)
            : _socket.SendSegmented(data.Span, segmentSize, to, options, _dispatcher.Now);
        _dispatcher.Wake(); // timers may have changed (a neighbour being resolved): the loop polls again before it sleeps
        return result switch
        {
            IpSendResult.Sent => data.Length,
            IpSendResult.NoRoute => throw new SocketException((int)SocketError.NetworkUnreachable),
            IpSendResult.NoSourceAddress => throw new SocketException((int)SocketError.AddressNotAvailable),
            IpSendResult.TooBig => throw new SocketException((int)SocketError.MessageSize),
            _ => throw new SocketException((int)SocketError.NoBufferSpaceAvailable),
        };
    }

    /// <summary>Receives one datagram into <paramref name="buffer"/> (a longer datagram is truncated, as recvfrom does).</summary>
    public ValueTask<UdpReceiveResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<UdpReceiveResult>(cancellationToken);
        if (_dispatcher.IsOnLoopThread && _waiters.Count == 0)
        {
            // Inline: a datagram already queued is returned at once, without a queue or a wake-up.
            if (_socket.IsClosed) return ValueTask.FromException<UdpReceiveResult>(Aborted());
            if (TryReceiveNow(buffer.Span, out var result)) return new ValueTask<UdpReceiveResult>(result);
        }
        var op = Interlocked.Exchange(ref _freeReceive, null) ?? new ReceiveOperation(this);
        var pending = op.Start(buffer, cancellationToken, !_continuationsOnLoop);
        if (_dispatcher.IsOnLoopThread)
        {
            op.Run(); // queues it behind the earlier waiters, or completes it
            return pending;
        }
        try
        {
            _dispatcher.PostItem(op);
        }
        catch (ObjectDisposedException e)
        {
            op.TryFail(e); // the stack has stopped
        }
        return pending;
    }

    /// <summary>Every datagram as it arrives, until the token is cancelled (the enumeration then ends with
    /// <see cref="OperationCanceledException"/>) or the socket is disposed (the enumeration ends quietly).</summary>
    public async IAsyncEnumerable<UdpMessage> ReceiveAllAsync(int maxDatagramSize = 65535, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new byte[maxDatagramSize];
        while (!_disposed)
        {
            UdpReceiveResult r;
            try
            {
                r = await ReceiveFromAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
            {
                yield break;
            }
            catch (ObjectDisposedException)
            {
                yield break;
            }
            yield return new UdpMessage(buffer.AsSpan(0, r.ReceivedBytes).ToArray(), r);
        }
    }

    /// <summary>
    /// The next ICMP / ICMPv6 error about a datagram this socket sent (like Linux's error queue): the reporter, type
    /// and code, MTU or pointer, the quoted datagram's destination and the quoted bytes.
    /// </summary>
    public async ValueTask<UdpError> ReceiveErrorAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<UdpError>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _dispatcher.InvokeAsync(() =>
        {
            if (_socket.IsClosed) tcs.TrySetException(Aborted());
            else if (_socket.TryReceiveError(out var e)) tcs.TrySetResult(e);
            else _errorWaiters.Enqueue(tcs);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (tcs.Task.IsCompleted) return await tcs.Task.ConfigureAwait(false);
        using (cancellationToken.Register(() => CancelOnLoop(tcs, _errorWaiters, tcs, cancellationToken)))
        {
            return await tcs.Task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cancels a pending operation from the token's callback: the queue is the loop's, so the removal runs there; when the
    /// loop is gone (stopped stack), nobody else touches the queue and the task is cancelled directly.
    /// </summary>
    private void CancelOnLoop<T, TItem>(TaskCompletionSource<T> completion, Queue<TItem> queue, TItem item, CancellationToken token)
    {
        try
        {
            _dispatcher.Post(() =>
            {
                if (completion.TrySetCanceled(token)) Remove(queue, item);
            });
        }
        catch (ObjectDisposedException)
        {
            completion.TrySetCanceled(token);
        }
    }

    private void OnReadable(UdpSocket socket)
    {
        while (_waiters.Count > 0 && socket.Available > 0)
        {
            var op = _waiters.Dequeue();
            if (!op.TryClaim()) continue; // cancelled meanwhile: the datagram stays for the next receive
            TryReceiveNow(op.Buffer.Span, out var result);
            op.Complete(result);
        }
        while (_errorWaiters.Count > 0 && socket.ErrorsAvailable > 0)
        {
            var t = _errorWaiters.Dequeue();
            if (t.Task.IsCompleted) continue;
            if (socket.TryReceiveError(out var e)) t.TrySetResult(e);
        }
    }

    /// <summary>Loop only: the oldest queued datagram into <paramref name="buffer"/>, false when none is queued.</summary>
    private bool TryReceiveNow(Span<byte> buffer, out UdpReceiveResult result)
    {
        if (!_socket.TryReceive(buffer, out var info, out int copied))
        {
            result = default;
            return false;
        }
        // The same IPEndPoint / IPAddress objects are handed out while the sender repeats (as Socket.ReceiveFrom reuses the
        // caller's endpoint): a request/response exchange allocates nothing per datagram.
        if (_lastRemote is null || _lastRemoteCore != info.Remote)
        {
            _lastRemote = info.Remote.ToIPEndPoint();
            _lastRemoteCore = info.Remote;
        }
        if (_lastLocal is null || _lastLocalCore != info.LocalAddress)
        {
            _lastLocal = info.LocalAddress.ToIPAddress();
            _lastLocalCore = info.LocalAddress;
        }
        result = new UdpReceiveResult(copied, _lastRemote, _lastLocal,
            info.Ttl, info.TrafficClass, (int)info.FlowLabel, info.InterfaceIndex, info.Length) { HeaderOptions = info.HeaderOptions };
        return true;
    }

    private static void Remove<T>(Queue<T> queue, T item)
    {
        int n = queue.Count;
        for (int i = 0; i < n; i++)
        {
            var x = queue.Dequeue();
            if (!ReferenceEquals(x, item)) queue.Enqueue(x);
        }
    }

    private static SocketException Aborted() => new((int)SocketError.OperationAborted);

    /// <summary>Closes the socket on the loop: pending receives fail with <see cref="SocketError.OperationAborted"/>, the port is freed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_dispatcher.IsOnLoopThread) { Close(); return; }
        try
        {
            await _dispatcher.InvokeAsync(() => { Close(); return true; }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
        {
            Close(); // the loop has stopped: nothing else touches the socket any more
        }
    }

    /// <summary>As <see cref="DisposeAsync"/>, without waiting for the loop.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _dispatcher.RunOnLoop(Close);
    }

    private void Close()
    {
        if (_socket.IsClosed && _waiters.Count == 0 && _errorWaiters.Count == 0) return;
        bool first = !_socket.IsClosed;
        _socket.Readable -= OnReadable;
        _socket.Dispose();
        if (first) _onClosed?.Invoke(this);
        while (_waiters.TryDequeue(out var w)) w.TryFail(Aborted());
        while (_errorWaiters.TryDequeue(out var t)) t.TrySetException(Aborted());
    }
}
