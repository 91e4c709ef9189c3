using System.Net;
using System.Net.Sockets;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Tests.Api;

/// <summary><see cref="IpStack.WaitForReadyAsync"/>: completes once the IPv6 addresses are past DAD (RFC 4862 §5.4), and then a connect works.</summary>
public sealed class ReadinessApiTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    // Five DAD probes (RFC 4862 §5.1 DupAddrDetectTransmits), one RetransTimer (1 s) apart: the address stays tentative
    // for at least 5 s, so "right after start" holds even when a loaded machine delays this test by a second or two.
    private static IpStack Stack(INetDevice device, string v6, bool optimistic = false) => new(device, new InterfaceConfig
    {
        EnableIpv4 = false,
        Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse(v6), 64)],
        Slaac = false,
    }, new IpStackOptions { Stack = new StackOptions { Ipv6 = new Ipv6Settings { OptimisticDad = optimistic, DupAddrDetectTransmits = 5 } } });

    [Fact]
    public async Task Right_after_start_the_address_is_tentative_after_WaitForReadyAsync_a_connect_succeeds()
    {
        using var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        await using var a = Stack(link.A, "2001:db8::1");
        await using var b = Stack(link.B, "2001:db8::2");
        await a.StartAsync();
        await b.StartAsync();
        Assert.Equal(ReadinessStatus.Waiting, (await a.GetReadinessAsync()).Status); // DAD takes at least 5 s here
        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.IPv6Any, 7));
        var early = await Assert.ThrowsAsync<SocketException>(() => a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 7)));
        Assert.NotEqual(SocketError.Success, early.SocketErrorCode);

        await Task.WhenAll(a.WaitForReadyAsync(), b.WaitForReadyAsync()).WaitAsync(Limit);
        Assert.Equal(InterfaceReadiness.Ready, await a.GetReadinessAsync());
        var accepting = listener.AcceptAsync().AsTask();
        await using var c = await a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("2001:db8::2"), 7)).WaitAsync(Limit);
        await using var s = await accepting.WaitAsync(Limit);
        Assert.Equal(IPAddress.Parse("2001:db8::1"), c.LocalEndPoint.Address);
    }

    [Fact]
    public async Task With_optimistic_DAD_the_stack_is_ready_at_once_RFC4429()
    {
        using var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        await using var a = Stack(link.A, "2001:db8::1", optimistic: true);
        await a.StartAsync();
        Assert.Equal(InterfaceReadiness.Ready, await a.GetReadinessAsync());
        await a.WaitForReadyAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Waiting_before_start_is_refused_and_after_stop_is_disposed()
    {
        using var link = new IpStackLink();
        var a = Stack(link.A, "2001:db8::1");
        await Assert.ThrowsAsync<InvalidOperationException>(() => a.WaitForReadyAsync());
        await a.StartAsync();
        await a.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => a.WaitForReadyAsync());
    }

    [Fact]
    public async Task A_router_that_never_comes_leaves_the_stack_waiting_until_cancelled()
    {
        using var link = new IpStackLink();
        await using var a = new IpStack(link.A, new InterfaceConfig { EnableIpv4 = false, Slaac = true },
            new IpStackOptions { ReadyRequiresIpv6Router = true, Stack = new StackOptions { Ipv6 = new Ipv6Settings { OptimisticDad = true } } });
        await a.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a.WaitForReadyAsync(cts.Token));
        Assert.Contains("router", (await a.GetReadinessAsync()).Reason, StringComparison.Ordinal);
    }
}
