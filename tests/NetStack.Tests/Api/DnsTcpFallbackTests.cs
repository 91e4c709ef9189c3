using System.Net;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>Truncated DNS answers asked again over the stack's own TCP (RFC 7766 §5).</summary>
public sealed class DnsTcpFallbackTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Truncated_udp_answer_is_retried_over_tcp_and_its_addresses_returned()
    {
        await using var net = await StackPair.StartAsync(optionsA: new IpStackOptions { DnsServers = [StackPair.AddressB], DnsAttempts = 1 });
        var zone = new Dictionary<string, IPAddress[]>
        {
            ["big.example.test"] = Enumerable.Range(1, 40).Select(i => IPAddress.Parse($"198.51.100.{i}")).ToArray(),
        };
        await using var server = await TestDnsServer.StartWithTcpAsync(net.B, zone);
        server.TruncateOverUdp.Add("big.example.test");

        var addresses = await net.A.GetHostAddressesAsync("big.example.test", System.Net.Sockets.AddressFamily.InterNetwork).WaitAsync(Wait);

        Assert.Equal(40, addresses.Length);
        Assert.Equal(1, server.TcpQueries);
    }
}
