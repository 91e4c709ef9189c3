using System.Net;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;

namespace NetStack.Interop.Tests.Api;

/// <summary>Ping through a Linux router: the kernel namespace forwards to a second namespace behind it.</summary>
public sealed class PingKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private static async Task<KernelPeer> StartRoutedAsync()
    {
        var config = new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")],
            Ipv4Gateway = Wire.Ipv4Address.Parse("192.0.2.1"),
            Ipv6Addresses = [new Ipv6Cidr(Wire.Ipv6Address.Parse("2001:db8::2"), 64)],
            Ipv6Gateway = Wire.Ipv6Address.Parse("2001:db8::1"),
            Slaac = false,
        };
        var peer = await KernelPeer.StartAsync(config: config);
        try
        {
            // The kernel namespace routes between our TAP and a veth to a second namespace (203.0.113.0/24, 2001:db8:1::/64).
            var far = peer.Lab.CreateNamespace();
            // Before the veth exists, so its link-local addresses are not tentative: Linux sends a neighbor solicitation
            // for a FORWARDED packet from the outgoing link's link-local address (the packet's source is not its own),
            // and sends none while that address is tentative (ndisc_send_ns). With DAD on, the router could not resolve
            // the far host for the first 1-2 s (longer under load), its three solicitations were never sent, and the
            // IPv6 echo request through it was dropped: the test failed now and then.
            foreach (var ns in new[] { peer.Namespace, far })
                NetnsLab.RunIn(ns, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0");
            var (near, remote) = peer.Lab.CreateVethPair(peer.Namespace, far);
            NetnsLab.RunIn(peer.Namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1");
            NetnsLab.RunIn(peer.Namespace, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
            NetnsLab.Run("ip", "-n", peer.Namespace, "addr", "add", "203.0.113.254/24", "dev", near);
            NetnsLab.Run("ip", "-n", peer.Namespace, "addr", "add", "2001:db8:1::fe/64", "dev", near, "nodad");
            NetnsLab.Run("ip", "-n", far, "addr", "add", "203.0.113.1/24", "dev", remote);
            NetnsLab.Run("ip", "-n", far, "addr", "add", "2001:db8:1::1/64", "dev", remote, "nodad");
            NetnsLab.Run("ip", "-n", far, "route", "add", "default", "via", "203.0.113.254");
            NetnsLab.Run("ip", "-n", far, "-6", "route", "add", "default", "via", "2001:db8:1::fe");
            // The router and the far host reach each other, and the kernel answers solicitations for its TAP address,
            // before the test starts (conditions, not a sleep).
            NetnsLab.WaitForSolicitedNodeGroup(peer.Namespace, peer.TapName, Wire.Ipv6Address.Parse("2001:db8::1"));
            foreach (var router in new[] { "192.0.2.1", "2001:db8::1" })
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!NetnsLab.TryRun("ip", "netns", "exec", far, "ping", "-c", "1", "-W", "1", router).Succeeded)
                {
                    if (clock.Elapsed > Wait) throw new TimeoutException($"the far namespace never reached {router}");
                }
            }
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    [SkippableTheory]
    [InlineData("203.0.113.1", 63)]
    [InlineData("2001:db8:1::1", 63)]
    public async Task Ping_through_the_kernel_router_succeeds_with_the_ttl_less_one_hop(string target, int ttl)
    {
        Root.Require();
        await using var peer = await StartRoutedAsync();

        var reply = await peer.Stack.PingAsync(IPAddress.Parse(target), TimeSpan.FromSeconds(5)).WaitAsync(Wait);

        Assert.Equal(PingStatus.Success, reply.Status);
        Assert.Equal(IPAddress.Parse(target), reply.Address);
        Assert.Equal(ttl, reply.Ttl);
    }

    [SkippableTheory]
    [InlineData("203.0.113.1", "192.0.2.1")]
    [InlineData("2001:db8:1::1", "2001:db8::1")]
    public async Task Ping_with_ttl_one_is_answered_by_the_router_with_time_exceeded(string target, string router)
    {
        // RFC 1812 §5.3.1 / RFC 4443 §3.3: the router that would decrement the TTL to zero sends Time Exceeded.
        Root.Require();
        await using var peer = await StartRoutedAsync();

        var reply = await peer.Stack.PingAsync(IPAddress.Parse(target), TimeSpan.FromSeconds(5), ttl: 1).WaitAsync(Wait);

        Assert.Equal(PingStatus.TtlExpired, reply.Status);
        Assert.Equal(IPAddress.Parse(router), reply.Address);
        Assert.True(reply.RoundtripTime > TimeSpan.Zero);
    }
}
