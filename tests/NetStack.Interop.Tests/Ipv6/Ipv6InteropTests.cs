using System.Diagnostics;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Interop.Tests.Ipv6;

/// <summary>Our IPv6 layer against the Linux kernel, radvd and traceroute, over TAPs in test-made namespaces.</summary>
public sealed class Ipv6InteropTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    /// <summary>Runs <paramref name="probe"/> on the loop until it yields a value or time runs out.</summary>
    private static async Task<T?> WaitFor<T>(StackHost host, Func<T?> probe, TimeSpan patience) where T : class
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < patience)
        {
            var v = await host.InvokeAsync(probe);
            if (v is not null) return v;
            await Task.Delay(50);
        }
        return null;
    }

    private static async Task<bool> WaitUntil(StackHost host, Func<bool> probe, TimeSpan patience) =>
        await WaitFor<object>(host, () => probe() ? new object() : null, patience) is not null;

    private static bool AllPreferred(NetworkStack stack, NetworkInterface iface) =>
        stack.GetIpv6Info(iface)!.Addresses.All(a => a.State == Ipv6AddressState.Preferred);

    /// <summary>A namespace whose kernel has 2001:db8:6::1/64 on a TAP where our stack has 2001:db8:6::2/64, DAD done.</summary>
    private static async Task<(string Ns, TapDevice Tap, NetworkStack Stack, NetworkInterface Iface, StackHost Host)> KernelAt1AndUsAt2(NetnsLab lab)
    {
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:6::1/64", "dev", tap.Name, "nodad");
        var (stack, iface, host) = StartStack(tap, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:6::2/64")] });
        if (!await WaitUntil(host, () => AllPreferred(stack, iface), Patience))
        {
            await host.DisposeAsync();
            Assert.Fail("DAD did not finish");
        }
        return (ns, tap, stack, iface, host);
    }

    /// <summary>Pings <paramref name="target"/> from the namespace until one echo is answered or <paramref name="patience"/> runs out.</summary>
    private static async Task<bool> AnswersWithin(string ns, string target, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            if (NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "1", "-W", "2", target).Succeeded) return true;
            await Task.Delay(200);
        }
        while (clock.Elapsed < patience);
        return false;
    }

    private static (NetworkStack Stack, NetworkInterface Iface, StackHost Host) StartStack(TapDevice tap, InterfaceConfig config)
    {
        var stack = new NetworkStack();
        var iface = stack.AddInterface(tap, config, StackHost.Now);
        var host = new StackHost(stack, [tap]);
        host.Start();
        return (stack, iface, host);
    }

    /// <summary>
    /// Our stack as an advertising router (RFC 4861 §6.2): the kernel on the other end of the TAP, a host with
    /// accept_ra, takes an address from our prefix (RFC 4862), a default route via our link-local address, the MTU
    /// we advertise, and reaches us through it.
    /// </summary>
    [SkippableFact]
    public async Task The_kernel_configures_itself_from_our_router_advertisements()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        var (stack, iface, host) = StartStack(tap, new InterfaceConfig
        {
            EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:78::1/64")],
            RouterAdvertisements = new RouterAdvertisementConfig
            {
                MaxInterval = TimeSpan.FromSeconds(10), LinkMtu = 1400, Prefixes = [new AdvertisedPrefix(Ipv6Cidr.Parse("2001:db8:78::/64"))],
            },
        });
        await using (host)
        {
            string Show(params string[] args) => NetnsLab.TryRun("ip", ["-n", ns, "-6", .. args]).StandardOutput;
            // The kernel's SLAAC address must have finished DAD (no "tentative" flag), as must our own address, before the
            // ping: a tentative address takes no traffic on either side (RFC 4862 §5.4).
            bool KernelReady() => Show("addr", "show", "dev", tap.Name).Split('\n').Any(line =>
                    line.Contains("inet6 2001:db8:78:", StringComparison.Ordinal) && !line.Contains("tentative", StringComparison.Ordinal))
                && Show("route", "show", "default").Contains("via fe80::", StringComparison.Ordinal);
            Assert.True(await WaitUntil(host, () => AllPreferred(stack, iface), Patience), "our DAD did not finish");
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(30) && !KernelReady()) await Task.Delay(200);
            var addresses = Show("addr", "show", "dev", tap.Name);
            var routes = Show("route", "show", "default");
            Assert.Contains("2001:db8:78:", addresses, StringComparison.Ordinal);
            var ourLinkLocal = await host.InvokeAsync(() => stack.GetIpv6Info(iface)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.LinkLocal).Address);
            Assert.Contains($"default via {ourLinkLocal} dev {tap.Name}", routes, StringComparison.Ordinal);
            Assert.Equal("1400", NetnsLab.TryRun("ip", "netns", "exec", ns, "sysctl", "-n", $"net.ipv6.conf.{tap.Name}.mtu").StandardOutput.Trim());
            var ping = NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "3", "2001:db8:78::1");
            Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
            Assert.True(await host.InvokeAsync(() => stack.Statistics.RouterAdvertisementsSent) >= 1);
            await host.StopAsync();
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Kernel_pings_our_link_local_and_global_addresses_with_56_1452_and_8000_bytes()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var (ns, tap, stack, iface, host) = await KernelAt1AndUsAt2(lab);
        await using (host)
        {
            var ll = await host.InvokeAsync(() => stack.GetIpv6Info(iface)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.LinkLocal).Address);
            // Both sides resolve each other first (NS/NA), which on a loaded machine can outlast one ping's 3 s wait:
            // wait for the first answer of each address with a generous deadline, then every size must be answered.
            Assert.True(await AnswersWithin(ns, "2001:db8:6::2", TimeSpan.FromSeconds(60)), "the global address never answered");
            Assert.True(await AnswersWithin(ns, $"{ll}%{tap.Name}", TimeSpan.FromSeconds(60)), "the link-local address never answered");
            foreach (var size in new[] { "56", "1452", "8000" })
            {
                var g = NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "3", "-s", size, "2001:db8:6::2");
                Assert.True(g.Succeeded, $"global, {size} bytes: {g.StandardOutput}{g.StandardError}");
                var l = NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "2", "-i", "0.3", "-W", "3", "-s", size, $"{ll}%{tap.Name}");
                Assert.True(l.Succeeded, $"link-local, {size} bytes: {l.StandardOutput}{l.StandardError}");
            }
            Assert.True(await host.InvokeAsync(() => stack.Statistics.FragmentsReassembled) >= 4);
            await host.StopAsync();
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Our_ping_reaches_the_kernel_with_56_and_8000_bytes()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var (ns, tap, stack, iface, host) = await KernelAt1AndUsAt2(lab);
        await using (host)
        {
            var echo = await host.InvokeAsync(() => stack.OpenIcmpv6Echo(0x4242));
            ushort seq = 0;
            foreach (var size in new[] { 56, 8000 })
            {
                var data = Enumerable.Range(0, size).Select(i => (byte)i).ToArray();
                seq++;
                var sent = await host.InvokeAsync(() => echo.SendEcho(A("2001:db8:6::1"), seq, data, StackHost.Now));
                Assert.Equal(IpSendResult.Sent, sent);
                IcmpEchoResult? got = null;
                var clock = Stopwatch.StartNew();
                while (got is null && clock.Elapsed < TimeSpan.FromSeconds(5))
                {
                    got = await host.InvokeAsync(() => echo.TryReceive(out var r) ? r : (IcmpEchoResult?)null);
                    if (got is null) await Task.Delay(20);
                }
                Assert.NotNull(got);
                Assert.Equal(IcmpEchoResultKind.Reply, got.Value.Kind);
                Assert.Equal(seq, got.Value.Sequence);
                Assert.Equal(size, got.Value.PayloadLength);
                Assert.True(got.Value.DataMatches);
            }
            await host.StopAsync();
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Radvd_prefix_gives_a_SLAAC_address_with_lifetimes_RDNSS_and_MTU()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.RunIn(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:7::1/64", "dev", tap.Name, "nodad");
        var dir = Directory.CreateTempSubdirectory("nst-radvd-");
        try
        {
            var conf = Path.Combine(dir.FullName, "radvd.conf");
            File.WriteAllText(conf, $$"""
                interface {{tap.Name}} {
                    AdvSendAdvert on;
                    MinRtrAdvInterval 3;
                    MaxRtrAdvInterval 4;
                    AdvLinkMTU 1400;
                    AdvCurHopLimit 57;
                    prefix 2001:db8:7::/64 {
                        AdvOnLink on;
                        AdvAutonomous on;
                        AdvValidLifetime 3600;
                        AdvPreferredLifetime 1800;
                    };
                    RDNSS 2001:db8:7::53 {
                        AdvRDNSSLifetime 600;
                    };
                };
                """);
            var (stack, iface, host) = StartStack(tap, new InterfaceConfig { EnableIpv4 = false });
            await using (host)
            {
                lab.StartIn(ns, "radvd", "-n", "-C", conf, "-p", Path.Combine(dir.FullName, "radvd.pid"), "-m", "stderr");
                var slaac = await WaitFor(host, () =>
                {
                    var a = stack.GetIpv6Info(iface)!.Addresses.FirstOrDefault(x => x.Origin == Ipv6AddressOrigin.Slaac && x.State == Ipv6AddressState.Preferred);
                    return a == default ? null : (object)a;
                }, TimeSpan.FromSeconds(20));
                Assert.NotNull(slaac);
                var addr = (Ipv6AddressInfo)slaac;
                Assert.True(addr.Address.MatchesPrefix(A("2001:db8:7::"), 64));
                var now = StackHost.Now;
                Assert.InRange((addr.ValidUntil - now).TotalSeconds, 3500, 3600);
                Assert.InRange((addr.PreferredUntil - now).TotalSeconds, 1700, 1800);
                var info = await host.InvokeAsync(() => stack.GetIpv6Info(iface)!);
                Assert.Equal(1400, info.LinkMtu);
                Assert.Equal(57, info.CurHopLimit);
                Assert.Single(info.DefaultRouters);
                Assert.Contains(A("2001:db8:7::53"), await host.InvokeAsync(() => stack.Ipv6DnsServers));
                // The kernel reaches the address we formed.
                var ping = NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", "-6", "-n", "-c", "1", "-W", "3", addr.Address.ToString());
                Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
                await host.StopAsync();
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task DAD_detects_an_address_the_kernel_already_owns_and_does_not_use_it()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:8::5/64", "dev", tap.Name, "nodad");
        var (stack, iface, host) = StartStack(tap, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:8::5/64"), Ipv6Cidr.Parse("2001:db8:8::6/64")] });
        await using (host)
        {
            Assert.True(await WaitUntil(host, () => stack.GetIpv6Info(iface)!.Addresses.All(a => a.State != Ipv6AddressState.Tentative), Patience));
            var info = await host.InvokeAsync(() => stack.GetIpv6Info(iface)!);
            Assert.Equal(Ipv6AddressState.Duplicate, info.Addresses.Single(a => a.Address == A("2001:db8:8::5")).State);
            Assert.Equal(Ipv6AddressState.Preferred, info.Addresses.Single(a => a.Address == A("2001:db8:8::6")).State);
            Assert.True(await host.InvokeAsync(() => stack.TrySelectSource(A("2001:db8:8::1"), out var s) ? s.V6 : default) == A("2001:db8:8::6"));
            await host.StopAsync();
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Traceroute_through_our_stack_as_an_IPv6_router_lists_our_hop()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var left = lab.CreateNamespace();
        var right = lab.CreateNamespace();
        var tapL = lab.CreateTap(left);
        var tapR = lab.CreateTap(right);
        NetnsLab.Run("ip", "-n", left, "addr", "add", "2001:db8:a::2/64", "dev", tapL.Name, "nodad");
        NetnsLab.Run("ip", "-n", left, "-6", "route", "add", "default", "via", "2001:db8:a::1", "dev", tapL.Name);
        NetnsLab.Run("ip", "-n", right, "addr", "add", "2001:db8:b::2/64", "dev", tapR.Name, "nodad");
        NetnsLab.Run("ip", "-n", right, "-6", "route", "add", "default", "via", "2001:db8:b::1", "dev", tapR.Name);
        var stack = new NetworkStack();
        var ifL = stack.AddInterface(tapL, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:a::1/64")] }, StackHost.Now);
        var ifR = stack.AddInterface(tapR, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:b::1/64")] }, StackHost.Now);
        await using var host = new StackHost(stack, [tapL, tapR]);
        host.Start();
        Assert.True(await WaitUntil(host, () => AllPreferred(stack, ifL) && AllPreferred(stack, ifR), Patience));

        var ping = NetnsLab.TryRun("ip", "netns", "exec", left, "ping", "-6", "-n", "-c", "2", "-W", "3", "2001:db8:b::2");
        Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
        var tr = NetnsLab.TryRun("ip", "netns", "exec", left, "traceroute", "-6", "-n", "-q", "1", "-w", "2", "-m", "4", "2001:db8:b::2");
        var lines = tr.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("1 ", StringComparison.Ordinal) && l.Contains("2001:db8:a::1", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.TrimStart().StartsWith("2 ", StringComparison.Ordinal) && l.Contains("2001:db8:b::2", StringComparison.Ordinal));
        Assert.True(await host.InvokeAsync(() => stack.Statistics.Ipv6PacketsForwarded) > 0);
        await host.StopAsync();
        lab.DisposeAndAssertClean();
    }
}
