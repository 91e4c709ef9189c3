using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using NetStack.Network;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>The result of <see cref="AsyncUdpSocket.ReceiveFromAsync"/>: like <see cref="SocketReceiveMessageFromResult"/>, plus the IP header fields a measurement tool wants.</summary>
public readonly record struct UdpReceiveResult(int ReceivedBytes, IPEndPoint RemoteEndPoint, IPAddress LocalAddress,
    int Ttl, int TrafficClass, int FlowLabel, int InterfaceIndex);

/// <summary>A received datagram with its own copy of the payload (for <see cref="AsyncUdpSocket.ReceiveAllAsync"/>).</summary>
public sealed record UdpMessage(byte[] Data, UdpReceiveResult Info);

/// <summary>
/// A UDP socket shaped like <see cref="Socket"/>'s datagram API, over a NetStack stack: every call is handed to the
/// stack's loop. Pending receives complete when a datagram arrives, fail with <see cref="OperationCanceledException"/>
/// when their token is cancelled, and with <see cref="SocketException"/> (<see cref="SocketError.OperationAborted"/>)
/// when the socket is disposed. ICMP errors about datagrams it sent are read with <see cref="ReceiveErrorAsync"/>.
/// </summary>
public sealed class AsyncUdpSocket : IAsyncDisposable, IDisposable
{
    private sealed class Waiter(Memory<byte> buffer)
    {
        public readonly Memory<byte> Buffer = buffer;
        public readonly TaskCompletionSource<UdpReceiveResult> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly IStackDispatcher _dispatcher;
    private readonly UdpSocket _socket;
    private readonly Queue<Waiter> _waiters = new();
    private readonly Queue<TaskCompletionSource<UdpError>> _errorWaiters = new();
    private bool _disposed;

    internal AsyncUdpSocket(IStackDispatcher dispatcher, UdpSocket socket)
    {
        _dispatcher = dispatcher;
        _socket = socket;
        LocalEndPoint = socket.LocalEndpoint.ToIPEndPoint();
        socket.Readable += OnReadable;
    }

    /// <summary>Binds a socket on the stack's loop (port 0 picks an ephemeral port).</summary>
    public static Task<AsyncUdpSocket> BindAsync(IStackDispatcher dispatcher, UdpLayer udp, IPEndPoint local, CancellationToken cancellationToken = default) =>
        dispatcher.InvokeAsync(() => new AsyncUdpSocket(dispatcher, udp.Bind(IpEndpoint.FromIPEndPoint(local))), cancellationToken);

    public IPEndPoint LocalEndPoint { get; }
    public IPEndPoint? RemoteEndPoint { get; private set; }

    /// <summary>Receives only from <paramref name="remote"/> and sends there by default.</summary>
    public Task ConnectAsync(IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        RemoteEndPoint = remote;
        var r = IpEndpoint.FromIPEndPoint(remote);
        return _dispatcher.InvokeAsync(() => { _socket.Connect(r); return true; }, cancellationToken);
    }

    /// <summary>Sends one datagram. <paramref name="options"/> sets TTL / hop limit, DF, traffic class and flow label for this datagram.</summary>
    public async ValueTask<int> SendToAsync(ReadOnlyMemory<byte> data, IPEndPoint? remote = null, IpSendOptions options = default, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        IpEndpoint? to = remote is null ? null : IpEndpoint.FromIPEndPoint(remote);
        var result = await _dispatcher.InvokeAsync(() =>
        {
            var r = _socket.Send(data.Span, to, options, _dispatcher.Now);
            _dispatcher.Wake();
            return r;
        }, cancellationToken).ConfigureAwait(false);
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
    public async ValueTask<UdpReceiveResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var waiter = new Waiter(buffer);
        await _dispatcher.InvokeAsync(() =>
        {
            if (_disposed) waiter.Completion.TrySetException(Aborted());
            else if (!TryComplete(waiter)) _waiters.Enqueue(waiter);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        using (cancellationToken.Register(() => _dispatcher.Post(() =>
        {
            if (waiter.Completion.TrySetCanceled(cancellationToken)) Remove(_waiters, waiter);
        })))
        {
            return await waiter.Completion.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Every datagram as it arrives, until the token is cancelled or the socket disposed.</summary>
    public async IAsyncEnumerable<UdpMessage> ReceiveAllAsync(int maxDatagramSize = 65535, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var buffer = new byte[maxDatagramSize];
        while (!cancellationToken.IsCancellationRequested && !_disposed)
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
            yield return new UdpMessage(buffer.AsSpan(0, r.ReceivedBytes).ToArray(), r);
        }
    }

    /// <summary>The next ICMP / ICMPv6 error about a datagram this socket sent (like Linux's error queue).</summary>
    public async ValueTask<UdpError> ReceiveErrorAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tcs = new TaskCompletionSource<UdpError>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _dispatcher.InvokeAsync(() =>
        {
            if (_disposed) tcs.TrySetException(Aborted());
            else if (_socket.TryReceiveError(out var e)) tcs.TrySetResult(e);
            else _errorWaiters.Enqueue(tcs);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        using (cancellationToken.Register(() => _dispatcher.Post(() =>
        {
            if (tcs.TrySetCanceled(cancellationToken)) Remove(_errorWaiters, tcs);
        })))
        {
            return await tcs.Task.ConfigureAwait(false);
        }
    }

    private void OnReadable(UdpSocket socket)
    {
        while (_waiters.Count > 0 && socket.Available > 0)
        {
            var w = _waiters.Dequeue();
            if (w.Completion.Task.IsCompleted) continue;
            TryComplete(w);
        }
        while (_errorWaiters.Count > 0 && socket.ErrorsAvailable > 0)
        {
            var t = _errorWaiters.Dequeue();
            if (t.Task.IsCompleted) continue;
            if (socket.TryReceiveError(out var e)) t.TrySetResult(e);
        }
    }

    private bool TryComplete(Waiter w)
    {
        if (!_socket.TryReceive(w.Buffer.Span, out var info, out int copied)) return false;
        w.Completion.TrySetResult(new UdpReceiveResult(copied, info.Remote.ToIPEndPoint(), info.LocalAddress.ToIPAddress(),
            info.Ttl, info.TrafficClass, (int)info.FlowLabel, info.InterfaceIndex));
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

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await _dispatcher.InvokeAsync(() => { Close(); return true; }).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_dispatcher.IsOnLoopThread) Close();
        else _dispatcher.Post(Close);
        _disposed = true;
    }

    private void Close()
    {
        _disposed = true;
        _socket.Readable -= OnReadable;
        _socket.Dispose();
        while (_waiters.TryDequeue(out var w)) w.Completion.TrySetException(Aborted());
        while (_errorWaiters.TryDequeue(out var t)) t.TrySetException(Aborted());
    }
}
