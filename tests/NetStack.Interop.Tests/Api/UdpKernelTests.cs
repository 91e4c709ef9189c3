using System.Net;
using System.Net.Sockets;
using NetStack.Interop.Tests.Support;
using NetStack.Network;

namespace NetStack.Interop.Tests.Api;

/// <summary>Our UDP sockets against the Linux kernel over a TAP in a test-made namespace (socat and tcpdump as the kernel's tools).</summary>
public sealed class UdpKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [SkippableTheory]
    [InlineData("UDP4-SENDTO:192.0.2.2:7001", "192.0.2.1")]
    [InlineData("UDP6-SENDTO:[2001:db8::2]:7001", "2001:db8::1")]
    public async Task Datagram_sent_by_the_kernel_reaches_our_socket(string socatTarget, string kernelAddress)
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var any = kernelAddress.Contains(':', StringComparison.Ordinal) ? IPAddress.IPv6Any : IPAddress.Any;
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(any, 7001));
        var receive = socket.ReceiveFromAsync(new byte[100]).AsTask();

        NetnsLab.RunIn(peer.Namespace, "sh", "-c", $"printf 'from-kernel' | socat -u - {socatTarget}");
        var r = await receive.WaitAsync(Wait);

        Assert.Equal(11, r.ReceivedBytes);
        Assert.Equal(IPAddress.Parse(kernelAddress), r.RemoteEndPoint.Address);
    }

    [SkippableTheory]
    [InlineData("UDP4-RECV:7002", "192.0.2.1")]
    [InlineData("UDP6-RECV:7002", "2001:db8::1")]
    public async Task Datagram_we_send_reaches_a_kernel_socket(string socatListen, string kernelAddress)
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var output = peer.TempFile("socat.out");
        peer.Lab.StartIn(peer.Namespace, "socat", "-u", socatListen, $"CREATE:{output}");
        // Wait until socat has bound (a fixed 300 ms was too short once on a loaded machine: the one datagram met no socket).
        var bound = System.Diagnostics.Stopwatch.StartNew();
        while (NetnsLab.TryRun("ip", "netns", "exec", peer.Namespace, "ss", "-Hlun", "sport = :7002").StandardOutput.Trim().Length == 0)
        {
            Assert.True(bound.Elapsed < TimeSpan.FromSeconds(30), "socat did not bind UDP port 7002");
            await Task.Delay(50);
        }
        var any = kernelAddress.Contains(':', StringComparison.Ordinal) ? IPAddress.IPv6Any : IPAddress.Any;
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(any, 0));

        await socket.SendToAsync("from-netstack"u8.ToArray(), new IPEndPoint(IPAddress.Parse(kernelAddress), 7002));
        var data = await KernelPeer.WaitForFileAsync(output, 13, Wait);

        Assert.Equal("from-netstack", System.Text.Encoding.ASCII.GetString(data));
    }

    [SkippableFact]
    public async Task Kernel_receives_the_ttl_we_set_on_an_ipv4_datagram()
    {
        // RFC 791 §3.1 / RFC 1122 §4.1.4: the application may set the TTL of its datagrams.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var capture = await peer.CaptureOneAsync("udp and dst port 7003");
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await socket.SendToAsync(new byte[4], new IPEndPoint(KernelPeer.KernelV4, 7003), new IpSendOptions(ttl: 7, trafficClass: 0x28));
        var text = await KernelPeer.ReadCaptureAsync(capture);

        Assert.Contains("ttl 7,", text, StringComparison.Ordinal);
        Assert.Contains("tos 0x28", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Kernel_receives_the_hop_limit_and_flow_label_we_set_on_an_ipv6_datagram()
    {
        // RFC 8200 §3, RFC 6437: hop limit and flow label as the sender set them.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var capture = await peer.CaptureOneAsync("udp and dst port 7004");
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 0));

        await socket.SendToAsync(new byte[4], new IPEndPoint(KernelPeer.KernelV6, 7004), new IpSendOptions(ttl: 5, flowLabel: 0x12345));
        var text = await KernelPeer.ReadCaptureAsync(capture);

        Assert.Contains("flowlabel 0x12345", text, StringComparison.Ordinal);
        Assert.Contains("hlim 5,", text, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("192.0.2.1", 3, 3)]
    [InlineData("2001:db8::1", 1, 4)]
    public async Task Datagram_to_a_closed_kernel_port_brings_port_unreachable_to_our_socket(string kernelAddress, int type, int code)
    {
        // RFC 1122 §4.1.3.1 / RFC 4443 §3.1: the kernel answers a closed port with port unreachable.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var any = kernelAddress.Contains(':', StringComparison.Ordinal) ? IPAddress.IPv6Any : IPAddress.Any;
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(any, 0));

        await socket.SendToAsync(new byte[4], new IPEndPoint(IPAddress.Parse(kernelAddress), 9));
        var error = await socket.ReceiveErrorAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(type, error.Icmp.Type);
        Assert.Equal(code, error.Icmp.Code);
        Assert.Equal(IPAddress.Parse(kernelAddress), error.Icmp.Reporter.ToIPAddress());
        Assert.Equal(9, error.OriginalDestination.Port);
    }

    [SkippableTheory]
    [InlineData("192.0.2.1")]
    [InlineData("2001:db8::1")]
    public async Task Kernel_answers_our_ping(string kernelAddress)
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();

        var reply = await peer.Stack.PingAsync(IPAddress.Parse(kernelAddress), TimeSpan.FromSeconds(5)).WaitAsync(Wait);

        Assert.Equal(Sockets.PingStatus.Success, reply.Status);
        Assert.Equal(IPAddress.Parse(kernelAddress), reply.Address);
        Assert.Equal(64, reply.Ttl);
    }
}
