using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tap;
using Xunit.Abstractions;
using NetStack.Composition;

namespace NetStack.Interop.Tests.Ipv4;

/// <summary>
/// Our stack as a router (RFC 1812) between two kernels: namespace L (192.0.2.1/24, default via 192.0.2.254) on one TAP,
/// namespace R (198.51.100.1/24, default via 198.51.100.254) on another; our stack owns both TAPs with forwarding on.
/// </summary>
public sealed class RouterTests(ITestOutputHelper output)
{
    private sealed class Setup : IAsyncDisposable
    {
        public NetnsLab Lab { get; } = new();
        public string Left { get; }
        public string Right { get; }
        public NetworkStack Router { get; }
        public StackHost Host { get; }

        public Setup()
        {
            Left = Lab.CreateNamespace();
            Right = Lab.CreateNamespace();
            var tapL = Lab.CreateTap(Left);
            var tapR = Lab.CreateTap(Right);
            NetnsLab.Run("ip", "-n", Left, "addr", "add", "192.0.2.1/24", "dev", tapL.Name);
            NetnsLab.Run("ip", "-n", Left, "route", "add", "default", "via", "192.0.2.254");
            NetnsLab.Run("ip", "-n", Right, "addr", "add", "198.51.100.1/24", "dev", tapR.Name);
            NetnsLab.Run("ip", "-n", Right, "route", "add", "default", "via", "198.51.100.254");
            Router = new NetworkStack();
            Router.AddInterface(tapL, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.254/24")], Forwarding = true, EnableIpv6 = false }, StackHost.Now);
            Router.AddInterface(tapR, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.254/24")], Forwarding = true, EnableIpv6 = false }, StackHost.Now);
            Host = new StackHost(Router, [tapL, tapR]);
            Host.Start();
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Lab.DisposeAndAssertClean();
        }
    }

    [SkippableFact]
    public async Task Linux_traceroute_lists_our_hop_then_the_destination()
    {
        Root.Require();
        await using var s = new Setup();
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Left, "traceroute", "-n", "-q", "1", "-w", "2", "-m", "5", "198.51.100.1");
        output.WriteLine(r.StandardOutput);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        var hops = r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Trim()).ToList();
        Assert.StartsWith("1  192.0.2.254 ", hops[0], StringComparison.Ordinal);
        Assert.StartsWith("2  198.51.100.1 ", hops[1], StringComparison.Ordinal);
        Assert.True(await s.Host.InvokeAsync(() => s.Router.Statistics.Drops(DropReason.Ipv4TtlExpired)) >= 1);
    }

    [SkippableTheory]
    [InlineData(56)]
    [InlineData(8000)]
    public async Task Pings_pass_through_our_router(int size)
    {
        Root.Require();
        await using var s = new Setup();
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Left, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-s",
            size.ToString(System.Globalization.CultureInfo.InvariantCulture), "198.51.100.1");
        output.WriteLine(r.StandardOutput);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        Assert.Contains("3 received", r.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("ttl=63", r.StandardOutput, StringComparison.Ordinal);
        Assert.True(await s.Host.InvokeAsync(() => s.Router.Statistics.Ipv4PacketsForwarded) >= 6);
    }
}
