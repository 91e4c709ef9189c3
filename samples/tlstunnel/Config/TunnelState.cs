using Microsoft.Extensions.Logging;
using NetStack.Samples.Tlstunnel.Tunnel;

namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>One consistent view for a new connection: routes, certificates, the name for hellos without SNI.</summary>
public sealed record TunnelSnapshot(RouteTable Routes, CertificateStore Certificates, string? DefaultName);

/// <summary>
/// The live configuration: the file (reloaded when its time stamp or length changes, polled every second, or on
/// <see cref="ReloadAsync"/>) overlaid with the routes changed over the control protocol. A new snapshot is swapped in
/// atomically; connections already open keep the route and certificate they started with, so a reload drops none of them.
/// A file that does not parse or whose certificates do not load leaves the previous configuration in place.
/// </summary>
public sealed class TunnelState : IAsyncDisposable
{
    private readonly string _path;
    private readonly ILogger _log;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private List<Route> _fileRoutes = [];
    private readonly List<Route> _controlRoutes = [];
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);
    private TunnelSnapshot? _snapshot;
    private (DateTime Time, long Length) _stamp;
    private Task? _watch;

    public TunnelState(string path, ILogger log)
    {
        _path = Path.GetFullPath(path);
        _log = log;
    }

    public TunnelSnapshot Current => Volatile.Read(ref _snapshot) ?? throw new InvalidOperationException("not loaded");

    /// <summary>How many times the file was loaded (the first load included).</summary>
    public int Loads { get; private set; }

    /// <summary>Loads the file; false with a reason when it cannot be used.</summary>
    public bool Load(out string error)
    {
        lock (_lock)
        {
            var stamp = Stamp();
            string json;
            try
            {
                json = File.ReadAllText(_path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e.Message;
                _stamp = stamp;
                return false;
            }
            _stamp = stamp;
            var config = TunnelConfig.Parse(json, Path.GetDirectoryName(_path)!, out error);
            if (config is null) return false;
            var certificates = CertificateStore.Load(config.Certificates, out error);
            if (certificates is null) return false;
            _fileRoutes = [.. config.Routes];
            _removed.Clear();
            Publish(certificates, config.DefaultName);
            Loads++;
            _log.ConfigLoaded(_path, _fileRoutes.Count, config.Certificates.Count);
            return true;
        }
    }

    /// <summary>Polls the file every <paramref name="interval"/> and reloads it when it changed.</summary>
    public void StartWatching(TimeSpan interval) => _watch = WatchAsync(interval);

    /// <summary>Reloads now (SIGHUP).</summary>
    public Task ReloadAsync()
    {
        if (!Load(out var error)) _log.ConfigRejected(_path, error);
        return Task.CompletedTask;
    }

    private async Task WatchAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                (DateTime, long) stamp = Stamp();
                bool changed;
                lock (_lock) changed = stamp != _stamp;
                if (changed && !Load(out var error)) _log.ConfigRejected(_path, error);
            }
        }
        catch (OperationCanceledException) { }
    }

    private (DateTime, long) Stamp()
    {
        try
        {
            var info = new FileInfo(_path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (DateTime.MinValue, -1);
        }
    }

    /// <summary>Adds or replaces the route for the name and ALPN of <paramref name="route"/>.</summary>
    public void Add(Route route)
    {
        lock (_lock)
        {
            _controlRoutes.RemoveAll(r => r.Name == route.Name && r.Alpn == route.Alpn);
            _controlRoutes.Add(route with { Origin = RouteOrigin.Control });
            var s = Current;
            Publish(s.Certificates, s.DefaultName);
        }
    }

    /// <summary>Removes every route for <paramref name="name"/> (or only the one for <paramref name="alpn"/>); false when there was none.</summary>
    public bool Remove(string name, string? alpn)
    {
        lock (_lock)
        {
            bool any = Current.Routes.Routes.Any(r => r.Name == name && (alpn is null || r.Alpn == alpn));
            _controlRoutes.RemoveAll(r => r.Name == name && (alpn is null || r.Alpn == alpn));
            if (alpn is null) _removed.Add(name);
            else _fileRoutes.RemoveAll(r => r.Name == name && r.Alpn == alpn);
            var s = Current;
            Publish(s.Certificates, s.DefaultName);
            return any;
        }
    }

    private void Publish(CertificateStore certificates, string? defaultName) =>
        Volatile.Write(ref _snapshot, new TunnelSnapshot(RouteTable.Merge(_fileRoutes, _controlRoutes, _removed), certificates, defaultName));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_watch is not null) await _watch.ConfigureAwait(false);
        _stop.Dispose();
    }
}
