using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using NetStack.Sockets;

namespace NetStack.AspNetCore;

/// <summary>
/// One accepted NetStack TCP connection as Kestrel sees it, with the semantics of Kestrel's socket transport: a receive
/// loop copies the stream into <see cref="Transport"/>'s input pipe (a full pipe stops reading, so the TCP window closes),
/// a send loop copies the output pipe into the stream.
/// <list type="bullet">
/// <item>The peer's FIN completes the input pipe and fires <see cref="ConnectionClosed"/>; sending goes on (half-close,
/// RFC 9293 §3.6) until the application completes the output.</item>
/// <item>The application completing the output closes gracefully: FIN after every byte written (RFC 9293 §3.10.4), and the
/// input ends at once, as when Kestrel shuts a socket down. The stream itself is closed once the peer's FIN arrives, or after
/// <see cref="LingerTime"/> of reading and discarding what the peer still sends: a lingering close, so that a response
/// already written reaches a client that is still sending (a kernel transmits at write time; our loop at its next poll)
/// instead of being cut by the RST that closing with unread bytes sends (RFC 2525 §2.17).</item>
/// <item><see cref="Abort(ConnectionAbortedException)"/> resets the connection (RST, RFC 9293 §3.10.5) and fails what is pending.</item>
/// <item>A reset from the peer completes the input with <see cref="ConnectionResetException"/>.</item>
/// </list>
/// </summary>
internal sealed partial class NetStackConnection : ConnectionContext, IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature,
    IConnectionEndPointFeature, IConnectionLifetimeFeature, IMemoryPoolFeature
{
    /// <summary>Half a block of Kestrel's pinned pool (4 KiB): what one receive asks the input pipe for at least.</summary>
    private const int MinAllocBufferSize = 2048;

    /// <summary>Output segments (4 KiB blocks) are gathered into writes of up to this many bytes: one hand-off to the loop each.</summary>
    private const int MaxGatherSize = 256 * 1024;

    /// <summary>How long a gracefully closed connection waits for the peer's FIN before the stream is closed.</summary>
    internal static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);

    private readonly TcpConnectionStream _stream;
    private readonly ILogger _logger;
    private readonly IDuplexPipe _application;
    private readonly CancellationTokenSource _connectionClosed = new();
    private readonly TaskCompletionSource _connectionClosedFired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _shutdownLock = new();
    private readonly FeatureCollection _features = new();
    private IDictionary<object, object?>? _items;
    private Task _processing = Task.CompletedTask;
    private readonly CancellationTokenSource _stopReceiving = new();
    private bool _shutDown;
    private bool _aborted;
    private volatile Exception? _shutdownReason;
    private int _closedFired;
    private int _closeSteps;          // graceful shutdown and the end of the receive loop: the stream closes after both
    private volatile bool _receiveClean; // the receive loop saw the peer's FIN or an error: no need to linger

    public NetStackConnection(TcpConnectionStream stream, string connectionId, MemoryPool<byte> memoryPool, NetStackTransportOptions options, ILogger logger)
    {
        _stream = stream;
        _logger = logger;
        ConnectionId = connectionId;
        MemoryPool = memoryPool;
        LocalEndPoint = stream.LocalEndPoint;
        RemoteEndPoint = stream.RemoteEndPoint;
        ConnectionClosed = _connectionClosed.Token;
        long maxRead = options.MaxReadBufferSize ?? 0, maxWrite = options.MaxWriteBufferSize ?? 0;
        // Kestrel's choices for its socket transport: the application resumes on the thread pool; the transport's own
        // loops resume inline (their awaits already complete off the stack's loop thread).
        var input = new Pipe(new PipeOptions(memoryPool, PipeScheduler.ThreadPool, PipeScheduler.Inline, maxRead, maxRead / 2, useSynchronizationContext: false));
        var output = new Pipe(new PipeOptions(memoryPool, PipeScheduler.Inline, PipeScheduler.ThreadPool, maxWrite, maxWrite / 2, useSynchronizationContext: false));
        Transport = new DuplexPipe(input.Reader, output.Writer);
        _application = new DuplexPipe(output.Reader, input.Writer);
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
    }

    /// <inheritdoc/>
    public override string ConnectionId { get; set; }

    /// <inheritdoc/>
    public override IFeatureCollection Features => _features;

    /// <inheritdoc/>
    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    /// <inheritdoc/>
    public override IDuplexPipe Transport { get; set; }

    /// <inheritdoc/>
    public override CancellationToken ConnectionClosed { get; set; }

    /// <inheritdoc/>
    public override EndPoint? LocalEndPoint { get; set; }

    /// <inheritdoc/>
    public override EndPoint? RemoteEndPoint { get; set; }

    /// <inheritdoc/>
    public MemoryPool<byte> MemoryPool { get; }

    /// <summary>The NetStack stream under the connection (for diagnostics: state, RTT through <see cref="TcpConnectionStream.InspectAsync{T}"/>).</summary>
    public TcpConnectionStream Stream => _stream;

    /// <summary>Starts the receive and send loops.</summary>
    public void Start() => _processing = RunAsync();

    private async Task RunAsync()
    {
        try
        {
            var receiving = DoReceiveAsync();
            var sending = DoSendAsync();
            await receiving.ConfigureAwait(false);
            await sending.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the loops report their own errors; anything else is logged, never thrown into the thread pool
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogUnexpected(_logger, ConnectionId, e);
        }
    }

    /// <summary>Resets the connection (RST) and fails pending reads and writes; <paramref name="abortReason"/> completes the input.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        Shutdown(abortReason, abort: true);
        // Stop the send loop after the shutdown reason is set, so the input completes with it.
        _application.Input.CancelPendingRead();
    }

    /// <summary>Called by Kestrel once its connection middleware is done (and <see cref="ConnectionClosed"/> has fired or will).</summary>
    public override async ValueTask DisposeAsync()
    {
        await Transport.Input.CompleteAsync().ConfigureAwait(false);
        await Transport.Output.CompleteAsync().ConfigureAwait(false);
        await _processing.ConfigureAwait(false);
        _connectionClosed.Dispose();
        _stopReceiving.Dispose();
    }

    private async Task DoReceiveAsync()
    {
        Exception? error = null;
        var input = _application.Output;
        var stop = _stopReceiving.Token;
        try
        {
            bool waitForData = true;
            while (true)
            {
                // An idle connection holds no pipe block: wait for data first (a zero-byte read) unless the last read
                // filled its buffer, which says more is probably there.
                if (waitForData) await _stream.ReadAsync(Memory<byte>.Empty, stop).ConfigureAwait(false);
                var buffer = input.GetMemory(MinAllocBufferSize);
                int n = await _stream.ReadAsync(buffer, stop).ConfigureAwait(false);
                if (n == 0)
                {
                    LogReadFin(_logger, ConnectionId); // the peer's FIN: the end of the input, not of the connection
                    _receiveClean = true;
                    break;
                }
                waitForData = n < buffer.Length;
                input.Advance(n);
                var flush = await input.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled) break; // the application stopped reading
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutdown stopped us: the shutdown reason explains the end.
        }
        catch (IOException e) when (IsReset(e))
        {
            error = new ConnectionResetException(e.Message, e);
            _receiveClean = true;
            if (!_shutDown) LogReset(_logger, ConnectionId);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // After an abort the stream's pending read fails with OperationAborted: the shutdown reason explains it.
            error = e;
            _receiveClean = true;
        }
        finally
        {
            await input.CompleteAsync(_shutdownReason ?? error).ConfigureAwait(false);
            CloseStreamStep();
            FireConnectionClosed();
            await _connectionClosedFired.Task.ConfigureAwait(false);
        }
    }

    private async Task DoSendAsync()
    {
        Exception? shutdownReason = null;
        Exception? unexpected = null;
        var output = _application.Input;
        byte[]? gather = null;
        try
        {
            while (true)
            {
                var result = await output.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled) break; // Abort
                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    if (buffer.IsSingleSegment)
                    {
                        await _stream.WriteAsync(buffer.First).ConfigureAwait(false);
                    }
                    else
                    {
                        // Many small pool blocks: one copy into a larger buffer costs less than a hand-off to the loop per block.
                        gather ??= ArrayPool<byte>.Shared.Rent(MaxGatherSize);
                        var rest = buffer;
                        while (!rest.IsEmpty)
                        {
                            int n = (int)Math.Min(rest.Length, gather.Length);
                            rest.Slice(0, n).CopyTo(gather);
                            await _stream.WriteAsync(gather.AsMemory(0, n)).ConfigureAwait(false);
                            rest = rest.Slice(n);
                        }
                    }
                }
                output.AdvanceTo(buffer.End);
                if (result.IsCompleted) break; // the application is done: graceful close
            }
        }
        catch (IOException e) when (IsReset(e))
        {
            shutdownReason = new ConnectionResetException(e.Message, e);
            LogReset(_logger, ConnectionId);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            shutdownReason = e; // Abort already shut the connection down
        }
#pragma warning disable CA1031 // an unexpected failure completes the pipe with it (Kestrel logs it), never escapes
        catch (Exception e)
#pragma warning restore CA1031
        {
            shutdownReason = e;
            unexpected = e;
            LogUnexpected(_logger, ConnectionId, e);
        }
        finally
        {
            Shutdown(shutdownReason, abort: false);
            await output.CompleteAsync(unexpected).ConfigureAwait(false);
            // A receive loop paused on a full input pipe must see the end.
            _application.Output.CancelPendingFlush();
            if (gather is not null) ArrayPool<byte>.Shared.Return(gather);
        }
    }

    /// <summary>
    /// Shuts the connection down once: an abort resets it at once; a graceful shutdown sends FIN after the queued bytes and
    /// ends the receive loop (as a socket's Shutdown(Both) would), and the stream closes in <see cref="CloseStreamStep"/>.
    /// </summary>
    private void Shutdown(Exception? reason, bool abort)
    {
        lock (_shutdownLock)
        {
            if (_shutDown) return;
            _shutDown = true;
            _aborted = abort;
            _shutdownReason = reason ?? new ConnectionAbortedException("The NetStack transport's send loop completed gracefully.");
        }
        LogShutdown(_logger, ConnectionId, abort ? "RST" : "FIN", _shutdownReason.Message);
        if (abort)
        {
            _stream.Abort();
            return;
        }
        try
        {
            _stream.ShutdownSend();
        }
        catch (ObjectDisposedException)
        {
        }
        _stopReceiving.Cancel();
        CloseStreamStep();
    }

    /// <summary>The second of (graceful shutdown, end of the receive loop) closes the stream, lingering if the peer has not closed.</summary>
    private void CloseStreamStep()
    {
        if (Interlocked.Increment(ref _closeSteps) != 2) return;
        if (_aborted) return; // already reset
        if (_receiveClean) _stream.Dispose();
        else _ = LingerAsync();
    }

    /// <summary>Reads and discards until the peer's FIN (or an error, or <see cref="LingerTime"/>), then closes the stream.</summary>
    private async Task LingerAsync()
    {
        var scratch = ArrayPool<byte>.Shared.Rent(16 * 1024);
        using var linger = new CancellationTokenSource(LingerTime);
        try
        {
            while (await _stream.ReadAsync(scratch, linger.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            _stream.Dispose(); // FIN was sent; RST only if bytes arrived after the last read (RFC 2525 §2.17)
        }
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) != 0) return;
        // Off this loop: callbacks registered on the token may block or take locks.
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            try
            {
                state._connectionClosed.Cancel();
            }
            catch (AggregateException e)
            {
                LogUnexpected(state._logger, state.ConnectionId, e);
            }
            state._connectionClosedFired.TrySetResult();
        }, this, preferLocal: false);
    }

    private static bool IsReset(IOException e) =>
        e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted or SocketError.TimedOut };

    /// <summary>A pipe pair's face.</summary>
    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    [LoggerMessage(1, LogLevel.Debug, "Connection id \"{ConnectionId}\" received FIN.")]
    private static partial void LogReadFin(ILogger logger, string connectionId);

    [LoggerMessage(2, LogLevel.Debug, "Connection id \"{ConnectionId}\" reset by the peer.")]
    private static partial void LogReset(ILogger logger, string connectionId);

    [LoggerMessage(3, LogLevel.Debug, "Connection id \"{ConnectionId}\" closing with {Segment} because: \"{Reason}\"")]
    private static partial void LogShutdown(ILogger logger, string connectionId, string segment, string reason);

    [LoggerMessage(4, LogLevel.Error, "Unexpected exception in the NetStack transport, connection id \"{ConnectionId}\".")]
    private static partial void LogUnexpected(ILogger logger, string connectionId, Exception exception);
}
