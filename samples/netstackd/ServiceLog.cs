using System.Globalization;

namespace NetStack.Samples.Netstackd;

/// <summary>Per-service counters (updated from any thread) and the one-line-per-connection log.</summary>
public sealed class ServiceLog(TextWriter output)
{
    private long _connections, _failed, _bytesIn, _bytesOut, _requests, _datagrams;

    public long Connections => Interlocked.Read(ref _connections);
    public long Failed => Interlocked.Read(ref _failed);
    public long BytesIn => Interlocked.Read(ref _bytesIn);
    public long BytesOut => Interlocked.Read(ref _bytesOut);
    public long Requests => Interlocked.Read(ref _requests);
    public long Datagrams => Interlocked.Read(ref _datagrams);

    public void Request() => Interlocked.Increment(ref _requests);

    public void Datagram(int bytes)
    {
        Interlocked.Increment(ref _datagrams);
        Interlocked.Add(ref _bytesIn, bytes);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    /// <summary>Logs one finished connection and counts it.</summary>
    public void Connection(string service, System.Net.IPEndPoint remote, System.Net.IPEndPoint local, long bytesIn, long bytesOut,
        TimeSpan duration, string result, string? detail = null)
    {
        Interlocked.Increment(ref _connections);
        if (result != "ok") Interlocked.Increment(ref _failed);
        Interlocked.Add(ref _bytesIn, bytesIn);
        Interlocked.Add(ref _bytesOut, bytesOut);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:HH:mm:ss.fff} {service} {remote} -> {local} in={bytesIn} out={bytesOut} {duration.TotalMilliseconds:F1}ms {result}{(detail is null ? "" : " " + detail)}");
        lock (output) output.WriteLine(line);
    }

    public string Summary(string service) => string.Create(CultureInfo.InvariantCulture,
        $"{service}: connections={Connections} failed={Failed} requests={Requests} datagrams={Datagrams} bytes_in={BytesIn} bytes_out={BytesOut}");
}
