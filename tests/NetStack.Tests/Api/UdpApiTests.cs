using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tests.Api.Support;
using NetStack.Transport.Udp;

namespace NetStack.Tests.Api;

/// <summary>The async UDP API of <see cref="Tap.IpStack"/> between two real-time stacks over an in-memory link.</summary>
public sealed class UdpApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Datagram_arrives_with_sender_payload_and_the_ttl_and_traffic_class_it_was_sent_with()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7000));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync("hello"u8.ToArray(), new IPEndPoint(StackPair.AddressB, 7000), new IpSendOptions(ttl: 9, trafficClass: 0xB8));
        var buffer = new byte[100];
        var r = await server.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);

        Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes));
        Assert.Equal(new IPEndPoint(StackPair.AddressA, client.LocalEndPoint.Port), r.RemoteEndPoint);
        Assert.Equal(StackPair.AddressB, r.LocalAddress);
        Assert.Equal(9, r.Ttl);
        Assert.Equal(0xB8, r.TrafficClass);
    }

    [Fact]
    public async Task IPv4_options_sent_by_one_socket_arrive_at_the_other_byte_for_byte_like_IP_OPTIONS_and_IP_RECVOPTS_RFC1122_4_1_3_2()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7002));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        byte[] options = [148, 4, 0, 0, 222, 4, 0xAB, 0xCD]; // Router Alert, an unassigned option
        client.DefaultSendOptions = new IpSendOptions { HeaderOptions = IpHeaderOptions.Create(options) };

        await client.SendToAsync(new byte[] { 1 }, new IPEndPoint(StackPair.AddressB, 7002));
        var r = await server.ReceiveFromAsync(new byte[16]).AsTask().WaitAsync(Wait);

        Assert.Equal(options, r.HeaderOptions.ToArray());
    }

    [Fact]
    public async Task Reply_goes_back_to_the_sender_endpoint()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync(new byte[] { 1, 2, 3 }, new IPEndPoint(StackPair.AddressB, 7));
        var buffer = new byte[16];
        var request = await server.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
        await server.SendToAsync(buffer.AsMemory(0, request.ReceivedBytes), request.RemoteEndPoint);
        var reply = await client.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);

        Assert.Equal(3, reply.ReceivedBytes);
        Assert.Equal(new IPEndPoint(StackPair.AddressB, 7), reply.RemoteEndPoint);
    }

    [Fact]
    public async Task Longer_datagram_is_truncated_to_the_buffer_and_its_length_reported()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7001));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync(new byte[300], new IPEndPoint(StackPair.AddressB, 7001));
        var r = await server.ReceiveFromAsync(new byte[100]).AsTask().WaitAsync(Wait);

        Assert.Equal(100, r.ReceivedBytes);
        Assert.Equal(300, r.DatagramLength);
        Assert.True(r.Truncated);
    }

    [Fact]
    public async Task Pending_receive_ends_with_OperationCanceledException_when_its_token_is_cancelled()
    {
        await using var net = await StackPair.StartAsync();
        await using var socket = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        using var cts = new CancellationTokenSource();

        var pending = socket.ReceiveFromAsync(new byte[10], cts.Token).AsTask();
        await Task.Delay(50);
        Assert.False(pending.IsCompleted);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Wait));
    }

    [Fact]
    public async Task Cancelled_receive_does_not_swallow_the_next_datagram()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7002));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        using (var cts = new CancellationTokenSource())
        {
            var pending = server.ReceiveFromAsync(new byte[10], cts.Token).AsTask();
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Wait));
        }

        await client.SendToAsync(new byte[] { 42 }, new IPEndPoint(StackPair.AddressB, 7002));
        var buffer = new byte[10];
        var r = await server.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);

        Assert.Equal(42, buffer[0]);
        Assert.Equal(1, r.ReceivedBytes);
    }

    [Fact]
    public async Task Disposing_the_socket_fails_a_pending_receive_with_OperationAborted()
    {
        await using var net = await StackPair.StartAsync();
        var socket = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var pending = socket.ReceiveFromAsync(new byte[10]).AsTask();
        await Task.Delay(20);

        await socket.DisposeAsync();

        var e = await Assert.ThrowsAsync<SocketException>(() => pending.WaitAsync(Wait));
        Assert.Equal(SocketError.OperationAborted, e.SocketErrorCode);
    }

    [Fact]
    public async Task Disposed_socket_frees_its_port_for_a_new_bind()
    {
        await using var net = await StackPair.StartAsync();
        var first = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7003));
        await first.DisposeAsync();

        await using var second = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7003));

        Assert.Equal(7003, second.LocalEndPoint.Port);
    }

    [Fact]
    public async Task Stopping_the_stack_fails_a_pending_receive_with_OperationAborted()
    {
        await using var net = await StackPair.StartAsync();
        var socket = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var pending = socket.ReceiveFromAsync(new byte[10]).AsTask();
        await Task.Delay(20);

        await net.B.StopAsync();

        var e = await Assert.ThrowsAsync<SocketException>(() => pending.WaitAsync(Wait));
        Assert.Equal(SocketError.OperationAborted, e.SocketErrorCode);
    }

    [Fact]
    public async Task Binding_a_port_in_use_fails_with_AddressAlreadyInUse()
    {
        await using var net = await StackPair.StartAsync();
        await using var first = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7004));

        var e = await Assert.ThrowsAsync<SocketException>(() => net.B.BindUdpAsync(new IPEndPoint(StackPair.AddressB, 7004)));

        Assert.Equal(SocketError.AddressAlreadyInUse, e.SocketErrorCode);
    }

    [Fact]
    public async Task Exhausted_ephemeral_range_is_reported_as_TooManyOpenSockets()
    {
        // RFC 6056 §3.2: ephemeral ports come from a bounded range; a full range is a clear error, never a wrap-around.
        await using var net = await StackPair.StartAsync(udpB: new UdpOptions { EphemeralPortFirst = 50000, EphemeralPortLast = 50009 });
        var sockets = new List<AsyncUdpSocket>();
        for (int i = 0; i < 10; i++) sockets.Add(await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0)));

        var e = await Assert.ThrowsAsync<SocketException>(() => net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0)));

        Assert.Equal(SocketError.TooManyOpenSockets, e.SocketErrorCode);
        Assert.Equal(Enumerable.Range(50000, 10), sockets.Select(s => s.LocalEndPoint.Port).Order());
        foreach (var s in sockets) await s.DisposeAsync();
    }

    [Fact]
    public async Task Many_sockets_each_receive_only_their_own_datagrams()
    {
        const int count = 200;
        await using var net = await StackPair.StartAsync();
        var servers = new AsyncUdpSocket[count];
        for (int i = 0; i < count; i++) servers[i] = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 20000 + i));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        var receives = servers.Select(s => s.ReceiveFromAsync(new byte[8]).AsTask()).ToArray();
        // The first datagram waits for ARP; the burst follows once B is resolved. Otherwise it would depend on how soon
        // B's loop answers: A's resolution queue holds 64 datagrams and the next send fails with NoBufferSpaceAvailable
        // (CI saw it once on a loaded machine).
        await client.SendToAsync(BitConverter.GetBytes(0), new IPEndPoint(StackPair.AddressB, 20000));
        await receives[0].WaitAsync(Wait);
        for (int i = 1; i < count; i++)
            await client.SendToAsync(BitConverter.GetBytes(i), new IPEndPoint(StackPair.AddressB, 20000 + i));
        var results = await Task.WhenAll(receives).WaitAsync(Wait);

        Assert.All(results, r => Assert.Equal(4, r.ReceivedBytes));
        for (int i = 0; i < count; i++) await servers[i].DisposeAsync();
    }

    [Theory]
    [InlineData("255.255.255.255")]
    [InlineData("192.0.2.255")]
    public async Task Broadcast_is_received_by_the_wildcard_socket_with_the_broadcast_destination(string broadcast)
    {
        // RFC 1122 §4.1.3.5 / RFC 8085 §3.5: broadcast datagrams reach the sockets bound to their port (limited and directed).
        await using var net = await StackPair.StartAsync();
        await using var any = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 6000));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync(new byte[] { 7 }, new IPEndPoint(IPAddress.Parse(broadcast), 6000));
        var r = await any.ReceiveFromAsync(new byte[4]).AsTask().WaitAsync(Wait);

        Assert.Equal(IPAddress.Parse(broadcast), r.LocalAddress);
        Assert.Equal(StackPair.AddressA, r.RemoteEndPoint.Address);
    }

    [Fact]
    public async Task Datagram_to_a_closed_port_brings_port_unreachable_to_ReceiveErrorAsync()
    {
        // RFC 1122 §4.1.3.1: the peer answers with ICMP port unreachable; like Linux IP_RECVERR it reaches the sending socket.
        await using var net = await StackPair.StartAsync();
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync(new byte[] { 1 }, new IPEndPoint(StackPair.AddressB, 9));
        var error = await client.ReceiveErrorAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(3, error.Icmp.Type);
        Assert.Equal(3, error.Icmp.Code);
        Assert.Equal(StackPair.AddressB, error.Icmp.Reporter.ToIPAddress());
        Assert.Equal(new IPEndPoint(StackPair.AddressB, 9), error.OriginalDestination.ToIPEndPoint());
    }

    [Fact]
    public async Task Connected_socket_receives_only_from_its_peer()
    {
        await using var net = await StackPair.StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7005));
        await using var peer = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await using var stranger = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await server.ConnectAsync(new IPEndPoint(StackPair.AddressA, peer.LocalEndPoint.Port));

        await stranger.SendToAsync(new byte[] { 1 }, new IPEndPoint(StackPair.AddressB, 7005));
        await peer.SendToAsync(new byte[] { 2 }, new IPEndPoint(StackPair.AddressB, 7005));
        var buffer = new byte[4];
        var r = await server.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
        await server.SendAsync(new byte[] { 3 });
        var back = await peer.ReceiveFromAsync(new byte[4]).AsTask().WaitAsync(Wait);

        Assert.Equal(2, buffer[0]);
        Assert.Equal(peer.LocalEndPoint.Port, r.RemoteEndPoint.Port);
        Assert.Equal(7005, back.RemoteEndPoint.Port);
    }

    [Fact]
    public async Task ReceiveAllAsync_yields_datagrams_in_order_and_ends_when_the_socket_is_disposed()
    {
        await using var net = await StackPair.StartAsync();
        var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7006));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var received = new List<byte>();
        var reader = Task.Run(async () =>
        {
            await foreach (var m in server.ReceiveAllAsync())
            {
                received.Add(m.Data[0]);
                if (received.Count == 3) await server.DisposeAsync();
            }
        });

        for (byte i = 1; i <= 3; i++) await client.SendToAsync(new[] { i }, new IPEndPoint(StackPair.AddressB, 7006));
        await reader.WaitAsync(Wait);

        Assert.Equal(new byte[] { 1, 2, 3 }, received);
    }

    [Fact]
    public async Task Send_without_a_route_fails_with_NetworkUnreachable()
    {
        await using var net = await StackPair.StartAsync();
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        var e = await Assert.ThrowsAsync<SocketException>(() => client.SendToAsync(new byte[1], new IPEndPoint(IPAddress.Parse("203.0.113.9"), 9)).AsTask());

        Assert.Equal(SocketError.NetworkUnreachable, e.SocketErrorCode);
    }
}
