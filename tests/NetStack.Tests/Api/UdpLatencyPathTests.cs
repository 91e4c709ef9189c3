using System.Diagnostics;
using System.Net;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>
/// The request/response path of the async UDP API (issue 12 items 4 and 5): pooled operations that allocate nothing per
/// call, continuations on the loop thread when asked for, cancellation of a pooled receive, and the loop's own wake-up.
/// </summary>
public sealed class UdpLatencyPathTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>An RFC 862 echo written as a service would: every continuation runs on the stack's loop thread.</summary>
    private static async Task EchoAsync(AsyncUdpSocket socket, IpStack stack, Action<bool> onLoop)
    {
        var buffer = new byte[2048];
        try
        {
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer).ConfigureAwait(false);
                onLoop(stack.Host.IsOnLoopThread);
                await socket.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint).ConfigureAwait(false);
            }
        }
        catch (System.Net.Sockets.SocketException)
        {
            // the socket was closed: the echo ends
        }
    }


    [Fact]
    public async Task A_request_response_exchange_allocates_nothing_on_the_caller_or_either_loop_thread()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        server.RunContinuationsOnLoop = true;
        int offLoop = 0;
        _ = await net.B.InvokeAsync(_ => EchoAsync(server, net.B, on => { if (!on) Interlocked.Increment(ref offLoop); }));

        var to = new IPEndPoint(StackPair.AddressB, 7);
        var request = new byte[64];
        var reply = new byte[64];
        using var cts = new CancellationTokenSource(); // a cancellable token: its registration must not allocate either
        void Exchange()
        {
            // Plain checks: xunit's Assert.Equal allocates a comparer per call.
            if (Spin.Until(client.SendToAsync(request, to)) != 64) throw new InvalidOperationException("short send");
            if (Spin.Until(client.ReceiveFromAsync(reply, cts.Token)).ReceivedBytes != 64) throw new InvalidOperationException("short reply");
        }
        for (int i = 0; i < 200; i++) Exchange(); // ARP resolved, JIT done, pools filled

        // Rounds of N exchanges until one passes (Allocations.CheapestRounds, at most ten): the caller allocates nothing in
        // its cheapest round, each loop fewer than 8 bytes per exchange in its cheapest (a quiet round allocates nothing). A
        // per-call allocation (an endpoint, a task, a closure: 24 bytes or more) shows in every round; growth to a new
        // high-water mark of a pool or queue on a loaded machine in some only.
        const int N = 500;
        var m = NetStack.Tests.Support.Allocations.CheapestRounds(Exchange, N, [net.A, net.B]);
        Assert.True(m.Caller == 0, $"the caller allocated {m.Caller} bytes over {N} exchanges in its cheapest round (rounds: {m.Rounds})");
        Assert.True(m.Loops[0] < 8 * N, $"stack A's loop allocated {m.Loops[0]} bytes over {N} exchanges in its cheapest round (rounds: {m.Rounds})");
        Assert.True(m.Loops[1] < 8 * N, $"stack B's loop allocated {m.Loops[1]} bytes over {N} exchanges in its cheapest round (rounds: {m.Rounds})");
        Assert.Equal(0, Volatile.Read(ref offLoop));
    }

    [Fact]
    public async Task Continuations_run_on_the_loop_thread_when_asked_and_on_the_thread_pool_otherwise()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 9));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var to = new IPEndPoint(StackPair.AddressB, 9);

        async Task<bool> ReceiveAndReport()
        {
            await server.ReceiveFromAsync(new byte[16]).ConfigureAwait(false);
            return net.B.Host.IsOnLoopThread;
        }

        var pooled = ReceiveAndReport();
        await client.SendToAsync(new byte[] { 1 }, to);
        Assert.False(await pooled.WaitAsync(Wait));

        server.RunContinuationsOnLoop = true;
        var inline = ReceiveAndReport();
        await client.SendToAsync(new byte[] { 2 }, to);
        Assert.True(await inline.WaitAsync(Wait));
    }

    [Fact]
    public async Task A_cancelled_pooled_receive_takes_no_datagram_and_the_next_receive_gets_it()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 11));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var to = new IPEndPoint(StackPair.AddressB, 11);
        var buffer = new byte[16];

        for (int round = 0; round < 20; round++)
        {
            using var cts = new CancellationTokenSource();
            var cancelled = server.ReceiveFromAsync(buffer, cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await cancelled);

            await client.SendToAsync(new byte[] { (byte)round }, to);
            var r = await server.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
            Assert.Equal(1, r.ReceivedBytes);
            Assert.Equal((byte)round, buffer[0]);
        }
    }

    [Fact]
    public async Task Pending_pooled_receive_fails_with_operation_aborted_when_the_socket_is_disposed()
    {
        await using var net = await StackPair.StartAsync();
        var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 13));
        server.RunContinuationsOnLoop = true;
        var pending = server.ReceiveFromAsync(new byte[16]).AsTask();
        await server.DisposeAsync();
        var e = await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => pending.WaitAsync(Wait));
        Assert.Equal(System.Net.Sockets.SocketError.OperationAborted, e.SocketErrorCode);
    }

    /// <summary>A node whose first Poll asks for another one from the loop thread (as a continuation that sent does).</summary>
    private sealed class WakesItselfOnce(Func<StackHost> host) : IPollable
    {
        public int Polls;

        public Instant Poll(Instant now)
        {
            if (Interlocked.Increment(ref Polls) == 2) host().Wake();
            return Instant.MaxValue;
        }
    }

    [Fact]
    public async Task Wake_from_the_loop_thread_polls_again_before_the_loop_sleeps()
    {
        StackHost? h = null;
        var node = new WakesItselfOnce(() => h!);
        await using var host = h = new StackHost(node, []);
        host.Start();
        var sw = Stopwatch.StartNew();
        while (Volatile.Read(ref node.Polls) < 1 && sw.Elapsed < Wait) await Task.Delay(10);
        await host.InvokeAsync(() => 0).WaitAsync(Wait); // Poll 1 ran; this work item makes Poll 2, which wakes the loop
        while (Volatile.Read(ref node.Polls) < 3 && sw.Elapsed < Wait) await Task.Delay(10);
        Assert.Equal(3, Volatile.Read(ref node.Polls)); // the loop polled once more, then slept (no deadline, no work)
        await Task.Delay(200);
        Assert.Equal(3, Volatile.Read(ref node.Polls));
    }
}
