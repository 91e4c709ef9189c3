using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using NetStack.Sockets;

namespace NetStack.Samples.Netstackd.Services;

/// <summary>A TCP service: accepts connections and runs a handler per connection until stopped.</summary>
public abstract class TcpService(string name, AsyncTcpListener listener, ServiceLog log)
{
    /// <summary>The per-read buffer handlers rent from the pool while data passes (never held by an idle connection).</summary>
    protected const int BufferSize = 64 * 1024;
    private readonly List<Task> _running = [];
    private readonly Lock _lock = new();

    public string Name { get; } = name;
    public ServiceLog Log { get; } = log;

    /// <summary>
    /// True for handlers that never block (echo, discard, chargen): their reads' and writes' continuations run on the stack's
    /// loop thread (<see cref="TcpConnectionStream.RunContinuationsOnLoop"/>), so that moving a buffer costs no thread-pool
    /// hop or wake-up of the loop. <c>NETSTACKD_TCP_THREADPOOL=1</c> keeps them on the thread pool (a measurement switch).
    /// </summary>
    protected virtual bool ContinueOnLoop => false;

    private static readonly bool ForceThreadPool = Environment.GetEnvironmentVariable("NETSTACKD_TCP_THREADPOOL") == "1";

    /// <summary>Accepts until <paramref name="stop"/> is cancelled, then waits (briefly) for the open connections.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var connection = await listener.AcceptAsync(stop).ConfigureAwait(false);
                var t = Task.Run(() => ServeAsync(connection, stop), CancellationToken.None);
                lock (_lock)
                {
                    _running.RemoveAll(x => x.IsCompleted);
                    _running.Add(t);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
        {
        }
        Task[] open;
        lock (_lock) open = [.. _running];
        await Task.WhenAny(Task.WhenAll(open), Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None)).ConfigureAwait(false);
        await listener.DisposeAsync().ConfigureAwait(false);
    }

    private async Task ServeAsync(TcpConnectionStream connection, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var counts = new Counts();
        string result = "ok";
        string? detail = null;
        connection.RunContinuationsOnLoop = ContinueOnLoop && !ForceThreadPool;
        try
        {
            detail = await HandleAsync(connection, counts, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            result = "stopped";
        }
        catch (IOException e) when (e.InnerException is SocketException se)
        {
            result = se.SocketErrorCode.ToString();
        }
        catch (IOException e)
        {
            result = "io-error";
            detail = e.Message;
        }
        finally
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        // RFC 9293 §3.8.5: urgent data is read in line like any other; the log line says how often the peer signalled it.
        if (connection.UrgentSignals is > 0 and var signals) detail = detail is null ? $"urgent={signals}" : $"{detail} urgent={signals}";
        Log.Connection(Name, connection.RemoteEndPoint, connection.LocalEndPoint, counts.In, counts.Out, clock.Elapsed, result, detail);
    }

    /// <summary>Serves one connection; returns an optional detail for the log line.</summary>
    protected abstract Task<string?> HandleAsync(TcpConnectionStream connection, Counts counts, CancellationToken stop);

    /// <summary>Bytes moved on one connection.</summary>
    public sealed class Counts
    {
        public long In;
        public long Out;
    }
}

/// <summary>RFC 862 echo: every byte back; after the client's FIN, our FIN (so a half-closing client still gets its echo).</summary>
public sealed class EchoService(AsyncTcpListener listener, ServiceLog log) : TcpService("tcp-echo", listener, log)
{
    protected override bool ContinueOnLoop => true;

    protected override async Task<string?> HandleAsync(TcpConnectionStream connection, Counts counts, CancellationToken stop)
    {
        while (true)
        {
            // Wait for data without holding a buffer (a zero-byte read returns once a read would not wait), so that an
            // idle connection costs no buffer memory; the buffer is the pool's only while bytes pass through.
            await connection.ReadAsync(Memory<byte>.Empty, stop).ConfigureAwait(false);
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int n = await connection.ReadAsync(buffer, stop).ConfigureAwait(false);
                if (n == 0) break;
                counts.In += n;
                await connection.WriteAsync(buffer.AsMemory(0, n), stop).ConfigureAwait(false);
                counts.Out += n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        connection.ShutdownSend();
        return null;
    }
}

/// <summary>RFC 863 discard: reads and throws away until the client closes.</summary>
public sealed class DiscardService(AsyncTcpListener listener, ServiceLog log) : TcpService("discard", listener, log)
{
    protected override bool ContinueOnLoop => true;

    protected override async Task<string?> HandleAsync(TcpConnectionStream connection, Counts counts, CancellationToken stop)
    {
        while (true)
        {
            await connection.ReadAsync(Memory<byte>.Empty, stop).ConfigureAwait(false); // idle: no buffer held (see EchoService)
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                int n = await connection.ReadAsync(buffer, stop).ConfigureAwait(false);
                if (n == 0) return null;
                counts.In += n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}

/// <summary>RFC 864 character generator: 72-character lines of the rotating printable set until the client closes.</summary>
public sealed class ChargenService(AsyncTcpListener listener, ServiceLog log) : TcpService("chargen", listener, log)
{
    protected override bool ContinueOnLoop => true;

    private static readonly byte[] Pattern = BuildPattern();

    /// <summary>Nine full rotations of 95 lines, each 72 printable characters + CRLF (63,270 bytes: one write fills most of a
    /// 64 KB super-segment, and the stream is the same as one rotation written again and again).</summary>
    private static byte[] BuildPattern()
    {
        const int rotations = 9;
        var lines = new byte[rotations * 95 * 74];
        for (int line = 0; line < rotations * 95; line++)
        {
            for (int c = 0; c < 72; c++) lines[line * 74 + c] = (byte)(' ' + (line + c) % 95);
            lines[line * 74 + 72] = (byte)'\r';
            lines[line * 74 + 73] = (byte)'\n';
        }
        return lines;
    }

    protected override async Task<string?> HandleAsync(TcpConnectionStream connection, Counts counts, CancellationToken stop)
    {
        // RFC 864: "the data may be ... thrown away" by the server: read (and discard) to notice the client's FIN, which
        // cancels a write waiting for room. One token for the connection, not a Task.WhenAny per write: the writes cost
        // no allocation (issue 12 item 4).
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var peerClosed = Task.Run(async () =>
        {
            try
            {
                var sink = new byte[4096];
                int n;
                while ((n = await connection.ReadAsync(sink, stop).ConfigureAwait(false)) > 0) Interlocked.Add(ref counts.In, n);
            }
            finally
            {
                await closed.CancelAsync().ConfigureAwait(false);
            }
        }, CancellationToken.None);
        try
        {
            while (!closed.IsCancellationRequested)
            {
                await connection.WriteAsync(Pattern, closed.Token).ConfigureAwait(false);
                counts.Out += Pattern.Length;
            }
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            // The client closed: done.
        }
        await peerClosed.ConfigureAwait(false);
        return null;
    }
}
