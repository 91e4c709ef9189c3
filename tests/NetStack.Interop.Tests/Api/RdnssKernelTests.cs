using System.Diagnostics;
using System.Net;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Tap;
using NetStack.Composition;
using NetStack.Network;

namespace NetStack.Interop.Tests.Api;

/// <summary>DNS servers learned from router advertisements (RFC 8106 RDNSS, sent by radvd in the namespace) feed our resolver.</summary>
public sealed class RdnssKernelTests
{
    [SkippableFact]
    public async Task Server_from_an_RDNSS_option_resolves_our_queries()
    {
        Root.Require();
        var config = new InterfaceConfig { EnableIpv4 = false, Slaac = true };
        await using var peer = await KernelPeer.StartAsync(new IpStackOptions { Stack = new StackOptions(), DnsAttempts = 1 }, config);
        NetnsLab.RunIn(peer.Namespace, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        var conf = peer.TempFile("radvd.conf");
        await File.WriteAllTextAsync(conf, $$"""
            interface {{peer.TapName}} {
                AdvSendAdvert on;
                MinRtrAdvInterval 3;
                MaxRtrAdvInterval 4;
                prefix 2001:db8:2::/64 { AdvOnLink on; AdvAutonomous on; };
                RDNSS 2001:db8::1 { AdvRDNSSLifetime 60; };
            };
            """);
        peer.Lab.StartIn(peer.Namespace, "radvd", "-n", "-C", conf, "-p", peer.TempFile("radvd.pid"), "-m", "stderr");
        await Dnsmasq.StartAsync(peer, "2001:db8::1");

        var clock = Stopwatch.StartNew();
        while (!peer.Stack.Dns.Servers.Contains(KernelPeer.KernelV6) && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(100);
        Assert.Contains(KernelPeer.KernelV6, peer.Stack.Dns.Servers);
        // SLAAC gave us an address in 2001:db8:2::/64 to query from (RFC 4862 §5.5.3, after DAD).
        var addresses = await peer.Stack.GetHostAddressesAsync("www.example.test", System.Net.Sockets.AddressFamily.InterNetworkV6)
            .WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal([IPAddress.Parse("2001:db8::10")], addresses);
    }
}
