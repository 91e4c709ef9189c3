using System.Diagnostics;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tap;
using Xunit.Abstractions;
using NetStack.Wire;
using NetStack.Composition;

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

    [SkippableFact]
    public async Task The_kernels_ping_R_gets_its_record_route_back_RFC1122_3_2_2_6()
    {
        Root.Require();
        await using var s = new Setup();
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Ns, "ping", "-n", "-R", "-c", "2", "-i", "0.2", "-W", "2", OurAddress);
        output.WriteLine(r.StandardOutput + r.StandardError);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        Assert.Contains("2 received", r.StandardOutput, StringComparison.Ordinal);
        // ping prints the recorded route when the reply carries the option: the kernel as it sent, then us as we replied.
        int rr = r.StandardOutput.IndexOf("RR:", StringComparison.Ordinal);
        Assert.True(rr >= 0, r.StandardOutput);
        var route = r.StandardOutput[rr..];
        Assert.Contains(KernelAddress, route, StringComparison.Ordinal);
        Assert.Contains(OurAddress, route, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Options_the_kernel_sends_with_IP_OPTIONS_reach_our_UDP_socket_RFC1122_4_1_3_2()
    {
        Root.Require();
        await using var s = new Setup();
        var socket = await s.Host.InvokeAsync(() => new Transport.Udp.UdpLayer(s.Stack).Bind(new IpEndpoint(IpAddress.Parse(OurAddress), 5000)));
        // Router Alert, then an unassigned option (copied, class 2, number 30) with two data bytes.
        const string script = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            + "s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([148, 4, 0, 0, 222, 4, 171, 205])); "
            + "s.sendto(b'hi', ('" + OurAddress + "', 5000))";
        var r = NetnsLab.TryRun("ip", "netns", "exec", s.Ns, "python3", "-c", script);
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        var info = await WaitFor(s.Host, () => socket.TryReceive(new byte[16], out var i, out _) ? i : (Transport.Udp.UdpReceiveInfo?)null);
        Assert.Equal(new byte[] { 148, 4, 0, 0, 222, 4, 171, 205 }, info.HeaderOptions.ToArray());
        await s.Host.InvokeAsync(socket.Dispose);
    }

    [SkippableFact]
    public async Task Options_our_UDP_socket_sends_reach_the_kernels_IP_RECVOPTS_RFC1122_4_1_3_2()
    {
        Root.Require();
        await using var s = new Setup();
        var file = Path.Combine(Path.GetTempPath(), $"netstack-recvopts-{Guid.NewGuid():N}");
        try
        {
            // A kernel socket with IP_RECVOPTS writes the options of the first datagram it gets (hex) to a file.
            string script = "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                + "s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVOPTS, 1); s.bind(('" + KernelAddress + "', 6000)); s.settimeout(10); "
                + "d, anc, f, a = s.recvmsg(64, 256); "
                + "open('" + file + "', 'w').write(''.join(c[2].hex() for c in anc if c[1] == socket.IP_RECVOPTS))";
            var server = s.Lab.StartIn(s.Ns, "python3", "-c", script);
            var socket = await s.Host.InvokeAsync(() => new Transport.Udp.UdpLayer(s.Stack).Bind(new IpEndpoint(IpAddress.Parse(OurAddress), 0)));
            var send = new IpSendOptions { HeaderOptions = IpHeaderOptions.Create([148, 4, 0, 0, 222, 4, 171, 205]) };
            var to = new IpEndpoint(IpAddress.Parse(KernelAddress), 6000);
            var clock = Stopwatch.StartNew();
            while (!server.HasExited && clock.Elapsed < TimeSpan.FromSeconds(8))
            {
                await s.Host.InvokeAsync(() => socket.Send("hi"u8, to, send, StackHost.Now));
                await Task.Delay(100);
            }
            Assert.True(server.WaitForExit(2000));
            Assert.Equal("94040000de04abcd", File.ReadAllText(file));
            await s.Host.InvokeAsync(socket.Dispose);
        }
        finally
        {
            File.Delete(file);
        }
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
