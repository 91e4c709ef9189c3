using System.Net;
using NetStack.Tap;

namespace NetStack.Tests.Api;

/// <summary>
/// The README's UDP hello, with the README's two usings (System.Net and NetStack.Tap) and nothing else: two stacks on an
/// in-memory link built from CIDR strings, one datagram each way.
/// </summary>
public sealed class UdpHelloTests
{
    [Fact]
    public async Task A_udp_hello_needs_only_the_front_door()
    {
        using var link = new IpStackLink();
        await using var a = new IpStack(link.A, ["192.0.2.1/24", "2001:db8::1/64"]);
        await using var b = new IpStack(link.B, ["192.0.2.2/24", "2001:db8::2/64"], [IPAddress.Parse("192.0.2.1")]);
        await a.StartAsync();
        await b.StartAsync();

        await using var server = await a.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var client = await b.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync("hello"u8.ToArray(), new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7));

        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var r = await server.ReceiveFromAsync(buffer, timeout.Token);
        Assert.Equal("hello"u8.ToArray(), buffer[..r.ReceivedBytes]);
        Assert.Equal(IPAddress.Parse("192.0.2.2"), r.RemoteEndPoint.Address);
        Assert.Equal(["192.0.2.1/24", "2001:db8::1/64"], [.. a.Config.Ipv4Addresses.Select(x => x.ToString()), .. a.Config.Ipv6Addresses.Select(x => x.ToString())]);
        Assert.Equal("192.0.2.1", b.Config.Ipv4Gateway.ToString());
    }

    [Fact]
    public void A_malformed_address_is_refused_at_once()
    {
        using var link = new IpStackLink();
        Assert.Throws<FormatException>(() => new IpStack(link.A, ["192.0.2.300/24"]));
        Assert.Throws<FormatException>(() => new IpStack(link.A, ["192.0.2.1/33"]));
        Assert.Throws<ArgumentException>(() => new IpStack(link.A, ["192.0.2.1/24"], [IPAddress.Parse("192.0.2.9"), IPAddress.Parse("192.0.2.8")]));
    }
}
