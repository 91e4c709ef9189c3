using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Tap;

/// <summary>A TUN carries bare IP packets between us and a namespace's kernel.</summary>
public sealed class TunDeviceTests
{
    [SkippableFact]
    public void Kernel_ping_over_TUN_reaches_us_as_raw_IPv4_and_our_reply_completes_it()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tun = lab.CreateTun(ns);
        Assert.Equal(Medium.Ip, tun.Medium);
        Assert.Equal(MacAddress.Zero, tun.HardwareAddress);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "198.51.100.1", "peer", "198.51.100.2", "dev", tun.Name);
        var kernel = Ipv4Address.Parse("198.51.100.1");
        var us = Ipv4Address.Parse("198.51.100.2");

        var ping = lab.StartIn(ns, "ping", "-n", "-c", "1", "-W", "3", "198.51.100.2");

        var request = Receive.Until(tun, p => TestFrames.IsEchoRequest(p, kernel, us), TimeSpan.FromSeconds(3));
        Assert.NotNull(request);
        Assert.Equal(0x45, request[0]); // no link header: the packet starts with the IPv4 version/IHL byte
        tun.Transmit(TestFrames.EchoReplyTo(request), StackHost.Now);

        Assert.True(ping.WaitForExit(TimeSpan.FromSeconds(4)), "ping did not finish");
        Assert.Equal(0, ping.ExitCode);
        lab.DisposeAndAssertClean();
    }
}
