using System.Net;
using NetStack.Interop.Tests.Api;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Ipv4;

/// <summary>
/// Source-specific multicast against the Linux kernel over a TAP in a test-made namespace (RFC 3376 §3, §5.1;
/// RFC 3810 §4, §6.1; API shape of RFC 3678): the kernel sends to the group from two of its addresses, and after we join
/// for one source only that source's datagrams reach our socket; tshark sees our report carry the source.
/// </summary>
public sealed class SourceFilterKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string Python = "/usr/bin/python3";

    private static string Tshark(string file) => NetnsLab.Run("tshark", "-r", file, "-V").StandardOutput;

    private static void KernelSends(KernelPeer peer, string family, string group, string source, string ifOption, int port, string payload) =>
        NetnsLab.RunIn(peer.Namespace, Python, "-c",
            $"import socket;s=socket.socket(socket.{family},socket.SOCK_DGRAM);s.bind(('{source}',0));{ifOption}"
            + $"s.sendto(b'{payload}',('{group}',{port}))");

    [SkippableFact]
    public async Task Ipv4_only_the_joined_source_reaches_our_socket_and_the_report_carries_it()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        NetnsLab.Run("ip", "-n", peer.Namespace, "addr", "add", "192.0.2.3/24", "dev", peer.TapName);
        var group = IPAddress.Parse("232.1.1.1");
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7020));
        var capture = await peer.CaptureOneAsync("igmp and src host 192.0.2.2");

        await peer.Stack.JoinMulticastSourceAsync(group, KernelPeer.KernelV4);
        await KernelPeer.ReadCaptureAsync(capture);
        var dissected = Tshark(capture.File);
        Assert.Contains("Destination Address: 224.0.0.22", dissected, StringComparison.Ordinal);
        Assert.Contains("Record Type: Allow New Sources (5)", dissected, StringComparison.Ordinal);
        Assert.Contains("Multicast Address: 232.1.1.1", dissected, StringComparison.Ordinal);
        Assert.Contains("Source Address: 192.0.2.1", dissected, StringComparison.Ordinal);
        Assert.Contains("[Checksum Status: Good]", dissected, StringComparison.Ordinal);
        Assert.DoesNotContain("Malformed", dissected, StringComparison.Ordinal);

        static string If(string a) => $"s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('{a}'));";
        // RFC 3376 §3.2: INCLUDE {192.0.2.1}: the other source is filtered at the interface, the joined one delivered.
        KernelSends(peer, "AF_INET", "232.1.1.1", "192.0.2.3", If("192.0.2.3"), 7020, "other");
        KernelSends(peer, "AF_INET", "232.1.1.1", "192.0.2.1", If("192.0.2.1"), 7020, "joined");
        var buffer = new byte[64];
        var r = await socket.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
        Assert.Equal(KernelPeer.KernelV4, r.RemoteEndPoint.Address);
        Assert.Equal("joined", System.Text.Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes));
        Assert.True(peer.Stack.Statistics.Drops(DropReason.MulticastSourceFiltered) >= 1);
    }

    [SkippableFact]
    public async Task Ipv6_only_the_joined_source_reaches_our_socket_and_the_report_carries_it()
    {
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        NetnsLab.Run("ip", "-n", peer.Namespace, "addr", "add", "2001:db8::3/64", "dev", peer.TapName, "nodad");
        var group = IPAddress.Parse("ff3e::1234");
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 7021));
        await Task.Delay(1500); // our own MLD reports for the solicited-node groups go first
        var capture = await peer.CaptureOneAsync("ip6 dst ff02::16 and ip6[48] == 143 and ip6[60:2] == 0xff3e");

        await peer.Stack.JoinMulticastSourceAsync(group, KernelPeer.KernelV6);
        await KernelPeer.ReadCaptureAsync(capture);
        var dissected = Tshark(capture.File);
        Assert.Contains("Multicast Listener Report Message v2", dissected, StringComparison.Ordinal);
        Assert.Contains("Allow new sources", dissected, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("ff3e::1234", dissected, StringComparison.Ordinal);
        Assert.Contains("2001:db8::1", dissected, StringComparison.Ordinal);
        Assert.DoesNotContain("Malformed", dissected, StringComparison.Ordinal);

        string ifOption = $"s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_MULTICAST_IF,socket.if_nametoindex('{peer.TapName}'));";
        // RFC 3810 §4.2: INCLUDE {2001:db8::1}.
        KernelSends(peer, "AF_INET6", "ff3e::1234", "2001:db8::3", ifOption, 7021, "other");
        KernelSends(peer, "AF_INET6", "ff3e::1234", "2001:db8::1", ifOption, 7021, "joined");
        var buffer = new byte[64];
        var r = await socket.ReceiveFromAsync(buffer).AsTask().WaitAsync(Wait);
        Assert.Equal(KernelPeer.KernelV6, r.RemoteEndPoint.Address);
        Assert.Equal("joined", System.Text.Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes));
        Assert.True(peer.Stack.Statistics.Drops(DropReason.MulticastSourceFiltered) >= 1);
    }
}
