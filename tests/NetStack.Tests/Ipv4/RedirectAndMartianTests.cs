using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;
using static NetStack.Tests.Ipv4.Kit.SingleHost;


namespace NetStack.Tests.Ipv4;

public class RedirectAndMartianTests
{
    private static readonly Ipv4Address Far = Ipv4Address.Parse("203.0.113.5");
    private static readonly Ipv4Address BetterGateway = Ipv4Address.Parse("192.0.2.253");

    private static byte[] Redirect(Ipv4Address from, Ipv4Address gateway, Ipv4Address quotedDestination)
    {
        var ours = Udp(Us, quotedDestination, 16);
        var repr = Icmpv4ErrorRepr.Redirect(Icmpv4RedirectCode.Host, gateway, ours.Length);
        var msg = new byte[repr.BufferLength];
        repr.Write(msg, ours);
        return Frames.Ip(new Ipv4Repr(from, Us, IpProtocol.Icmp, msg.Length), msg);
    }

    [Fact]
    public void Redirect_from_our_gateway_installs_a_host_route_RFC1122_3_2_2_2()
    {
        var h = new SingleHost();
        h.PushIp(Redirect(Gateway, BetterGateway, Far));
        Assert.True(h.Stack.Ipv4.Routes.TryLookup(Far, out var route));
        Assert.Equal(BetterGateway, route.Gateway);
        Assert.Equal(32, route.Destination.PrefixLength);
        Assert.True(h.Stack.Ipv4.Routes.TryLookup(Ipv4Address.Parse("203.0.113.6"), out route));
        Assert.Equal(Gateway, route.Gateway);
    }

    [Fact]
    public void Redirect_not_from_the_current_first_hop_is_discarded_RFC1122_3_2_2_2()
    {
        var h = new SingleHost();
        h.PushIp(Redirect(Peer, BetterGateway, Far));
        Assert.True(h.Stack.Ipv4.Routes.TryLookup(Far, out var route));
        Assert.Equal(Gateway, route.Gateway);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IcmpRedirectRejected));
    }

    [Fact]
    public void Redirect_to_an_off_link_gateway_is_discarded_RFC1122_3_2_2_2()
    {
        var h = new SingleHost();
        h.PushIp(Redirect(Gateway, Ipv4Address.Parse("198.51.100.1"), Far));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IcmpRedirectRejected));
    }

    [Fact]
    public void Redirect_routes_are_bounded()
    {
        var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, MaxRedirectRoutes = 4 });
        int before = h.Stack.Ipv4.Routes.Count;
        for (uint i = 1; i <= 20; i++) h.PushIp(Redirect(Gateway, BetterGateway, new Ipv4Address(0xCB007100 + i)));
        Assert.Equal(before + 4, h.Stack.Ipv4.Routes.Count);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("127.0.0.1")]
    [InlineData("240.0.0.1")]
    public void Martian_destinations_are_dropped_RFC1812_5_3_7(string destination)
    {
        var h = new SingleHost();
        h.PushIp(Udp(Peer, Ipv4Address.Parse(destination), 8));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4BadDestination));
    }

    [Fact]
    public void Source_routed_datagrams_are_dropped_as_Linux_does()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        byte[] lsrr = [0x83, 0x07, 0x04, 192, 0, 2, 1, 0x00];
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, 8, OptionsLength: lsrr.Length), new byte[8], lsrr));
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4SourceRouted));
    }
}

public class RedirectGenerationTests
{
    [Fact]
    public void A_router_forwarding_back_out_the_arrival_interface_redirects_the_host_RFC1812_5_2_7_2()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var quiet = new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } };
        var host = net.AddStack(1, quiet);
        var router = net.AddStack(2, quiet);
        var other = net.AddStack(3, quiet);
        host.AddInterface(net.Port(host, hub, MacAddress.Parse("02:00:00:00:00:01")), new NetStack.Network.InterfaceConfig
        { Ipv4Addresses = [NetStack.Network.Ipv4Cidr.Parse("192.0.2.1/24")], Ipv4Gateway = Ipv4Address.Parse("192.0.2.254"), EnableIpv6 = false }, net.Now);
        router.AddInterface(net.Port(router, hub, MacAddress.Parse("02:00:00:00:00:fe")), new NetStack.Network.InterfaceConfig
        { Ipv4Addresses = [NetStack.Network.Ipv4Cidr.Parse("192.0.2.254/24")], Forwarding = true, EnableIpv6 = false }, net.Now);
        other.AddInterface(net.Port(other, hub, MacAddress.Parse("02:00:00:00:00:fd")), new NetStack.Network.InterfaceConfig
        { Ipv4Addresses = [NetStack.Network.Ipv4Cidr.Parse("192.0.2.253/24")], EnableIpv6 = false }, net.Now);
        router.AddIpv4Route(new Ipv4Route(NetStack.Network.Ipv4Cidr.Parse("203.0.113.0/24"), Ipv4Address.Parse("192.0.2.253"), 0));

        host.Send(Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("203.0.113.5"), IpProtocol.Udp, new byte[20], default, net.Now);
        net.Run(TimeSpan.FromMilliseconds(50));

        Assert.Equal(1, router.Statistics.Ipv4PacketsForwarded);
        Assert.True(host.Ipv4.Routes.TryLookup(Ipv4Address.Parse("203.0.113.5"), out var route));
        Assert.Equal(Ipv4Address.Parse("192.0.2.253"), route.Gateway);
    }
}
