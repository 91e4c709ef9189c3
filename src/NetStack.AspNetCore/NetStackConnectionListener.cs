using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using NetStack.Sockets;

namespace NetStack.AspNetCore;

/// <summary>
/// A bound Kestrel endpoint on a NetStack stack: hands Kestrel each accepted connection as a <see cref="ConnectionContext"/>.
/// Unbinding or disposing stops listening (connections not yet accepted are reset); pending and later accepts return null,
/// which ends Kestrel's accept loop, as with sockets.
/// </summary>
internal sealed class NetStackConnectionListener : IConnectionListener
{
    private readonly AsyncTcpListener _listener;
    private readonly MemoryPool<byte> _memoryPool;
    private readonly NetStackTransportOptions _options;
    private readonly ILogger _logger;
    private readonly string _idPrefix;
    private long _nextId;

    public NetStackConnectionListener(AsyncTcpListener listener, MemoryPool<byte> memoryPool, NetStackTransportOptions options, ILogger logger)
    {
        _listener = listener;
        _memoryPool = memoryPool;
        _options = options;
        _logger = logger;
        EndPoint = listener.LocalEndPoint;
        _idPrefix = ConnectionIds.NewPrefix();
    }

    /// <inheritdoc/>
    public EndPoint EndPoint { get; }

    /// <inheritdoc/>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        TcpConnectionStream stream;
        try
        {
            stream = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return null; // unbound
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
        {
            return null; // unbound, or the stack stopped
        }
        var connection = new NetStackConnection(stream, $"{_idPrefix}:{Interlocked.Increment(ref _nextId):X8}", _memoryPool, _options, _logger);
        connection.Start();
        return connection;
    }

    /// <inheritdoc/>
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => _listener.DisposeAsync();

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        _memoryPool.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"NetStack listener {EndPoint}";
}

/// <summary>Connection ids unique in the process, readable in logs: a per-listener prefix and a counter.</summary>
internal static class ConnectionIds
{
    private static long s_next = DateTime.UtcNow.Ticks;

    public static string NewPrefix() => "NS" + (Interlocked.Increment(ref s_next) & 0xFFFFFFFFFFL).ToString("X10", System.Globalization.CultureInfo.InvariantCulture);
}
