using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>
/// A ping still waiting for its answer when the stack stops is one of the things the stack opened: stopping or disposing
/// the stack ends it with <see cref="SocketError.OperationAborted"/> at once, as it ends a receive pending on a socket,
/// instead of leaving it to its own (long) timeout.
/// </summary>
public sealed class PingStopTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PingTimeout = TimeSpan.FromMinutes(5); // far beyond Wait: only the stop can end it

    private static async Task AssertAborted(Task<Sockets.PingResult> ping)
    {
        var e = await Assert.ThrowsAsync<SocketException>(() => ping.WaitAsync(Wait));
        Assert.Equal(SocketError.OperationAborted, e.SocketErrorCode);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_ping_in_flight_fails_with_OperationAborted_when_the_stack_stops(bool dispose)
    {
        await using var net = await StackPair.StartAsync();
        // 192.0.2.77 is on the link but nobody answers: the request waits (ARP, then nothing).
        var ping = net.A.PingAsync(IPAddress.Parse("192.0.2.77"), PingTimeout);
        await net.A.InvokeAsync(_ => true).WaitAsync(Wait); // the loop runs work in order: the ping has started
        Assert.False(ping.IsCompleted);

        if (dispose) await net.A.DisposeAsync();
        else await net.A.StopAsync();

        await AssertAborted(ping);
    }

    [Fact]
    public async Task An_ipv6_ping_in_flight_fails_with_OperationAborted_when_the_stack_stops()
    {
        var config = new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::1/64")], Slaac = false,
        };
        await using var net = await StackPair.StartAsync(configA: config);
        await net.A.WaitForReadyAsync().WaitAsync(Wait); // the address has passed duplicate address detection
        var ping = net.A.PingAsync(IPAddress.Parse("2001:db8::77"), PingTimeout);
        await net.A.InvokeAsync(_ => true).WaitAsync(Wait);
        Assert.False(ping.IsCompleted);

        await net.A.StopAsync();

        await AssertAborted(ping);
    }

    [Fact]
    public async Task A_ping_asked_of_a_stopped_stack_is_refused()
    {
        await using var net = await StackPair.StartAsync();
        await net.A.StopAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => net.A.PingAsync(StackPair.AddressB, PingTimeout));
    }
}
