using System.Net;
using System.Net.Sockets;
using NetStack.Sockets;
using NetStack.Tests.Api.Support;
using NetStack.Transport.Udp;

namespace NetStack.Tests.Api;

/// <summary>
/// UDP trains on the front door (issue 12 item 2, Linux's <c>UDP_SEGMENT</c>): <see cref="AsyncUdpSocket.SendSegmentedAsync"/>
/// hands the core's <see cref="UdpSocket.SendSegmented"/> a train from any thread, through the same pooled operation as
/// <see cref="AsyncUdpSocket.SendToAsync"/> (nothing allocated per call), and inline on the loop thread. The in-memory link
/// has no USO, so the stack cuts each train in software; the receiver sees the datagrams in order.
/// </summary>
public sealed class UdpTrainApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static byte[] Pattern(int n, int seed)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + seed);
        return b;
    }

    /// <summary>Receives the <paramref name="payload"/> cut into <paramref name="segmentSize"/>-byte datagrams, in order.</summary>
    private static async Task AssertTrainArrives(AsyncUdpSocket receiver, byte[] payload, int segmentSize, IPAddress from)
    {
        var buffer = new byte[65536];
        for (int at = 0; at < payload.Length; at += segmentSize)
        {
            int n = Math.Min(segmentSize, payload.Length - at);
            var r = await receiver.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
            Assert.Equal(from, r.RemoteEndPoint.Address);
            Assert.Equal(n, r.ReceivedBytes);
            Assert.Equal(payload.AsSpan(at, n).ToArray(), buffer.AsSpan(0, n).ToArray());
        }
    }

    [Fact]
    public async Task A_train_from_any_thread_arrives_as_its_datagrams_the_last_shorter_IPv4_and_IPv6()
    {
        await using var net = await StackPair.StartDualStackAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 9));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 0));
        foreach (var (to, from) in new[]
        {
            (new IPEndPoint(IPAddress.Parse("192.0.2.2"), 9), IPAddress.Parse("192.0.2.1")),
            (new IPEndPoint(IPAddress.Parse("2001:db8::2"), 9), IPAddress.Parse("2001:db8::1")),
        })
        {
            // Resolution first: a train to an unresolved neighbour waits as at most 8 of its datagrams (as any packets do).
            await client.SendToAsync(new byte[1], to);
            await AssertTrainArrives(server, new byte[1], 1, from);

            var train = Pattern(1200 * 40 + 17, to.AddressFamily == AddressFamily.InterNetwork ? 1 : 2);
            Assert.Equal(train.Length, await client.SendSegmentedAsync(train, 1200, to).AsTask().WaitAsync(Wait));
            await AssertTrainArrives(server, train, 1200, from);

            // On the loop thread the call runs inline (completed when it returns).
            var inline = Pattern(1000 * 10, 3);
            bool completedInline = await net.A.InvokeAsync(_ =>
            {
                var pending = client.SendSegmentedAsync(inline, 1000, to);
                return pending.IsCompletedSuccessfully && pending.Result == inline.Length;
            });
            Assert.True(completedInline);
            await AssertTrainArrives(server, inline, 1000, from);
        }
        long trains = await net.A.InvokeAsync(st => st.Statistics.UdpSuperDatagramsSent);
        Assert.Equal(4, trains);
    }

    [Fact]
    public async Task A_connected_socket_sends_its_train_to_the_peer()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 10));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.ConnectAsync(new IPEndPoint(StackPair.AddressB, 10));
        await client.SendAsync(new byte[1]);
        await AssertTrainArrives(server, new byte[1], 1, StackPair.AddressA);
        var train = Pattern(1400 * 5, 4);
        Assert.Equal(train.Length, await client.SendSegmentedAsync(train, 1400));
        await AssertTrainArrives(server, train, 1400, StackPair.AddressA);
    }

    [Fact]
    public async Task A_train_too_big_for_the_path_or_the_segment_count_fails_as_a_socket_would()
    {
        await using var net = await StackPair.StartAsync();
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var to = new IPEndPoint(StackPair.AddressB, 11);
        await client.SendToAsync(new byte[1], to); // resolution, so that a refusal is about the train alone

        // A datagram above the MTU, more than UdpSocket.MaxSegments datagrams, more than a 64 KB datagram: EMSGSIZE.
        foreach (var (length, segment) in new[] { (3000, 1500), ((UdpSocket.MaxSegments + 1) * 100, 100), (65530, 1400) })
        {
            var e = await Assert.ThrowsAsync<SocketException>(async () => await client.SendSegmentedAsync(new byte[length], segment, to));
            Assert.Equal(SocketError.MessageSize, e.SocketErrorCode);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = client.SendSegmentedAsync(new byte[100], 0, to); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = client.SendSegmentedAsync(new byte[100], -1, to); });
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.SendSegmentedAsync(new byte[100], 50, to, null, cancelled.Token));
        Assert.Equal(0, await net.A.InvokeAsync(st => st.Statistics.UdpSuperDatagramsSent));

        // The socket still sends after the refusals (the pooled operation was returned each time).
        Assert.Equal(200, await client.SendSegmentedAsync(new byte[200], 100, to));
        await client.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => { _ = client.SendSegmentedAsync(new byte[200], 100, to); });
    }

    [Fact]
    public async Task Sending_trains_allocates_nothing_per_call_on_the_caller_or_the_loop_thread()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 12));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var to = new IPEndPoint(StackPair.AddressB, 12);
        var train = Pattern(1000 * 8, 5);
        var buffer = new byte[2048];
        using var cts = new CancellationTokenSource(); // a cancellable token: it must not cost an allocation either
        void Send()
        {
            // Plain checks: xunit's Assert.Equal allocates a comparer per call.
            if (Spin.Until(client.SendSegmentedAsync(train, 1000, to, null, cts.Token)) != train.Length) throw new InvalidOperationException("short send");
            // The receiver keeps up (as a paced sender's would): frames do not pile up in the in-memory link, whose pool
            // of in-flight frames would otherwise grow, on the sending loop's thread, to hold a burst of thousands.
            for (int i = 0; i < 8; i++)
                if (Spin.Until(server.ReceiveFromAsync(buffer, cts.Token)).ReceivedBytes != 1000) throw new InvalidOperationException("short datagram");
        }
        for (int i = 0; i < 100; i++) Send(); // ARP resolved, JIT done, the operation pooled

        // Rounds of N trains until one passes (Allocations.CheapestRounds, at most ten): the caller allocates nothing in its
        // cheapest round, and A's loop fewer than 8 bytes per train in its cheapest (a quiet round allocates nothing). A
        // per-call allocation (a closure, a task, an endpoint: 24 bytes or more) shows in every round; growth to a new
        // high-water mark of a pool or queue in some only (a run beside stress-ng saw 8,216 bytes over 301 trains).
        const int N = 300;
        var m = NetStack.Tests.Support.Allocations.CheapestRounds(Send, N, [net.A]);

        // The loop sent the trains of every round (8 datagrams each, cut in software).
        long trains = await net.A.InvokeAsync(st => st.Statistics.UdpSuperDatagramsSent);
        Assert.True(trains >= 100 + (long)N * m.Count, $"{trains} trains sent");
        Assert.True(m.Caller == 0, $"the caller allocated {m.Caller} bytes over {N} trains in its cheapest round (rounds: {m.Rounds})");
        Assert.True(m.Loops[0] < 8 * N, $"stack A's loop allocated {m.Loops[0]} bytes over {N} trains in its cheapest round (rounds: {m.Rounds})");
    }
}
