using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using NetStack.Samples.Tlstunnel.Config;
using NetStack.Samples.Tlstunnel.Control;
using NetStack.Samples.Tlstunnel.Transport;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>The tunnel's settings beyond the configuration file.</summary>
public sealed record TunnelServerOptions
{
    public int HttpsPort { get; init; } = 443;
    /// <summary>0: no redirect service.</summary>
    public int HttpPort { get; init; } = 80;
    public int? ControlPort { get; init; }
    public int Backlog { get; init; } = 1024;
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan BackendConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan ControlTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The service: the accept loops of the HTTPS front (<see cref="HttpsFront"/>), the HTTP redirect
/// (<see cref="RedirectService"/>) and the control port (<see cref="ControlServer"/>), on the front transport; backends
/// on the front transport or, per route, on the kernel's.
/// </summary>
public sealed class TunnelServer
{
    private readonly List<(int Port, ITunnelListener Listener, Task Loop)> _listeners = [];
    private readonly List<Task> _handlers = [];
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _stopAll = new();

    public TunnelServer(ITunnelTransport front, ITunnelTransport kernel, TunnelState state, ConnectionTracker tracker, TunnelMetrics metrics,
        ILogger log, TunnelServerOptions options, ControlAuth? auth)
    {
        Front = front;
        KernelTransport = kernel;
        State = state;
        Tracker = tracker;
        Metrics = metrics;
        Log = log;
        Options = options;
        Https = new HttpsFront(this);
        Redirect = new RedirectService(this);
        Control = auth is null ? null : new ControlServer(this, auth);
    }

    public ITunnelTransport Front { get; }
    public ITunnelTransport KernelTransport { get; }
    public TunnelState State { get; }
    public ConnectionTracker Tracker { get; }
    public TunnelMetrics Metrics { get; }
    public ILogger Log { get; }
    public TunnelServerOptions Options { get; }
    internal HttpsFront Https { get; }
    internal RedirectService Redirect { get; }
    internal ControlServer? Control { get; }

    /// <summary>Cancelled when the drain deadline passes.</summary>
    public CancellationToken StopAll => _stopAll.Token;

    public ITunnelTransport BackendTransport(Backend backend) => backend.Kernel ? KernelTransport : Front;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ListenAsync(Options.HttpsPort, "https", Https.HandleAsync, cancellationToken).ConfigureAwait(false);
        if (Options.HttpPort != 0) await ListenAsync(Options.HttpPort, "http", Redirect.HandleAsync, cancellationToken).ConfigureAwait(false);
        if (Control is not null && Options.ControlPort is { } cp) await ListenAsync(cp, "control", Control.HandleAsync, cancellationToken).ConfigureAwait(false);
    }

    private async Task ListenAsync(int port, string service, Func<ITunnelConnection, TrackedConnection, Task> handle, CancellationToken cancellationToken)
    {
        var listener = await Front.ListenAsync(port, Options.Backlog, cancellationToken).ConfigureAwait(false);
        _listeners.Add((port, listener, Task.Run(() => AcceptLoopAsync(port, service, listener, handle), CancellationToken.None)));
        Log.Listening(service, port, Front.Name);
    }

    private async Task AcceptLoopAsync(int port, string service, ITunnelListener listener, Func<ITunnelConnection, TrackedConnection, Task> handle)
    {
        var stop = _stopAccepting.Token;
        while (!stop.IsCancellationRequested)
        {
            ITunnelConnection connection;
            try
            {
                connection = await listener.AcceptAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e) when (stop.IsCancellationRequested || e.SocketErrorCode == SocketError.OperationAborted)
            {
                return;
            }
            catch (SocketException e)
            {
                Log.AcceptFailed(port, e.SocketErrorCode.ToString());
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            var tracked = Tracker.TryEnter(_stopAll.Token);
            if (tracked is null)
            {
                // The connection limit: reset at once, so that a flood costs one accept each.
                connection.Abort();
                await connection.DisposeAsync().ConfigureAwait(false);
                Metrics.Refused(service, "refused-limit");
                continue;
            }
            Metrics.Opened();
            var t = Task.Run(async () =>
            {
                try
                {
                    await handle(connection, tracked).ConfigureAwait(false);
                }
                finally
                {
                    Tracker.Leave(tracked);
                }
            }, CancellationToken.None);
            lock (_lock)
            {
                if (_handlers.Count > 256) _handlers.RemoveAll(h => h.IsCompleted);
                _handlers.Add(t);
            }
        }
    }

    /// <summary>Stops accepting (listeners closed), drains for <paramref name="drain"/>, then cuts what is left; returns how many were cut.</summary>
    public async Task<int> StopAsync(TimeSpan drain)
    {
        await _stopAccepting.CancelAsync().ConfigureAwait(false);
        foreach (var (_, listener, loop) in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
        }
        Log.Draining(Tracker.Count, drain.TotalSeconds);
        int cut = await Tracker.DrainAsync(drain).ConfigureAwait(false);
        await _stopAll.CancelAsync().ConfigureAwait(false);
        Task[] handlers;
        lock (_lock) handlers = [.. _handlers];
        await Task.WhenAny(Task.WhenAll(handlers), Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        Log.Drained(cut);
        return cut;
    }
}
