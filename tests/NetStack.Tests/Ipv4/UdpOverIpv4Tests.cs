using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Transport.Udp;
using NetStack.Wire;


namespace NetStack.Tests.Ipv4;

/// <summary>The IPv4 layer under the real UDP layer: two stacks on one segment.</summary>
public class UdpOverIpv4Tests
{
    private static readonly Ipv4Address A = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address B = Ipv4Address.Parse("192.0.2.11");

    private static (SimLan Net, UdpLayer UdpA, UdpLayer UdpB) Pair()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var b = net.AddStack(2);
        a.AddInterface(net.Port(a, hub, MacAddress.Parse("02:00:00:00:00:0a")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.10/24")], EnableIpv6 = false }, net.Now);
        b.AddInterface(net.Port(b, hub, MacAddress.Parse("02:00:00:00:00:0b")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.11/24")], EnableIpv6 = false }, net.Now);
        return (net, new UdpLayer(a), new UdpLayer(b));
    }

    [Fact]
    public void A_3000_byte_datagram_is_fragmented_reassembled_and_delivered()
    {
        var (net, udpA, udpB) = Pair();
        using var sa = udpA.Bind(new IpEndpoint(A, 0));
        using var sb = udpB.Bind(new IpEndpoint(B, 7000));
        Assert.Equal(IpSendResult.Sent, sa.Send(Frames.Pattern(3000), new IpEndpoint(B, 7000), IpSendOptions.Default, net.Now));
        net.Run(TimeSpan.FromMilliseconds(20));
        var buffer = new byte[4000];
        Assert.True(sb.TryReceive(buffer, out var info, out int n));
        Assert.Equal(3000, n);
        Assert.Equal(Frames.Pattern(3000), buffer.AsSpan(0, n).ToArray());
        Assert.Equal(A, info.Remote.Address.V4);
    }

    [Fact]
    public void A_closed_port_answers_port_unreachable_which_reaches_the_sending_socket_RFC1122_4_1_3_1()
    {
        var (net, udpA, _) = Pair();
        using var sa = udpA.Bind(new IpEndpoint(A, 0));
        sa.Send(new byte[10], new IpEndpoint(B, 9), IpSendOptions.Default, net.Now);
        net.Run(TimeSpan.FromMilliseconds(20));
        Assert.True(sa.TryReceiveError(out var error));
        Assert.Equal(3, error.Icmp.Type);
        Assert.Equal(3, error.Icmp.Code);
        Assert.Equal(B, error.Icmp.Reporter.V4);
    }
}
