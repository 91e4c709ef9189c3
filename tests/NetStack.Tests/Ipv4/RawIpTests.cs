using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv4;

public class RawIpTests
{
    [Fact]
    public void On_a_raw_IP_medium_echo_is_answered_without_ARP_or_link_header()
    {
        var stack = new NetworkStack(null, new SeededRandom(3));
        var tun = new ChannelDevice(MacAddress.Zero, 1500, Medium.Ip);
        var iface = stack.AddInterface(tun, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, Instant.FromSeconds(1));
        Assert.Empty(tun.TakeSent()); // no gratuitous ARP on a link without ARP
        var request = Frames.Ip(new Ipv4Repr(Ipv4Address.Parse("192.0.2.9"), Ipv4Address.Parse("192.0.2.1"), IpProtocol.Icmp, 16),
            Frames.EchoRequest(9, 9, new byte[8]));
        stack.Receive(iface, request, Instant.FromSeconds(1));
        var reply = Assert.Single(tun.TakeSent());
        Expect.Packet(reply).Ipv4(dst: Ipv4Address.Parse("192.0.2.9")).Icmpv4(Icmpv4Type.EchoReply);
    }

    [Fact]
    public void Static_routes_added_through_the_stack_are_used_for_sending()
    {
        var stack = new NetworkStack(null, new SeededRandom(3));
        var tun = new ChannelDevice(MacAddress.Zero, 1500, Medium.Ip);
        stack.AddInterface(tun, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, Instant.FromSeconds(1));
        Assert.Equal(IpSendResult.NoRoute, stack.Send(Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("203.0.113.5"), IpProtocol.Udp, new byte[8], IpSendOptions.Default, Instant.FromSeconds(1)));
        Assert.True(stack.AddIpv4Route(new Ipv4Route(Ipv4Cidr.Parse("203.0.113.0/24"), Ipv4Address.Parse("192.0.2.254"), 0)));
        Assert.Equal(IpSendResult.Sent, stack.Send(Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("203.0.113.5"), IpProtocol.Udp, new byte[8], IpSendOptions.Default, Instant.FromSeconds(1)));
        Assert.Contains(stack.Ipv4Routes, r => r.Gateway == Ipv4Address.Parse("192.0.2.254"));
    }
}

public class UnconfiguredInterfaceTests
{
    [Fact]
    public void Before_it_has_an_address_an_interface_accepts_unicast_UDP_as_a_DHCP_client_needs_RFC2131_4_1()
    {
        var stack = new NetworkStack(null, new SeededRandom(3));
        var device = new ChannelDevice(MacAddress.Parse("02:00:00:00:00:01"));
        var iface = stack.AddInterface(device, new InterfaceConfig { EnableIpv6 = false }, Instant.FromSeconds(1));
        var udp = new RecordingTransport();
        stack.RegisterTransport(IpProtocol.Udp, udp);
        var offer = Frames.Ethernet(MacAddress.Parse("02:00:00:00:00:99"), device.HardwareAddress, EtherType.Ipv4,
            SingleHost.Udp(Ipv4Address.Parse("192.0.2.254"), Ipv4Address.Parse("192.0.2.77"), 300));
        stack.Receive(iface, offer, Instant.FromSeconds(1));
        Assert.Single(udp.Received);
    }
}
