using System.Net;
using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tests.Api.Support;
using NetStack.Wire;

namespace NetStack.Tests.Api;

/// <summary>DHCPv4 wiring of <see cref="Tap.IpStack"/> against a test server on the peer stack (in memory, no root).</summary>
public sealed class DhcpApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    // The first DISCOVER may leave before the test server listens: retransmit quickly (RFC 2131 §4.1 leaves the first delay to us).
    private static Task<StackPair> StartAsync() => StackPair.StartAsync(
        optionsA: new Tap.IpStackOptions
        {
            Dhcpv4 = mac => new NetStack.Services.Dhcpv4ClientOptions(mac) { InitialRetransmit = TimeSpan.FromMilliseconds(200), Jitter = TimeSpan.Zero },
        },
        configA: new InterfaceConfig { Dhcpv4 = true, EnableIpv6 = false },
        configB: new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], EnableIpv6 = false });

    [Fact]
    public async Task Lease_is_installed_so_that_the_address_answers_and_its_dns_server_is_used()
    {
        await using var net = await StartAsync();
        await using var server = await TestDhcpServer.StartAsync(net.B);

        var lease = await net.A.WaitForDhcpv4LeaseAsync().WaitAsync(Wait);
        var ping = await net.B.PingAsync(IPAddress.Parse("198.51.100.50"), TimeSpan.FromSeconds(5));

        Assert.Equal(TestDhcpServer.Offered, lease.Address);
        Assert.Equal(24, lease.PrefixLength);
        Assert.Equal(PingStatus.Success, ping.Status);
        Assert.Equal([IPAddress.Parse("198.51.100.1")], net.A.Dns.Servers);
        Assert.Equal(1400, await net.A.InvokeAsync(_ => net.A.Interface.Mtu));
        // RFC 2131 §3.1: DISCOVER (repeated if the first was lost), then REQUEST.
        Assert.Equal(DhcpMessageType.Discover, server.Received[0]);
        Assert.Equal(DhcpMessageType.Request, server.Received[^1]);
    }

    [Fact]
    public async Task Stopping_the_stack_releases_the_lease()
    {
        // RFC 2131 §4.4.6: DHCPRELEASE, unicast to the server, when the client gives the address up.
        await using var net = await StartAsync();
        await using var server = await TestDhcpServer.StartAsync(net.B);
        await net.A.WaitForDhcpv4LeaseAsync().WaitAsync(Wait);

        await net.A.StopAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!server.Received.Contains(DhcpMessageType.Release) && clock.Elapsed < Wait) await Task.Delay(20);

        Assert.Contains(DhcpMessageType.Release, server.Received);
        Assert.Null(net.A.Dhcpv4Lease);
    }
}
