using System.Net;
using System.Net.Sockets;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// A listening TCP socket of a NetStack stack, shaped like <see cref="System.Net.Sockets.TcpListener"/> / a listening <see cref="Socket"/>:
/// <see cref="AcceptAsync"/> hands out established connections as <see cref="TcpConnectionStream"/>s. The engine's
/// listener keeps a bounded SYN queue and accept queue (<c>backlog</c>) and answers with SYN cookies when they are full
/// (RFC 4987). Disposing it stops listening: connections not yet accepted are reset and pending accepts fail with
/// <see cref="SocketException"/> (OperationAborted).
/// </summary>
public sealed class AsyncTcpListener : IAsyncDisposable, IDisposable
{
    private readonly IStackDispatcher _dispatcher;
    private readonly TcpSocketHub _hub;
    private readonly Transport.Tcp.TcpListenSocket _listener;
    private readonly Queue<TaskCompletionSource<TcpConnectionStream>> _waiters = new();
    private bool _closedOnLoop;
    private volatile bool _disposed;

    private AsyncTcpListener(IStackDispatcher dispatcher, TcpSocketHub hub, Transport.Tcp.TcpListenSocket listener)
    {
        _dispatcher = dispatcher;
        _hub = hub;
        _listener = listener;
        LocalEndPoint = TcpConnectionStream.ToIPEndPoint(listener.Local);
        hub.Attach(listener, this);
    }

    /// <summary>
    /// Listens on <paramref name="local"/> (<see cref="IPAddress.Any"/> or <see cref="IPAddress.IPv6Any"/>: every address of
    /// both families). <paramref name="options"/> apply to the connections it accepts. Fails with
    /// <see cref="SocketException"/> AddressAlreadyInUse when something already listens there.
    /// </summary>
    internal static Task<AsyncTcpListener> ListenAsync(IStackDispatcher dispatcher, TcpSocketHub hub, IPEndPoint local, int backlog = 128,
        TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(hub);
        var layer = hub.Layer;
        ArgumentNullException.ThrowIfNull(local);
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        if (local.Port is < 1 or > 65535) throw new ArgumentOutOfRangeException(nameof(local), "A listener needs a port.");
        var settings = options?.Apply(layer.Settings) ?? layer.Settings;
        var address = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
        var endpoint = new IpEndpoint(IpAddress.FromIPAddress(address), (ushort)local.Port);
        return dispatcher.InvokeAsync(() =>
        {
            if (hub.IsClosed) throw new SocketException((int)SocketError.OperationAborted); // the stack stopped
            Transport.Tcp.TcpListenSocket l;
            try
            {
                l = layer.Listen(endpoint, backlog, settings);
            }
            catch (InvalidOperationException)
            {
                throw new SocketException((int)SocketError.AddressAlreadyInUse);
            }
            return new AsyncTcpListener(dispatcher, hub, l);
        }, cancellationToken);
    }

    /// <summary>The address and port listened on.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>The next established connection, waiting for one if none is queued.</summary>
    public async ValueTask<TcpConnectionStream> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var stream = await AcceptCoreAsync(cancellationToken).ConfigureAwait(false);
        TcpConnectionTrace.Accepted(stream.LocalEndPoint, stream.RemoteEndPoint);
        stream.Trace.Start(System.Diagnostics.ActivityKind.Server, stream.LocalEndPoint, stream.RemoteEndPoint);
        return stream;
    }

    private async ValueTask<TcpConnectionStream> AcceptCoreAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new TaskCompletionSource<TcpConnectionStream>(TaskCreationOptions.RunContinuationsAsynchronously);
        _dispatcher.Post(() =>
        {
            if (waiter.Task.IsCompleted) return;
            if (_closedOnLoop) { waiter.TrySetException(new SocketException((int)SocketError.OperationAborted)); return; }
            _waiters.Enqueue(waiter);
            OnReady();
        });
        if (!cancellationToken.CanBeCanceled) return await waiter.Task.ConfigureAwait(false);
        using (cancellationToken.Register(() => TcpConnectionStream.OnLoopOrInline(_dispatcher, () =>
        {
            if (!waiter.TrySetCanceled(cancellationToken)) return;
            int n = _waiters.Count;
            for (int i = 0; i < n; i++)
            {
                var w = _waiters.Dequeue();
                if (!w.Task.IsCompleted) _waiters.Enqueue(w);
            }
        })))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Connections are waiting, or a waiter was queued (loop).</summary>
    internal void OnReady()
    {
        while (_waiters.TryPeek(out var w))
        {
            if (w.Task.IsCompleted) { _waiters.Dequeue(); continue; }
            if (!_listener.TryAccept(out var c)) return;
            _waiters.Dequeue();
            w.TrySetResult(TcpConnectionStream.Accepted(_dispatcher, _hub, c));
        }
    }

    /// <summary>Stops listening; pending accepts fail with OperationAborted (loop).</summary>
    internal void CloseOnLoop()
    {
        if (_closedOnLoop) return;
        _closedOnLoop = true;
        _hub.Detach(_listener);
        _listener.Close();
        while (_waiters.TryDequeue(out var w)) w.TrySetException(new SocketException((int)SocketError.OperationAborted));
        _dispatcher.Wake();
    }

    /// <summary>Stops listening (on the loop) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_dispatcher.IsOnLoopThread) { CloseOnLoop(); return; }
        try
        {
            await _dispatcher.InvokeAsync(() => { CloseOnLoop(); return true; }).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            CloseOnLoop();
        }
    }

    /// <summary>Stops listening (handed to the loop).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        TcpConnectionStream.OnLoopOrInline(_dispatcher, CloseOnLoop);
    }

    /// <inheritdoc/>
    public override string ToString() => $"TCP listener {LocalEndPoint}";
}
