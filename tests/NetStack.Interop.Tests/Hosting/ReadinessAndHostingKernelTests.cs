using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NetStack.Composition;
using NetStack.Hosting;
using NetStack.Interop.Tests.Support;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Hosting;

/// <summary>
/// Readiness and hosting against the Linux kernel over a TAP whose kernel side lives in a namespace made for the test
/// (kernel 2001:db8:14::1/64 and 198.51.100.1/24, us 2001:db8:14::2/64 and 198.51.100.2/24). DAD is on (RFC 4862 §5.4):
/// right after StartAsync our IPv6 address is tentative for 1-2 s; after WaitForReadyAsync a connect succeeds at once.
/// </summary>
public sealed class ReadinessAndHostingKernelTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static async Task<Process> KernelEchoAsync(NetnsLab lab, string ns, int port)
    {
        // socat answers every connection with an echo of what it reads (TCP6, both families).
        var p = lab.StartIn(ns, "socat", $"TCP6-LISTEN:{port},ipv6only=0,reuseaddr,fork", "EXEC:/bin/cat");
        var deadline = DateTime.UtcNow + Limit;
        while (!NetnsLab.RunIn(ns, "ss", "-Htln", $"sport = :{port}").StandardOutput.Contains(':' + port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("socat did not listen");
            await Task.Delay(20);
        }
        return p;
    }

    private static async Task EchoAsync(TcpConnectionStream c)
    {
        await c.WriteAsync("ready?"u8.ToArray()).AsTask().WaitAsync(Limit);
        var got = new byte[6];
        await c.ReadExactlyAsync(got).AsTask().WaitAsync(Limit);
        Assert.Equal("ready?"u8.ToArray(), got);
    }

    [SkippableFact]
    public async Task After_WaitForReadyAsync_an_IPv6_connect_to_the_kernel_succeeds_at_once()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:14::1/64", "dev", tap.Name, "nodad");
        _ = await KernelEchoAsync(lab, ns, 7014); // the lab kills it on Dispose (do not dispose the Process before)
        await using var stack = new IpStack(tap, new InterfaceConfig
        {
            EnableIpv4 = false,
            Slaac = false,
            Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:14::2/64")],
        }, new IpStackOptions
        {
            Name = "ready",
            // Three DAD probes a second apart (RFC 4862 §5.1): tentative for at least 3 s, so the check right after start
            // holds on a loaded machine; the default (one probe) is what users meet.
            Stack = new StackOptions { Ipv6 = new NetStack.Network.Ipv6.Ipv6Settings { DupAddrDetectTransmits = 3 } },
        });
        await stack.StartAsync();
        // What users met: right after StartAsync the address is tentative (DAD: at least 3 s here, 1 s by default).
        Assert.Equal(ReadinessStatus.Waiting, (await stack.GetReadinessAsync()).Status);

        await stack.WaitForReadyAsync().WaitAsync(Limit);
        await using var c = await stack.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("2001:db8:14::1"), 7014)).WaitAsync(Limit);
        Assert.Equal(IPAddress.Parse("2001:db8:14::2"), c.LocalEndPoint.Address);
        await EchoAsync(c);
    }

    [SkippableFact]
    public async Task A_hosted_stack_on_a_real_TAP_is_ready_when_the_host_has_started()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "198.51.100.1/24", "dev", tap.Name);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:14::1/64", "dev", tap.Name, "nodad");
        _ = await KernelEchoAsync(lab, ns, 7015); // the lab kills it on Dispose (do not dispose the Process before)

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // The TAP was opened by the lab (so that its kernel side is in the namespace): a Custom device.
        builder.Services.AddNetStack(o =>
        {
            o.Name = "hosted";
            o.Device.Kind = "Custom";
            o.Ipv4.Addresses.Add("198.51.100.2/24");
            o.Ipv6.Addresses.Add("2001:db8:14::2/64");
            o.Ipv6.Slaac = false;
        }, _ => tap);
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Limit);
        try
        {
            var stack = host.Services.GetRequiredService<IpStack>();
            foreach (var kernel in new[] { "2001:db8:14::1", "198.51.100.1" })
            {
                await using var c = await stack.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse(kernel), 7015)).WaitAsync(Limit);
                await EchoAsync(c);
            }
        }
        finally
        {
            await host.StopAsync().WaitAsync(Limit);
        }
    }

    [SkippableFact]
    public async Task A_TAP_that_must_exist_and_does_not_fails_the_start_naming_the_device_setting()
    {
        Root.Require();
        string name = NetnsLab.NewLinkName('x'); // never created: AttachOnly finds nothing, nothing is made
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddNetStack(o =>
        {
            o.Device.Kind = "Tap";
            o.Device.Name = name;
            o.Device.OpenMode = "AttachOnly";
            o.Ipv4.Addresses.Add("198.51.100.2/24");
        });
        using var host = builder.Build();
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync().WaitAsync(Limit));
        Assert.StartsWith($"NetStack:Device (Tap '{name}'): ", e.Message, StringComparison.Ordinal);
        Assert.IsType<TapException>(e.InnerException);
        Assert.Equal(TapErrorKind.NotFound, ((TapException)e.InnerException!).Kind);
        Assert.False(Directory.Exists($"/sys/class/net/{name}"));
    }
}
