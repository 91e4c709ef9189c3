using System.Diagnostics;
using NetStack.Interop.Tests.Support;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Api;

/// <summary>
/// SLAAC is the host default beside static addresses (as Linux with accept_ra=1, autoconf=1): radvd in the namespace
/// advertises 2001:db8:2::/64 to an <see cref="IpStack"/> that was given the static 2001:db8::2/64, which then also
/// forms an address in the advertised prefix that the kernel reaches; with <see cref="InterfaceConfig.Slaac"/> = false
/// it learns the router but forms none.
/// </summary>
public sealed class SlaacKernelTests
{
    private static readonly Ipv6Cidr Advertised = Ipv6Cidr.Parse("2001:db8:2::/64");

    private static async Task StartRadvdAsync(KernelPeer peer)
    {
        NetnsLab.RunIn(peer.Namespace, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
        NetnsLab.Run("ip", "-n", peer.Namespace, "addr", "add", "2001:db8:2::1/64", "dev", peer.TapName, "nodad");
        var conf = peer.TempFile("radvd.conf");
        await File.WriteAllTextAsync(conf, $$"""
            interface {{peer.TapName}} {
                AdvSendAdvert on;
                MinRtrAdvInterval 3;
                MaxRtrAdvInterval 4;
                prefix 2001:db8:2::/64 { AdvOnLink on; AdvAutonomous on; };
            };
            """);
        peer.Lab.StartIn(peer.Namespace, "radvd", "-n", "-C", conf, "-p", peer.TempFile("radvd.pid"), "-m", "stderr");
    }

    private static Task<Ipv6InterfaceInfo> InfoAsync(KernelPeer peer) =>
        peer.Stack.InvokeAsync(s => s.GetIpv6Info(peer.Stack.Interface)!);

    [SkippableFact]
    public async Task A_host_with_a_static_address_also_autoconfigures_from_radvd_and_the_kernel_reaches_it_RFC4862_5_5_3()
    {
        Root.Require();
        var config = new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse("2001:db8::2"), 64)] };
        await using var peer = await KernelPeer.StartAsync(config: config);
        await StartRadvdAsync(peer);

        Ipv6AddressInfo? slaac = null;
        var clock = Stopwatch.StartNew();
        while (slaac is null && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var info = await InfoAsync(peer);
            slaac = info.Addresses.Where(a => a.Origin == Ipv6AddressOrigin.Slaac && a.State == Ipv6AddressState.Preferred && Advertised.Contains(a.Address))
                .Select(a => (Ipv6AddressInfo?)a).FirstOrDefault();
            if (slaac is null) await Task.Delay(100);
        }
        Assert.True(slaac is not null, "no SLAAC address in 2001:db8:2::/64 within 30 s");
        var final = await InfoAsync(peer);
        Assert.Contains(final.Addresses, a => a.Address == Ipv6Address.Parse("2001:db8::2") && a.Origin == Ipv6AddressOrigin.Static);
        Assert.True(final.DefaultRouters.Count > 0, $"no default router; addresses: {string.Join(", ", final.Addresses)}");

        // The kernel reaches the autoconfigured address (our neighbour advertisement and echo reply, RFC 4861 §7.2.4, RFC 4443 §4.2).
        var ping = NetnsLab.TryRun("ip", "netns", "exec", peer.Namespace, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "5", slaac!.Value.Address.ToString());
        Assert.True(ping.ExitCode == 0, ping.StandardOutput + ping.StandardError);
    }

    [SkippableFact]
    public async Task Slaac_off_learns_the_router_from_radvd_but_forms_no_address_RFC4861_6_3_4()
    {
        Root.Require();
        var config = new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse("2001:db8::2"), 64)] };
        await using var peer = await KernelPeer.StartAsync(config: config);
        await StartRadvdAsync(peer);

        // radvd answers no solicitation from us (Slaac off sends none) but advertises every 3-4 s: wait for the router.
        var clock = Stopwatch.StartNew();
        Ipv6InterfaceInfo info = await InfoAsync(peer);
        while (info.DefaultRouters.Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
            info = await InfoAsync(peer);
        }
        Assert.NotEmpty(info.DefaultRouters);
        // The advertisement that installed the router would have formed the address in the same pass (any origin, any
        // state, even tentative); a second of later advertisements changes nothing either.
        await Task.Delay(TimeSpan.FromSeconds(1));
        info = await InfoAsync(peer);
        Assert.DoesNotContain(info.Addresses, a => a.Origin is Ipv6AddressOrigin.Slaac or Ipv6AddressOrigin.Temporary);
    }
}
