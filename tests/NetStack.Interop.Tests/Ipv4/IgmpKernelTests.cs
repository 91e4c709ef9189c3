using System.Net;
using NetStack.Interop.Tests.Api;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Ipv4;

/// <summary>
/// IGMP against the Linux kernel over a TAP in a test-made namespace: tshark dissects what we send, a kernel UDP
/// sender reaches our socket only once we joined, and scapy plays the querier.
/// </summary>
public sealed class IgmpKernelTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private static readonly IPAddress Group = IPAddress.Parse("239.1.2.3");
    private const string Python = "/usr/bin/python3"; // the system one carries python3-scapy

    private static string Tshark(string file) => NetnsLab.Run("tshark", "-r", file, "-V").StandardOutput;

    private static void AssertCleanDissection(string text)
    {
        Assert.Contains("[Checksum Status: Good]", text, StringComparison.Ordinal); // tshark verifies the IGMP checksum
        Assert.DoesNotContain("Malformed", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[Checksum Status: Bad]", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Expert Info (Error", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Kernel_side_sees_our_join_as_an_IGMPv3_report_to_224_0_0_22_with_TTL_1_and_Router_Alert()
    {
        // RFC 3376 §4 / §4.2.14 / §5.1.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        var capture = await peer.CaptureOneAsync("igmp and src host 192.0.2.2");

        await peer.Stack.JoinMulticastGroupAsync(Group);
        var verbose = await KernelPeer.ReadCaptureAsync(capture);
        var dissected = Tshark(capture.File);

        Assert.Contains("ttl 1", verbose, StringComparison.Ordinal);
        Assert.Contains("options (RA)", verbose, StringComparison.Ordinal);
        Assert.Contains("Destination Address: 224.0.0.22", dissected, StringComparison.Ordinal);
        Assert.Contains("IGMP Version: 3", dissected, StringComparison.Ordinal);
        Assert.Contains("Membership Report (0x22)", dissected, StringComparison.Ordinal);
        Assert.Contains("Record Type: Change To Exclude Mode (4)", dissected, StringComparison.Ordinal);
        Assert.Contains("Multicast Address: 239.1.2.3", dissected, StringComparison.Ordinal);
        AssertCleanDissection(dissected);
    }

    private static void KernelSendsToGroup(KernelPeer peer, int port) =>
        NetnsLab.RunIn(peer.Namespace, Python, "-c",
            "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
            + "s.setsockopt(socket.IPPROTO_IP,socket.IP_MULTICAST_IF,socket.inet_aton('192.0.2.1'));"
            + $"s.sendto(b'to-group',('239.1.2.3',{port}))");

    [SkippableFact]
    public async Task Kernel_datagram_to_a_group_reaches_our_socket_only_after_we_join()
    {
        // RFC 1112 §6.4 / RFC 1122 §3.3.7: the IP module delivers a group's datagrams only while the group is joined.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        await using var socket = await peer.Stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7010));
        var buffer = new byte[64];

        var early = socket.ReceiveFromAsync(buffer).AsTask();
        KernelSendsToGroup(peer, 7010);
        await Task.Delay(500);
        Assert.False(early.IsCompleted);
        Assert.True(peer.Stack.Statistics.Drops(DropReason.Ipv4MulticastNotJoined) >= 1);

        await peer.Stack.JoinMulticastGroupAsync(Group);
        KernelSendsToGroup(peer, 7010);
        var r = await early.WaitAsync(Wait);
        Assert.Equal(8, r.ReceivedBytes);
        Assert.Equal(Group, r.LocalAddress);
    }

    private static void ScapyQuery(KernelPeer peer, string igmp) =>
        NetnsLab.RunIn(peer.Namespace, Python, "-c",
            "from scapy.all import Ether, IP, IPOption_Router_Alert, sendp\n"
            + "from scapy.contrib.igmp import IGMP\n"
            + "from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mq\n"
            + $"sendp(Ether(dst='01:00:5e:00:00:01')/IP(src='192.0.2.1', dst='224.0.0.1', ttl=1, tos=0xc0, options=[IPOption_Router_Alert()])/{igmp}, iface='{peer.TapName}', verbose=0)");

    [SkippableFact]
    public async Task Our_answer_to_a_scapy_IGMPv3_general_query_is_a_mode_is_exclude_record()
    {
        // RFC 3376 §5.2: a general query is answered with the current state of each group, within Max Resp Time.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        await peer.Stack.JoinMulticastGroupAsync(Group);
        await Task.Delay(1500); // the state-change report and its retransmission (within 1 s) go first
        var capture = await peer.CaptureOneAsync("igmp and src host 192.0.2.2");

        ScapyQuery(peer, "IGMPv3(type=0x11, mrcode=10)/IGMPv3mq(qrv=2, qqic=125)");
        await KernelPeer.ReadCaptureAsync(capture);
        var dissected = Tshark(capture.File);

        Assert.Contains("Record Type: Mode Is Exclude (2)", dissected, StringComparison.Ordinal);
        Assert.Contains("Multicast Address: 239.1.2.3", dissected, StringComparison.Ordinal);
        AssertCleanDissection(dissected);
    }

    [SkippableFact]
    public async Task A_scapy_IGMPv2_query_makes_us_answer_with_an_IGMPv2_report_to_the_group()
    {
        // RFC 3376 §7.2.1: an IGMPv2 querier puts the host in IGMPv2 compatibility mode; RFC 2236 §3: the report goes to the group.
        Root.Require();
        await using var peer = await KernelPeer.StartAsync();
        await peer.Stack.JoinMulticastGroupAsync(Group);
        await Task.Delay(1500);
        var capture = await peer.CaptureOneAsync("igmp and src host 192.0.2.2");

        ScapyQuery(peer, "IGMP(type=0x11, mrcode=10, gaddr='0.0.0.0')");
        var verbose = await KernelPeer.ReadCaptureAsync(capture);
        var dissected = Tshark(capture.File);

        Assert.Contains("IGMP Version: 2", dissected, StringComparison.Ordinal);
        Assert.Contains("Membership Report (0x16)", dissected, StringComparison.Ordinal);
        Assert.Contains("> 239.1.2.3: igmp v2 report 239.1.2.3", verbose, StringComparison.Ordinal);
        AssertCleanDissection(dissected);
    }
}
