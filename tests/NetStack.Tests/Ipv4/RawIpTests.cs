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
        var host = new TappedStack(seed: 3);
        var tun = host.Add(MacAddress.Zero, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, medium: Medium.Ip);
        Assert.Empty(tun.Take()); // no gratuitous ARP on a link without ARP
        var request = Frames.Ip(new Ipv4Repr(Ipv4Address.Parse("192.0.2.9"), Ipv4Address.Parse("192.0.2.1"), IpProtocol.Icmp, 16),
            Frames.EchoRequest(9, 9, new byte[8]));
        tun.Inject(request);
        var reply = Assert.Single(tun.Take());
        Expect.Packet(reply).Ipv4(dst: Ipv4Address.Parse("192.0.2.9")).Icmpv4(Icmpv4Type.EchoReply);
    }

    [Fact]
    public void Static_routes_added_through_the_stack_are_used_for_sending()
    {
        var host = new TappedStack(seed: 3);
        var stack = host.Stack;
        host.Add(MacAddress.Zero, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, medium: Medium.Ip);
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
        var host = new TappedStack(seed: 3);
        var link = host.Add(MacAddress.Parse("02:00:00:00:00:01"), new InterfaceConfig { EnableIpv6 = false });
        var udp = new RecordingTransport();
        host.Stack.RegisterTransport(IpProtocol.Udp, udp);
        var offer = Frames.Ethernet(MacAddress.Parse("02:00:00:00:00:99"), link.Interface.HardwareAddress, EtherType.Ipv4,
            SingleHost.Udp(Ipv4Address.Parse("192.0.2.254"), Ipv4Address.Parse("192.0.2.77"), 300));
        link.Inject(offer);
        host.Settle();
        Assert.Single(udp.Received);
    }
}
