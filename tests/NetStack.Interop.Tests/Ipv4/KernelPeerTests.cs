using System.Diagnostics;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tap;
using Xunit.Abstractions;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Ipv4;

/// <summary>
/// The Linux kernel as a real IPv4 peer: it lives in a test-made namespace on one side of a TAP (192.0.2.1/24), our
/// stack holds the TAP descriptor (192.0.2.2/24) and runs on a <see cref="StackHost"/> loop.
/// </summary>
public sealed class KernelPeerTests(ITestOutputHelper output)
{
    private const string KernelAddress = "192.0.2.1";
    private const string OurAddress = "192.0.2.2";

    private sealed class Setup : IAsyncDisposable
    {
        public NetnsLab Lab { get; } = new();
        public string Ns { get; }
        public TapDevice Tap { get; }
        public NetworkStack Stack { get; }
        public StackHost Host { get; }

        public Setup()
        {
            Ns = Lab.CreateNamespace();
            Tap = Lab.CreateTap(Ns);
            NetnsLab.Run("ip", "-n", Ns, "addr", "add", KernelAddress + "/24", "dev", Tap.Name);
            Stack = new NetworkStack();
            Stack.AddInterface(Tap, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse(OurAddress + "/24")], EnableIpv6 = false }, StackHost.Now);
            Host = new StackHost(Stack, [Tap]);
            Host.Start();
        }

        public async ValueTask DisposeAsync()
        {
            await Host.DisposeAsync();
            Lab.DisposeAndAssertClean();
        }
    }

    [SkippableTheory]
    [InlineData(56)]
    [InlineData(1472)] // the largest unfragmented ping on a 1500-byte MTU
    [InlineData(8000)] // fragmented both ways: the kernel's request and our reply
    public async Task The_kernel_pings_us(int size)
    {
        Root.Require();
        await using var s = new Setup();
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Ns, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "-s",
            size.ToString(System.Globalization.CultureInfo.InvariantCulture), OurAddress);
        output.WriteLine(r.StandardOutput);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        Assert.Contains("3 received", r.StandardOutput, StringComparison.Ordinal);
        if (size == 8000) Assert.True(await s.Host.InvokeAsync(() => s.Stack.Statistics.FragmentsReassembled) >= 3);
    }

    [SkippableFact]
    public async Task Arping_resolves_our_address_to_our_MAC()
    {
        Root.Require();
        await using var s = new Setup();
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Ns, "arping", "-c", "2", "-i", s.Tap.Name, OurAddress);
        output.WriteLine(r.StandardOutput);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        Assert.Contains(s.Tap.HardwareAddress.ToString(), r.StandardOutput, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableTheory]
    [InlineData(56)]
    [InlineData(8000)]
    public async Task Our_ping_reaches_the_kernel(int size)
    {
        Root.Require();
        await using var s = new Setup();
        var socket = await s.Host.InvokeAsync(() => new IcmpEchoSocket(s.Stack, 0x5151));
        var payload = new byte[size];
        for (int i = 0; i < size; i++) payload[i] = (byte)i;
        var sent = await s.Host.InvokeAsync(() => socket.SendEcho(Ipv4Address.Parse(KernelAddress), 1, payload, StackHost.Now));
        Assert.Equal(IpSendResult.Sent, sent);
        var data = new byte[size];
        var result = await WaitFor(s.Host, () => socket.TryReceive(out var r, data) ? r : (IcmpEchoResult?)null);
        Assert.Equal(IcmpEchoResultKind.Reply, result.Kind);
        Assert.Equal(Ipv4Address.Parse(KernelAddress), result.From);
        Assert.Equal(payload, data);
        Assert.NotNull(result.RoundTripTime);
        await s.Host.InvokeAsync(socket.Dispose);
    }

    internal static async Task<T> WaitFor<T>(StackHost host, Func<T?> probe) where T : struct
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (await host.InvokeAsync(probe) is { } value) return value;
            await Task.Delay(10);
        }
        throw new TimeoutException("nothing arrived within 5 s");
    }
}
