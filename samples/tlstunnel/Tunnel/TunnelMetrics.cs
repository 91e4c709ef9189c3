using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>
/// The tunnel's own instruments (meter <c>NetStack.Tlstunnel</c>, beside the stack's meter <c>NetStack</c>; both visible to
/// <c>dotnet-counters monitor -n tlstunnel --counters NetStack,NetStack.Tlstunnel</c>), and the same counts kept for the
/// control protocol's <c>stats</c> command.
/// </summary>
public sealed class TunnelMetrics : IDisposable
{
    public const string MeterName = "NetStack.Tlstunnel";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _connections;
    private readonly Counter<long> _handshakeFailures;
    private readonly Counter<long> _bytes;
    private readonly ConcurrentDictionary<string, long> _outcomes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _failures = new(StringComparer.Ordinal);
    private long _active, _bytesToBackend, _bytesToClient, _peakActive;

    public TunnelMetrics()
    {
        _connections = _meter.CreateCounter<long>("tlstunnel.connections", "{connection}", "Connections finished, by service and outcome");
        _handshakeFailures = _meter.CreateCounter<long>("tlstunnel.handshake_failures", "{connection}", "TLS handshakes that failed, by reason");
        _bytes = _meter.CreateCounter<long>("tlstunnel.bytes", "By", "Plaintext bytes relayed, by direction");
        _meter.CreateObservableUpDownCounter("tlstunnel.active_connections", () => Interlocked.Read(ref _active), "{connection}", "Connections open now");
    }

    public Meter Meter => _meter;
    public long Active => Interlocked.Read(ref _active);
    public long PeakActive => Interlocked.Read(ref _peakActive);

    public void Opened()
    {
        long now = Interlocked.Increment(ref _active);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakActive)) && Interlocked.CompareExchange(ref _peakActive, now, peak) != peak) { }
    }

    public void Closed(string service, string outcome)
    {
        Interlocked.Decrement(ref _active);
        Refused(service, outcome);
    }

    /// <summary>A connection that was never counted as open (refused at the limit).</summary>
    public void Refused(string service, string outcome)
    {
        _connections.Add(1, new KeyValuePair<string, object?>("service", service), new KeyValuePair<string, object?>("outcome", outcome));
        _outcomes.AddOrUpdate($"{service}.{outcome}", 1, (_, v) => v + 1);
    }

    public void HandshakeFailed(string reason)
    {
        _handshakeFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _failures.AddOrUpdate(reason, 1, (_, v) => v + 1);
    }

    public void ToBackend(long bytes)
    {
        if (bytes == 0) return;
        Interlocked.Add(ref _bytesToBackend, bytes);
        _bytes.Add(bytes, new KeyValuePair<string, object?>("direction", "to_backend"));
    }

    public void ToClient(long bytes)
    {
        if (bytes == 0) return;
        Interlocked.Add(ref _bytesToClient, bytes);
        _bytes.Add(bytes, new KeyValuePair<string, object?>("direction", "to_client"));
    }

    /// <summary>One line per counter: <c>active N</c>, <c>peak N</c>, <c>connections.SERVICE.OUTCOME N</c>, <c>handshake_failures.REASON N</c>, bytes.</summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.Append(ci, $"active {Active}\npeak {PeakActive}\nbytes.to_backend {Interlocked.Read(ref _bytesToBackend)}\nbytes.to_client {Interlocked.Read(ref _bytesToClient)}\n");
        foreach (var (k, v) in _outcomes.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.Append(ci, $"connections.{k} {v}\n");
        foreach (var (k, v) in _failures.OrderBy(p => p.Key, StringComparer.Ordinal)) sb.Append(ci, $"handshake_failures.{k} {v}\n");
        return sb.ToString();
    }

    public void Dispose() => _meter.Dispose();
}
