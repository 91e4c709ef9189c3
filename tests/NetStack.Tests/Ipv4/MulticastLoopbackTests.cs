using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Ipv6.Support;
using NetStack.Transport.Udp;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// Multicast loopback (Linux IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP, on by default): a datagram a socket sends to a
/// group this host has joined is also received by the host's sockets on that port; it still goes out on the link.
/// </summary>
public sealed class MulticastLoopbackTests
{
    private static readonly Ipv4Address Group = Ipv4Address.Parse("239.1.2.3");

    private static (SingleHost H, UdpSocket Receiver, UdpSocket Sender) Host(bool join)
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        if (join) Assert.True(MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(Group), h.Now));
        h.TakeSent();
        var receiver = udp.Bind(new IpEndpoint(Ipv4Address.Any, 5353));
        var sender = udp.Bind(new IpEndpoint(Us, 0));
        return (h, receiver, sender);
    }

    [Fact]
    public void A_datagram_to_a_joined_group_is_received_here_and_sent_on_the_link()
    {
        var (h, receiver, sender) = Host(join: true);
        Assert.Equal(IpSendResult.Sent, sender.Send([1, 2, 3], new IpEndpoint(Group, 5353), IpSendOptions.Default, h.Now));
        Assert.True(receiver.TryReceive(new byte[8], out var info, out int n));
        Assert.Equal(3, n);
        Assert.Equal(new IpAddress(Group), info.LocalAddress);
        Assert.Equal(new IpEndpoint(Us, sender.LocalEndpoint.Port), info.Remote);
        var frame = Assert.Single(h.TakeSent(), f => EthernetFrame.TryParse(f, out var e, out _) && e.Destination == MacAddress.ForIpv4Multicast(Group));
        Assert.NotNull(frame);
    }

    [Fact]
    public void With_loopback_off_the_datagram_only_goes_on_the_link()
    {
        var (h, receiver, sender) = Host(join: true);
        sender.MulticastLoopback = false;
        sender.Send([1], new IpEndpoint(Group, 5353), IpSendOptions.Default, h.Now);
        Assert.False(receiver.TryReceive(new byte[8], out _, out _));
        Assert.NotEmpty(h.TakeSent());
    }

    [Fact]
    public void A_group_this_host_has_not_joined_is_not_looped_back()
    {
        // RFC 1112 §6.4: datagrams for groups not joined are not delivered.
        var (h, receiver, sender) = Host(join: false);
        sender.Send([1], new IpEndpoint(Group, 5353), IpSendOptions.Default, h.Now);
        Assert.False(receiver.TryReceive(new byte[8], out _, out _));
    }

    [Fact]
    public void An_IPv6_datagram_to_a_joined_group_is_looped_back_with_its_hop_limit()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(7);
        var i = net.Attach(s, hub, 1, new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        var group = Ipv6Address.Parse("ff15::1234");
        Assert.True(MulticastGroups.Join(s, i.Index, new IpAddress(group), net.Now));
        var udp = new UdpLayer(s);
        using var receiver = udp.Bind(new IpEndpoint(Ipv6Address.Unspecified, 9000));
        using var sender = udp.Bind(new IpEndpoint(Ipv6Address.Parse("2001:db8::b"), 0));
        Assert.Equal(IpSendResult.Sent, sender.Send([9], new IpEndpoint(group, 9000), new IpSendOptions { Ttl = 5 }, net.Now));
        Assert.True(receiver.TryReceive(new byte[8], out var info, out _));
        Assert.Equal(5, info.Ttl);
        Assert.Equal(new IpAddress(group), info.LocalAddress);
    }
}
