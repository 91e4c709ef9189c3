using System.Diagnostics;
using System.Net;
using NetStack.Interop.Tests.Support;
using NetStack.Tap;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// An <see cref="IpStack"/> on a TUN (bare IP packets, no Ethernet, no ARP or NDP), as docs/api.md's TUN example
/// builds it: the kernel in a namespace pings both our addresses and talks TCP to our echo listener over each family.
/// </summary>
public sealed class TunIpStackTests
{
    [SkippableFact]
    public async Task The_kernel_reaches_an_IpStack_on_a_TUN_over_both_families()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tun = lab.CreateTun(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", tun.Name);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:5::1/64", "dev", tun.Name, "nodad");

        // As in the docs: addresses of both families on the TUN, no gateway needed on its own subnets.
        await using (var stack = new IpStack(tun, ["198.51.100.2/24", "2001:db8:5::2/64"]))
        {
            await stack.StartAsync();
            await using var listener = await stack.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 7));
            using var stop = new CancellationTokenSource();
            var echo = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var c = await listener.AcceptAsync(stop.Token);
                    _ = Task.Run(async () => { await using (c) await c.CopyToAsync(c); });
                }
            });

            foreach (var (ping, address) in new[] { ("-4", "198.51.100.2"), ("-6", "2001:db8:5::2") })
            {
                // The IPv6 address is usable once its DAD is done (about a second): retry until a generous deadline.
                var r = await Until(() => NetnsLab.TryRun("ip", "netns", "exec", ns, "ping", ping, "-n", "-c", "1", "-W", "2", address), TimeSpan.FromSeconds(30));
                Assert.True(r.Succeeded, $"ping {address}: {r.StandardOutput}{r.StandardError}");
                var nc = NetnsLab.TryRun("ip", "netns", "exec", ns, "sh", "-c", $"printf hello-{ping} | nc -N -w 10 {address} 7");
                Assert.True(nc.Succeeded, $"nc {address}: {nc.StandardError}");
                Assert.Equal($"hello-{ping}", nc.StandardOutput);
            }
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => echo);
        }
        lab.DisposeAndAssertClean();
    }

    private static async Task<CommandResult> Until(Func<CommandResult> run, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var r = run();
            if (r.Succeeded || clock.Elapsed > deadline) return r;
            await Task.Delay(200);
        }
    }
}
