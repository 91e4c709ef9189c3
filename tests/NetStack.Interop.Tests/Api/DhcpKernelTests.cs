using System.Net;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Tap;
using NetStack.Network;

namespace NetStack.Interop.Tests.Api;

/// <summary>Our DHCPv4 client (RFC 2131) against dnsmasq in the namespace, on 198.51.100.0/24.</summary>
public sealed class DhcpKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static InterfaceConfig DhcpConfig() => new() { Dhcpv4 = true, EnableIpv6 = false };

    private static Task<System.Diagnostics.Process> StartServerAsync(KernelPeer peer, string leases, params string[] extra) =>
        Dnsmasq.StartAsync(peer, "198.51.100.1",
        [
            "--dhcp-range=198.51.100.50,198.51.100.60,255.255.255.0,2m", "--dhcp-authoritative",
            "--dhcp-option=option:router,198.51.100.1", "--dhcp-option=option:dns-server,198.51.100.1",
            "--dhcp-option=option:mtu,1400", $"--dhcp-leasefile={leases}", .. extra,
        ]);

    [SkippableFact]
    public async Task Lease_is_obtained_and_installed_with_router_dns_and_mtu()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(config: DhcpConfig(), kernelV4: "198.51.100.1/24");
        await StartServerAsync(peer, peer.TempFile("leases"));

        var lease = await peer.Stack.WaitForDhcpv4LeaseAsync().WaitAsync(Wait);

        Assert.InRange(lease.Address.Value, Wire.Ipv4Address.Parse("198.51.100.50").Value, Wire.Ipv4Address.Parse("198.51.100.60").Value);
        Assert.Equal(24, lease.PrefixLength);
        Assert.Equal([Wire.Ipv4Address.Parse("198.51.100.1")], lease.Routers);
        Assert.Equal((ushort)1400, lease.Mtu);
        Assert.Equal(1400, await peer.Stack.InvokeAsync(_ => peer.Stack.Interface.Mtu));
        // The address works: the kernel answers our ping from it, and DNS goes to the server DHCP gave us.
        var ping = await peer.Stack.PingAsync(IPAddress.Parse("198.51.100.1"), TimeSpan.FromSeconds(5));
        Assert.Equal(Sockets.PingStatus.Success, ping.Status);
        Assert.Equal([IPAddress.Parse("198.51.100.1")], peer.Stack.Dns.Servers);
        var addresses = await peer.Stack.ResolveAsync("www.example.test").WaitAsync(Wait);
        Assert.Contains(IPAddress.Parse("198.51.100.10"), addresses);
    }

    [SkippableFact]
    public async Task Short_lease_is_renewed_before_it_expires()
    {
        // RFC 2131 §4.4.5: at T1 the client renews with a unicast REQUEST to the server.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync(config: DhcpConfig(), kernelV4: "198.51.100.1/24");
        await StartServerAsync(peer, peer.TempFile("leases"), "--dhcp-option-force=option:T1,4", "--dhcp-option-force=option:T2,7");
        var first = await peer.Stack.WaitForDhcpv4LeaseAsync().WaitAsync(Wait);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (peer.Stack.Dhcpv4Lease?.AcquiredAt == first.AcquiredAt && clock.Elapsed < Wait) await Task.Delay(100);

        var renewed = peer.Stack.Dhcpv4Lease;
        Assert.NotNull(renewed);
        Assert.Equal(first.Address, renewed.Address);
        Assert.True(renewed.AcquiredAt > first.AcquiredAt, "the lease was not renewed");
    }

    [SkippableFact]
    public async Task Lease_is_released_when_the_stack_stops()
    {
        // RFC 2131 §4.4.6: DHCPRELEASE on shutdown; dnsmasq then forgets the lease.
        Root.Require();
        var leases = "";
        await using var peer = await KernelPeer.StartAsync(config: DhcpConfig(), kernelV4: "198.51.100.1/24");
        leases = peer.TempFile("leases");
        await StartServerAsync(peer, leases);
        var lease = await peer.Stack.WaitForDhcpv4LeaseAsync().WaitAsync(Wait);
        var address = lease.Address.ToString();
        Assert.Contains(address, await File.ReadAllTextAsync(leases), StringComparison.Ordinal);

        await peer.Stack.StopAsync();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await File.ReadAllTextAsync(leases)).Contains(address, StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(100);
        Assert.DoesNotContain(address, await File.ReadAllTextAsync(leases), StringComparison.Ordinal);
    }
}
