using System.Net;
using System.Net.Sockets;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>
/// The stack object is the one front door: what it opens (UDP, ICMP probes, TCP listeners and connections, accepted or
/// initiated) it closes when it stops or is disposed, and operations pending on them fail with OperationAborted, as they do
/// on a <see cref="Socket"/> closed under them.
/// </summary>
public sealed class FrontDoorTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<SocketError> AbortCode(Task pending)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => pending.WaitAsync(Wait));
        var socketError = e as SocketException ?? e.InnerException as SocketException;
        Assert.True(socketError is not null, $"expected a SocketException (or an IOException around one), got {e}");
        return socketError.SocketErrorCode;
    }

    [Fact]
    public async Task StopAsync_closes_every_socket_the_stack_opened()
    {
        await using var net = await StackPair.StartAsync();
        await using var listenerA = await net.A.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 8001));
        var listenerB = await net.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 8000));
        var udp = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var probe = await net.B.OpenIcmpProbeAsync(AddressFamily.InterNetwork);

        // An accepted connection (A -> B) and an initiated one (B -> A), both owned by B.
        var acceptTask = listenerB.AcceptAsync().AsTask();
        await using var clientA = await net.A.ConnectTcpAsync(new IPEndPoint(StackPair.AddressB, 8000)).WaitAsync(Wait);
        var accepted = await acceptTask.WaitAsync(Wait);
        var acceptTaskA = listenerA.AcceptAsync().AsTask();
        var initiated = await net.B.ConnectTcpAsync(new IPEndPoint(StackPair.AddressA, 8001)).WaitAsync(Wait);
        await using var serverA = await acceptTaskA.WaitAsync(Wait);

        var udpReceive = udp.ReceiveFromAsync(new byte[16]).AsTask();
        var probeReceive = probe.ReceiveAsync().AsTask();
        var pendingAccept = listenerB.AcceptAsync().AsTask();
        var acceptedRead = accepted.ReadAsync(new byte[16]).AsTask();
        var initiatedRead = initiated.ReadAsync(new byte[16]).AsTask();

        await net.B.StopAsync();

        Assert.Equal(SocketError.OperationAborted, await AbortCode(udpReceive));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(probeReceive));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(pendingAccept));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(acceptedRead));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(initiatedRead));
    }

    [Fact]
    public async Task DisposeAsync_closes_the_stacks_tcp_connection_and_listener()
    {
        await using var net = await StackPair.StartAsync();
        await using var listenerB = await net.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 8002));
        var listenerA = await net.A.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 8003));
        var udpA = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        var acceptTask = listenerB.AcceptAsync().AsTask();
        var clientA = await net.A.ConnectTcpAsync(new IPEndPoint(StackPair.AddressB, 8002)).WaitAsync(Wait);
        await using var serverB = await acceptTask.WaitAsync(Wait);

        var read = clientA.ReadAsync(new byte[16]).AsTask();
        var accept = listenerA.AcceptAsync().AsTask();
        var receive = udpA.ReceiveFromAsync(new byte[16]).AsTask();

        await net.A.DisposeAsync();

        Assert.Equal(SocketError.OperationAborted, await AbortCode(read));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(accept));
        Assert.Equal(SocketError.OperationAborted, await AbortCode(receive));
    }

    [Fact]
    public async Task A_stopped_stack_opens_nothing()
    {
        await using var net = await StackPair.StartAsync();
        await net.B.StopAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => net.B.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 8004)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => net.B.ConnectTcpAsync(new IPEndPoint(StackPair.AddressA, 8004)));
    }
}
