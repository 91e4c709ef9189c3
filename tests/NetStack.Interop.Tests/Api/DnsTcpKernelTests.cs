using NetStack.Interop.Tests.Support;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Api;

/// <summary>A truncated answer from dnsmasq asked again over our TCP (RFC 7766 §5).</summary>
public sealed class DnsTcpKernelTests
{
    [SkippableFact]
    public async Task Answer_too_big_for_udp_is_fetched_over_tcp_from_dnsmasq()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(new IpStackOptions { DnsServers = [KernelPeer.KernelV4], DnsAttempts = 1 });
        // 60 A records (16 bytes each with a compressed name) do not fit the 512 bytes of a UDP answer (RFC 1035 §4.2.1).
        var records = Enumerable.Range(1, 60).Select(i => $"--host-record=big.example.test,198.51.100.{i}").ToArray();
        await Dnsmasq.StartAsync(peer, "192.0.2.1", records);

        var addresses = await peer.Stack.GetHostAddressesAsync("big.example.test", System.Net.Sockets.AddressFamily.InterNetwork)
            .WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(60, addresses.Length);
    }
}
