using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using NetStack.Sockets;
using NetStack.Transport.Tcp;

namespace NetStack.Tests.TcpApi;

/// <summary>The Stream face of a TCP connection: connect/accept, data, half-close, errors, cancellation, options.</summary>
public sealed class TcpStreamTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A connection from A to a listener on B's port 7. Disposing it closes the client, the server and the listener, in
    /// that order, as the tests did by hand; each close is idempotent, so a test that closes (or aborts) one itself first
    /// still sees its own close happen when it says.
    /// </summary>
    private sealed record Connection(AsyncTcpListener Listener, TcpConnectionStream Client, TcpConnectionStream Server) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            await Listener.DisposeAsync();
        }
    }

    private static async Task<Connection> Connected(TcpLoopPair pair, IPAddress? address = null, TcpSocketOptions? options = null)
    {
        var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var accept = listener.AcceptAsync().AsTask();
        var client = await pair.A.ConnectAsync(new IPEndPoint(address ?? TcpLoopPair.V4B, 7), options).WaitAsync(Limit);
        var server = await accept.WaitAsync(Limit);
        return new Connection(listener, client, server);
    }

    private static async Task<byte[]> ReadToEnd(Stream s, int bufferSize = 8192)
    {
        var ms = new MemoryStream();
        var buffer = new byte[bufferSize];
        int n;
        while ((n = await s.ReadAsync(buffer).AsTask().WaitAsync(Limit)) > 0) ms.Write(buffer, 0, n);
        return ms.ToArray();
    }

    [Fact]
    public async Task Connect_and_accept_give_streams_with_matching_endpoints()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        Assert.Equal(new IPEndPoint(TcpLoopPair.V4B, 7), client.RemoteEndPoint);
        Assert.Equal(TcpLoopPair.V4B, server.LocalEndPoint.Address);
        Assert.True(client.CanRead && client.CanWrite && !client.CanSeek);
    }

    [Fact]
    public async Task Bytes_written_on_one_side_are_read_on_the_other_and_echoed_back()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        var echo = Task.Run(async () =>
        {
            var buf = new byte[4096];
            int n;
            while ((n = await server.ReadAsync(buf)) > 0) await server.WriteAsync(buf.AsMemory(0, n));
            await server.DisposeAsync();
        });
        var message = "hello, stack"u8.ToArray();
        await client.WriteAsync(message);
        await client.FlushAsync();
        var got = new byte[message.Length];
        await client.ReadExactlyAsync(got).AsTask().WaitAsync(Limit);
        Assert.Equal(message, got);
        client.ShutdownSend();
        Assert.Empty(await ReadToEnd(client));
        await echo.WaitAsync(Limit);
    }

    [Fact]
    public async Task Half_close_ends_the_peers_reading_while_the_reply_still_arrives()
    {
        // RFC 9293 §3.6: after our FIN the connection is half-open; we go on receiving until the peer's FIN.
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        var request = RandomNumberGenerator.GetBytes(100_000);
        await client.WriteAsync(request);
        client.ShutdownSend();
        var received = await ReadToEnd(server);
        Assert.Equal(request, received);
        await server.WriteAsync(SHA256.HashData(received));
        await server.DisposeAsync();
        Assert.Equal(SHA256.HashData(request), await ReadToEnd(client));
    }

    [Fact]
    public async Task Writing_after_ShutdownSend_fails_with_Shutdown()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, _) = connection;
        client.ShutdownSend();
        var e = await Assert.ThrowsAsync<IOException>(async () => await client.WriteAsync(new byte[1]));
        Assert.Equal(SocketError.Shutdown, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task Connecting_to_a_port_nobody_listens_on_is_refused()
    {
        // RFC 9293 §3.10.7.1: the closed port answers RST; §3.10.7.3: SYN-SENT + RST -> "connection reset" (refused).
        await using var pair = new TcpLoopPair();
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 9)).WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public async Task Connecting_without_a_route_fails_with_HostUnreachable()
    {
        await using var pair = new TcpLoopPair();
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectAsync(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 80)).WaitAsync(Limit));
        Assert.Equal(SocketError.HostUnreachable, e.SocketErrorCode);
    }

    [Fact]
    public async Task Connect_from_a_chosen_local_endpoint_and_not_from_a_foreign_address()
    {
        // RFC 9293 §3.9.1.1 MUST-43/44, like Socket.Bind before Socket.Connect.
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair, options: new TcpSocketOptions { LocalEndPoint = new IPEndPoint(TcpLoopPair.V4A, 5555) });
        var (_, client, server) = connection;
        Assert.Equal(new IPEndPoint(TcpLoopPair.V4A, 5555), client.LocalEndPoint);
        Assert.Equal(new IPEndPoint(TcpLoopPair.V4A, 5555), server.RemoteEndPoint);
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7),
            new TcpSocketOptions { LocalEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.99"), 0) }).WaitAsync(Limit));
        Assert.Equal(SocketError.AddressNotAvailable, e.SocketErrorCode);
    }

    [Fact]
    public async Task A_SYN_that_is_never_answered_times_out()
    {
        // RFC 1122 §4.2.3.5: after R2 retransmissions the open fails.
        var fast = new TcpSettings { InitialRto = TimeSpan.FromMilliseconds(50), MaxSynRetries = 2 };
        await using var pair = new TcpLoopPair(fast) { Blackhole = true };
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7)).WaitAsync(Limit));
        Assert.Equal(SocketError.TimedOut, e.SocketErrorCode);
    }

    [Fact]
    public async Task Retransmissions_reaching_R1_are_reported_as_a_soft_error_and_R2_then_times_out()
    {
        // RFC 9293 §3.8.3: R1 is news for the application (SHLD-9, through MUST-47's mechanism); R2 ends the connection.
        // MaxRto bounds every backed-off timeout: on a loaded machine the handshake's RTT sample can be seconds long
        // (RTO = 3 x the first sample, RFC 6298 §2.2), and R1 then came only after the test's limit.
        var fast = new TcpSettings { InitialRto = TimeSpan.FromMilliseconds(50), MinRto = TimeSpan.FromMilliseconds(20), MaxRto = TimeSpan.FromMilliseconds(100) };
        await using var pair = new TcpLoopPair(fast, fast);
        await using var connection = await Connected(pair, options: new TcpSocketOptions { MaxRetransmissions = 4 });
        var (_, client, server) = connection;
        var reported = new TaskCompletionSource<TcpSoftError>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.SoftErrorReported += (_, e) => reported.TrySetResult(e.Error);
        pair.Blackhole = true;
        await client.WriteAsync(new byte[100]);
        Assert.Equal(TcpSoftErrorKind.ExcessiveRetransmissions, (await reported.Task.WaitAsync(Limit)).Kind);
        Assert.Equal(TcpSoftErrorKind.ExcessiveRetransmissions, client.LastSoftError.Kind);
        var e = await Assert.ThrowsAsync<IOException>(async () => await client.ReadAsync(new byte[1]).AsTask().WaitAsync(Limit));
        Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        await client.DisposeAsync();
        server.Abort();
    }

    [Fact]
    public async Task A_peer_that_stops_answering_keep_alives_times_the_connection_out()
    {
        // RFC 1122 §4.2.3.6: keep-alive probes on an idle connection; unanswered ones end it (TimedOut to the reader).
        await using var pair = new TcpLoopPair();
        var keepAlive = new TcpSocketOptions
        {
            KeepAlive = true,
            KeepAliveIdle = TimeSpan.FromMilliseconds(100),
            KeepAliveInterval = TimeSpan.FromMilliseconds(50),
            KeepAliveProbes = 2,
        };
        await using var connection = await Connected(pair, options: keepAlive);
        var (_, client, server) = connection;
        pair.Blackhole = true;
        var e = await Assert.ThrowsAsync<IOException>(async () => await client.ReadAsync(new byte[1]).AsTask().WaitAsync(Limit));
        Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        await client.DisposeAsync();
        server.Abort();
    }

    [Fact]
    public async Task Cancelling_a_connect_aborts_the_attempt()
    {
        await using var pair = new TcpLoopPair { Blackhole = true };
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7), null, cts.Token).WaitAsync(Limit));
        Assert.Equal(0, await pair.OnA(l => l.ConnectionCount));
    }

    [Fact]
    public async Task An_abort_by_the_peer_surfaces_as_ConnectionReset()
    {
        // RFC 9293 §3.10.7.4: a RST in ESTABLISHED -> "connection reset" to every pending and later call.
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        var pending = client.ReadAsync(new byte[10]).AsTask();
        server.Abort();
        var e = await Assert.ThrowsAsync<IOException>(() => pending.WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        var w = await Assert.ThrowsAsync<IOException>(async () => await client.WriteAsync(new byte[1]));
        Assert.IsType<SocketException>(w.InnerException);
    }

    [Fact]
    public async Task Cancelling_a_read_leaves_the_connection_usable()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => _ = await client.ReadAsync(new byte[10], cts.Token));
        await server.WriteAsync("x"u8.ToArray());
        var buf = new byte[10];
        Assert.Equal(1, await client.ReadAsync(buf).AsTask().WaitAsync(Limit));
        Assert.Equal((byte)'x', buf[0]);
    }

    [Fact]
    public async Task Cancelling_an_accept_fails_it_and_later_accepts_still_work()
    {
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await listener.AcceptAsync(cts.Token));
        var accept = listener.AcceptAsync().AsTask();
        await using var client = await pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7)).WaitAsync(Limit);
        await using var server = await accept.WaitAsync(Limit);
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
    }

    [Fact]
    public async Task Disposing_fails_a_pending_read_with_OperationAborted()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        var pending = client.ReadAsync(new byte[10]).AsTask();
        await Task.Delay(20);
        client.Dispose();
        var e = await Assert.ThrowsAsync<IOException>(() => pending.WaitAsync(Limit));
        Assert.Equal(SocketError.OperationAborted, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        Assert.Empty(await ReadToEnd(server)); // our FIN reached the peer: orderly close
    }

    [Fact]
    public async Task Disposing_a_listener_fails_a_pending_accept_with_OperationAborted()
    {
        await using var pair = new TcpLoopPair();
        var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var pending = listener.AcceptAsync().AsTask();
        await listener.DisposeAsync();
        var e = await Assert.ThrowsAsync<SocketException>(() => pending.WaitAsync(Limit));
        Assert.Equal(SocketError.OperationAborted, e.SocketErrorCode);
    }

    [Fact]
    public async Task Listening_twice_on_one_port_fails_with_AddressAlreadyInUse()
    {
        await using var pair = new TcpLoopPair();
        await using var first = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7)));
        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }

    [Fact]
    public async Task A_host_name_is_resolved_and_its_addresses_tried_in_order()
    {
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.IPv6Any, 7));
        var accept = listener.AcceptAsync().AsTask();
        // The first address has no route: the second is tried (as Socket.ConnectAsync(host, port) does).
        await using var client = await pair.A.ConnectAsync("nowhere.test", 7).WaitAsync(Limit);
        await using var server = await accept.WaitAsync(Limit);
        Assert.Equal(TcpLoopPair.V4B, client.RemoteEndPoint.Address);
        var e = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectAsync("unknown.test", 7));
        Assert.Equal(SocketError.HostNotFound, e.SocketErrorCode);
    }

    [Fact]
    public async Task IPv6_connections_work_like_IPv4_ones()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair, TcpLoopPair.V6B);
        var (_, client, server) = connection;
        Assert.Equal(TcpLoopPair.V6A, client.LocalEndPoint.Address);
        await client.WriteAsync("v6"u8.ToArray());
        client.ShutdownSend();
        Assert.Equal("v6"u8.ToArray(), await ReadToEnd(server));
    }

    [Fact]
    public async Task A_bulk_transfer_through_small_buffers_arrives_intact()
    {
        // Back-pressure: a 16 KB send buffer and a 16 KB receive window; the writer waits for room.
        var small = new TcpSocketOptions { SendBufferSize = 16 * 1024, ReceiveBufferSize = 16 * 1024 };
        await using var pair = new TcpLoopPair(new TcpSettings { ReceiveBufferSize = 16 * 1024 }, new TcpSettings { ReceiveBufferSize = 16 * 1024 });
        await using var connection = await Connected(pair, options: small);
        var (_, client, server) = connection;
        Assert.Equal(16 * 1024, client.SendBufferSize);
        var data = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
        var reading = Task.Run(() => ReadToEnd(server, 3000));
        for (int i = 0; i < data.Length; i += 100_000) await client.WriteAsync(data.AsMemory(i, Math.Min(100_000, data.Length - i)));
        client.ShutdownSend();
        var got = await reading.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
    }

    [Fact]
    public async Task A_transfer_over_a_lossy_path_arrives_intact()
    {
        await using var pair = new TcpLoopPair(seed: 7);
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        pair.DropRate = 0.02;
        var data = RandomNumberGenerator.GetBytes(1024 * 1024);
        var reading = Task.Run(() => ReadToEnd(server));
        await client.WriteAsync(data);
        client.ShutdownSend();
        var got = await reading.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(data.AsSpan().SequenceEqual(got), "1 MB at 2% loss arrived corrupted or short");
    }

    [Fact]
    public async Task Synchronous_Read_and_Write_work_off_the_loop()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair);
        var (_, client, server) = connection;
        await Task.Run(() =>
        {
            client.Write([1, 2, 3], 0, 3);
            var buf = new byte[3];
            server.ReadExactly(buf);
            Assert.Equal(new byte[] { 1, 2, 3 }, buf);
            server.Write((ReadOnlySpan<byte>)[4]);
            Assert.Equal(4, client.ReadByte());
        });
    }

    [Fact]
    public async Task Socket_options_reach_the_connection()
    {
        await using var pair = new TcpLoopPair();
        await using var connection = await Connected(pair, options: new TcpSocketOptions { NoDelay = true, KeepAlive = true, ReceiveBufferSize = 32768, MaxRetransmissions = 4 });
        var (_, client, _) = connection;
        Assert.True(client.NoDelay);
        Assert.True(await client.InspectAsync(c => c.NoDelay && c.KeepAlive));
        Assert.Equal(32768, client.ReceiveBufferSize);
        Assert.Equal(4, await client.InspectAsync(c => c.MaxRetransmissions)); // R2, RFC 9293 §3.8.3 MUST-21
        client.NoDelay = false;
        client.KeepAlive = false;
        client.MaxRetransmissions = int.MaxValue;
        Assert.False(await client.InspectAsync(c => c.NoDelay || c.KeepAlive));
        Assert.Equal(int.MaxValue, await client.InspectAsync(c => c.MaxRetransmissions));
    }

    [Fact]
    public async Task A_thousand_short_connections_complete()
    {
        var quick = new TcpSettings { TimeWait = TimeSpan.FromMilliseconds(200) };
        await using var pair = new TcpLoopPair(quick, quick);
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 7), backlog: 256);
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            var handlers = new List<Task>();
            for (int i = 0; i < 1000; i++)
            {
                var s = await listener.AcceptAsync(stop.Token);
                handlers.Add(Task.Run(async () =>
                {
                    await using (s)
                    {
                        var b = new byte[16];
                        int n = await s.ReadAsync(b);
                        await s.WriteAsync(b.AsMemory(0, n));
                    }
                }));
            }
            await Task.WhenAll(handlers);
        });
        int ok = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            await using var c = await pair.A.ConnectAsync(new IPEndPoint(TcpLoopPair.V4B, 7), cancellationToken: ct);
            var msg = BitConverter.GetBytes(i);
            await c.WriteAsync(msg, ct);
            var back = await ReadToEnd(c);
            if (back.AsSpan().SequenceEqual(msg)) Interlocked.Increment(ref ok);
        }).WaitAsync(TimeSpan.FromSeconds(120));
        await server.WaitAsync(Limit);
        Assert.Equal(1000, ok);
    }
}
