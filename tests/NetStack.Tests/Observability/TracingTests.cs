using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NetStack.Tap;

namespace NetStack.Tests.Observability;

/// <summary>
/// The "NetStack" <see cref="ActivitySource"/>: connect, accept, the connection's life with RTO, close and abort events,
/// as an <see cref="ActivityListener"/> (what OpenTelemetry's <c>AddSource("NetStack")</c> installs) sees them. Tests in
/// other classes run TCP at the same time: each test keeps only the activities of its own port.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == NetStackDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => _stopped.Enqueue(a),
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    private List<Activity> Mine(int port) => _stopped.Where(a =>
        Equals(a.GetTagItem("network.peer.port"), port) || Equals(a.GetTagItem("network.local.port"), port)).ToList();

    private async Task<List<Activity>> WaitForAsync(int port, Func<List<Activity>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + ObservedPair.Limit;
        while (true)
        {
            var mine = Mine(port);
            if (condition(mine)) return mine;
            if (DateTime.UtcNow > deadline)
                throw new Xunit.Sdk.XunitException($"{what}: not seen; stopped so far: " +
                    string.Join("; ", mine.Select(a => $"{a.OperationName} {a.Kind} [{string.Join(",", a.Events.Select(e => e.Name))}]")));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Connect_accept_and_a_graceful_close_are_traced_with_OpenTelemetry_attributes()
    {
        const int port = 6101;
        await using var p = await ObservedPair.StartAsync();
        await using var listener = await p.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, port));
        using var parent = new Activity("caller").Start();
        var accepting = listener.AcceptAsync().AsTask();
        var client = await p.A.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("2001:db8::2"), port)).WaitAsync(ObservedPair.Limit);
        Assert.Same(parent, Activity.Current); // the stack leaves the caller's current activity as it was
        var server = await accepting.WaitAsync(ObservedPair.Limit);
        parent.Stop();

        var connect = Assert.Single(Mine(port), a => a.OperationName == "netstack.tcp.connect");
        Assert.Equal(ActivityKind.Client, connect.Kind);
        Assert.Equal(parent.TraceId, connect.TraceId);
        Assert.Equal(parent.SpanId, connect.ParentSpanId);
        Assert.Equal("tcp", connect.GetTagItem("network.transport"));
        Assert.Equal("ipv6", connect.GetTagItem("network.type"));
        Assert.Equal("2001:db8::2", connect.GetTagItem("network.peer.address"));
        Assert.Equal("2001:db8::1", connect.GetTagItem("network.local.address"));
        Assert.Equal(ActivityStatusCode.Unset, connect.Status);
        var accept = Assert.Single(Mine(port), a => a.OperationName == "netstack.tcp.accept");
        Assert.Equal(ActivityKind.Server, accept.Kind);
        Assert.Equal(port, accept.GetTagItem("network.local.port"));

        await client.DisposeAsync(); // FIN
        Assert.Equal(0, await server.ReadAsync(new byte[1]).AsTask().WaitAsync(ObservedPair.Limit));
        await server.DisposeAsync();
        var all = await WaitForAsync(port, m => m.Count(a => a.OperationName == "netstack.tcp.connection") == 2, "both connection activities");
        var conns = all.Where(a => a.OperationName == "netstack.tcp.connection").ToList();
        Assert.Contains(conns, a => a.Kind == ActivityKind.Client && a.ParentSpanId == parent.SpanId); // a sibling of the connect
        Assert.Contains(conns, a => a.Kind == ActivityKind.Server);
        Assert.All(conns, a =>
        {
            Assert.Equal("netstack.tcp.close", Assert.Single(a.Events).Name);
            Assert.Equal(ActivityStatusCode.Unset, a.Status);
        });
    }

    [Fact]
    public async Task A_refused_connect_is_an_error_with_its_error_type()
    {
        const int port = 6102;
        await using var p = await ObservedPair.StartAsync();
        var e = await Assert.ThrowsAsync<SocketException>(() => p.A.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("192.0.2.2"), port)).WaitAsync(ObservedPair.Limit));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        var connect = Assert.Single(Mine(port), a => a.OperationName == "netstack.tcp.connect");
        Assert.Equal(ActivityStatusCode.Error, connect.Status);
        Assert.Equal("ConnectionRefused", connect.GetTagItem("error.type"));
        Assert.DoesNotContain(Mine(port), a => a.OperationName == "netstack.tcp.connection");
    }

    [Fact]
    public async Task Abort_ends_both_connections_with_an_abort_event_the_reset_side_with_an_error()
    {
        const int port = 6103;
        await using var p = await ObservedPair.StartAsync();
        await using var listener = await p.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, port));
        var accepting = listener.AcceptAsync().AsTask();
        var client = await p.A.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("192.0.2.2"), port)).WaitAsync(ObservedPair.Limit);
        await using var server = await accepting.WaitAsync(ObservedPair.Limit);
        client.Abort(); // RST
        await Assert.ThrowsAnyAsync<IOException>(async () => await server.ReadAsync(new byte[1]).AsTask().WaitAsync(ObservedPair.Limit));
        var all = await WaitForAsync(port, m => m.Count(a => a.OperationName == "netstack.tcp.connection") == 2, "both connection activities");
        var mine = all.Single(a => a.OperationName == "netstack.tcp.connection" && a.Kind == ActivityKind.Client);
        Assert.Equal("netstack.tcp.abort", Assert.Single(mine.Events).Name);
        Assert.Equal(ActivityStatusCode.Unset, mine.Status); // the user chose to abort
        var theirs = all.Single(a => a.OperationName == "netstack.tcp.connection" && a.Kind == ActivityKind.Server);
        var ev = Assert.Single(theirs.Events);
        Assert.Equal("netstack.tcp.abort", ev.Name);
        Assert.Equal("ConnectionReset", ev.Tags.Single(t => t.Key == "error.type").Value);
        Assert.Equal(ActivityStatusCode.Error, theirs.Status);
    }

    [Fact]
    public async Task A_retransmission_timeout_is_an_event_on_the_connection()
    {
        const int port = 6104;
        await using var p = await ObservedPair.StartAsync();
        await using var listener = await p.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, port));
        var accepting = listener.AcceptAsync().AsTask();
        var client = await p.A.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("192.0.2.2"), port)).WaitAsync(ObservedPair.Limit);
        await using var server = await accepting.WaitAsync(ObservedPair.Limit);
        p.DeviceA.Blocked = true;
        await client.WriteAsync(new byte[100]).AsTask().WaitAsync(ObservedPair.Limit);
        var deadline = DateTime.UtcNow + ObservedPair.Limit;
        while (p.A.Tcp.Stats.Timeouts == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(p.A.Tcp.Stats.Timeouts > 0, "no RTO");
        p.DeviceA.Blocked = false;
        await server.ReadExactlyAsync(new byte[100]).AsTask().WaitAsync(ObservedPair.Limit);
        client.Abort();
        var all = await WaitForAsync(port, m => m.Any(a => a.OperationName == "netstack.tcp.connection" && a.Kind == ActivityKind.Client), "the client's connection activity");
        var conn = all.Single(a => a.OperationName == "netstack.tcp.connection" && a.Kind == ActivityKind.Client);
        var rto = conn.Events.Where(e => e.Name == "netstack.tcp.rto").ToList();
        Assert.NotEmpty(rto);
        Assert.Equal(1, rto[0].Tags.Single(t => t.Key == "netstack.tcp.rto.count").Value);
        Assert.Equal("netstack.tcp.abort", conn.Events.Last().Name);
    }
}
