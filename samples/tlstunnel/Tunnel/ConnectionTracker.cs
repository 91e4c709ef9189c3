using System.Collections.Concurrent;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>One open connection as the tracker sees it: its cancellation (the tracker's way to end it) and its last activity.</summary>
public sealed class TrackedConnection : IDisposable
{
    private long _lastActivity = Environment.TickCount64;

    internal TrackedConnection(CancellationToken stop) => Cancellation = CancellationTokenSource.CreateLinkedTokenSource(stop);

    public CancellationTokenSource Cancellation { get; }
    public CancellationToken Token => Cancellation.Token;

    /// <summary>Why the tracker ended it ("idle-timeout", "drained"), null while it has not.</summary>
    public string? CutReason { get; private set; }

    /// <summary>Whether the idle limit applies (set once the TLS handshake is done; the handshake has its own deadline).</summary>
    public bool Established { get; set; }

    public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);
    public long IdleMilliseconds => Environment.TickCount64 - Volatile.Read(ref _lastActivity);

    internal void Cut(string reason)
    {
        CutReason ??= reason;
        try { Cancellation.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public void Dispose() => Cancellation.Dispose();
}

/// <summary>
/// The limits on connections: at most <see cref="MaxConnections"/> open at once (HTTP, HTTPS and control together: more
/// are reset at once), idle connections cut after <see cref="IdleTimeout"/> (checked every second), and the drain at
/// shutdown.
/// </summary>
public sealed class ConnectionTracker : IAsyncDisposable
{
    private readonly ConcurrentDictionary<TrackedConnection, byte> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sweeper;
    private int _count;

    public ConnectionTracker(int maxConnections, TimeSpan idleTimeout)
    {
        MaxConnections = maxConnections;
        IdleTimeout = idleTimeout;
        _sweeper = SweepAsync();
    }

    public int MaxConnections { get; }
    public TimeSpan IdleTimeout { get; }
    public int Count => Volatile.Read(ref _count);

    /// <summary>A slot for a new connection, or null at the limit.</summary>
    public TrackedConnection? TryEnter(CancellationToken stop)
    {
        if (Interlocked.Increment(ref _count) > MaxConnections)
        {
            Interlocked.Decrement(ref _count);
            return null;
        }
        var c = new TrackedConnection(stop);
        _open[c] = 0;
        return c;
    }

    public void Leave(TrackedConnection connection)
    {
        if (_open.TryRemove(connection, out _)) Interlocked.Decrement(ref _count);
        connection.Dispose();
    }

    private async Task SweepAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                long limit = (long)IdleTimeout.TotalMilliseconds;
                foreach (var c in _open.Keys)
                    if (c.Established && c.IdleMilliseconds > limit) c.Cut("idle-timeout");
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Waits until every connection has finished or <paramref name="deadline"/> passed, then cuts the rest; returns how many were cut.</summary>
    public async Task<int> DrainAsync(TimeSpan deadline)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Count > 0 && clock.Elapsed < deadline) await Task.Delay(50).ConfigureAwait(false);
        int cut = 0;
        foreach (var c in _open.Keys)
        {
            c.Cut("drained");
            cut++;
        }
        var grace = System.Diagnostics.Stopwatch.StartNew();
        while (Count > 0 && grace.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20).ConfigureAwait(false);
        return cut;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sweeper.ConfigureAwait(false);
        _stop.Dispose();
    }
}
