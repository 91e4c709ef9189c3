using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>More RFC MUSTs checked on one stack fed crafted frames.</summary>
public class StackRulesTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);
    private static readonly Ipv6Address Us = A("2001:db8::b");
    private static readonly Ipv6Address Peer = A("2001:db8::a");

    private static (SimLan Net, SimSegment Hub, NetworkStack S, NetworkInterface I) Host(Ipv6Settings? options = null, bool slaac = false)
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(5, new StackOptions { Ipv6 = options ?? new Ipv6Settings() });
        var i = net.Attach(s, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = slaac, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        return (net, hub, s, i);
    }

    private static List<(Icmpv6Type Type, byte Code, byte[] Message, Ipv6Address Src, Ipv6Address Dst, byte HopLimit)> Errors(SimSegment hub) =>
        V6Frames.Icmpv6Sent(hub, hub.Devices[0]).Where(m => Icmpv6Packet.IsErrorType((byte)m.Type)).ToList();

    /// <summary>Tells the stack the peer's MAC so that replies need no resolution.</summary>
    private static void Learn(NetworkStack s, NetworkInterface i, Instant now)
    {
        var ns = new NeighborSolicitationRepr(Us, new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ns.BufferLength];
        ns.Write(m, Peer, Us.SolicitedNode);
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Us.SolicitedNode), Peer, Us.SolicitedNode, m, hop: 255), now);
    }

    [Fact]
    public void Hop_by_hop_header_after_another_header_gets_parameter_problem_code_1_RFC8200_4_3()
    {
        var (net, hub, s, i) = Host();
        Learn(s, i, net.Now);
        // Destination Options (next header 0 = Hop-by-Hop) followed by a Hop-by-Hop header.
        byte[] payload = [0, 0, 1, 4, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0];
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, IpProtocol.Ipv6DestinationOptions, payload), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = Assert.Single(Errors(hub));
        Assert.Equal(Icmpv6Type.ParameterProblem, pp.Type);
        Assert.Equal(1, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 40); // the Next Header field of the Destination Options header
    }

    [Fact]
    public void First_fragment_without_the_whole_header_chain_gets_parameter_problem_code_3_RFC7112_5()
    {
        var (net, hub, s, i) = Host();
        Learn(s, i, net.Now);
        // Fragment header (offset 0, M) followed by a Destination Options header that claims 16 bytes but only 8 are present.
        var p = new byte[8 + 8];
        new Ipv6FragmentRepr(IpProtocol.Ipv6DestinationOptions, 0, true, 77).Write(p);
        p[8] = 58; p[9] = 1; p[10] = 1; p[11] = 4;
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, IpProtocol.Ipv6Fragment, p), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = Assert.Single(Errors(hub));
        Assert.Equal(3, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 0);
        Assert.Equal(1, s.Statistics.Drops(DropReason.Ipv6IncompleteHeaderChain));
    }

    [Fact]
    public void Atomic_fragment_is_delivered_at_once_RFC6946()
    {
        var (net, hub, s, i) = Host();
        Learn(s, i, net.Now);
        var echo = V6Frames.EchoRequest(3, 4, 16, Peer, Us);
        var p = new byte[8 + echo.Length];
        new Ipv6FragmentRepr(IpProtocol.Icmpv6, 0, false, 1234).Write(p);
        echo.CopyTo(p, 8);
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, IpProtocol.Ipv6Fragment, p), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.Contains(V6Frames.Icmpv6Sent(hub, hub.Devices[0]), m => m.Type == Icmpv6Type.EchoReply && m.Dst == Peer);
        Assert.Equal(0, s.Statistics.FragmentsReassembled);
    }

    [Fact]
    public void Fragment_beyond_65535_bytes_gets_parameter_problem_pointing_at_the_fragment_offset_RFC8200_4_5()
    {
        var (net, hub, s, i) = Host();
        Learn(s, i, net.Now);
        var p = new byte[8 + 16];
        new Ipv6FragmentRepr(IpProtocol.Icmpv6, 65528, true, 9).Write(p);
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, IpProtocol.Ipv6Fragment, p), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = Assert.Single(Errors(hub));
        Assert.Equal(0, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 42);
    }

    [Fact]
    public void Packets_to_a_tentative_address_are_discarded_RFC4862_5_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(6);
        var i = net.Attach(s, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, IpProtocol.Icmpv6, V6Frames.EchoRequest(1, 1, 8, Peer, Us)), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.Ipv6NotForUs));
    }

    [Fact]
    public void ICMPv6_errors_are_rate_limited_RFC4443_2_4_f()
    {
        var (net, hub, s, i) = Host(new Ipv6Settings { IcmpErrorsPerSecond = 1, IcmpErrorBurst = 3 });
        Learn(s, i, net.Now);
        for (int k = 0; k < 10; k++)
            s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, (IpProtocol)253, new byte[8]), net.Now);
        net.Run(TimeSpan.FromMilliseconds(100));
        Assert.Equal(3, Errors(hub).Count);
        Assert.Equal(7, s.Statistics.Drops(DropReason.IcmpRateLimited));
    }

    [Fact]
    public void Error_quote_is_cut_so_the_error_fits_1280_bytes_RFC4443_2_4_c()
    {
        var (net, hub, s, i) = Host();
        Learn(s, i, net.Now);
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Peer, Us, (IpProtocol)253, new byte[1400]), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = Assert.Single(Errors(hub));
        Assert.Equal(1280 - 40, pp.Message.Length);
    }

    [Fact]
    public void No_error_about_a_packet_from_the_unspecified_address_RFC4443_2_4_e()
    {
        var (net, hub, s, i) = Host();
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Ipv6Address.Unspecified, Us, (IpProtocol)253, new byte[8]), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.Empty(Errors(hub));
    }

    [Fact]
    public void Packet_from_a_multicast_source_is_dropped_RFC4291_2_7()
    {
        var (net, _, s, i) = Host();
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, A("ff02::1"), Us, IpProtocol.Icmpv6, V6Frames.EchoRequest(1, 1, 8, A("ff02::1"), Us)), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.Ipv6BadSource));
    }

    [Fact]
    public void Received_packet_too_big_quoting_our_packet_lowers_the_path_mtu_RFC8201_4()
    {
        var (net, _, s, i) = Host();
        var quoted = V6Frames.Ip(i.HardwareAddress, Us, A("2001:db8::99"), IpProtocol.Icmpv6, V6Frames.EchoRequest(1, 1, 1400, Us, A("2001:db8::99")))[14..];
        var ptb = new byte[8 + 1232];
        new Icmpv6Repr(Icmpv6Type.PacketTooBig, 0, 1300, quoted.AsMemory(0, 1232)).Write(ptb, A("2001:db8::1"), Us);
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, A("2001:db8::1"), Us, IpProtocol.Icmpv6, ptb), net.Now);
        Assert.Equal(1300 - 40, s.MaxTransportPayload(A("2001:db8::99")));
    }

    [Fact]
    public void Router_solicitation_is_ignored_by_a_host_RFC4861_6_2_6()
    {
        var (net, hub, s, i) = Host();
        var rs = new RouterSolicitationRepr(new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[rs.BufferLength];
        rs.Write(m, A("fe80::a"), Ipv6Address.AllRouters);
        int before = hub.Log.Count;
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllRouters), A("fe80::a"), Ipv6Address.AllRouters, m, hop: 255), net.Now);
        Assert.Equal(before, hub.Log.Count);
    }

    [Fact]
    public void Neighbor_advertisement_to_multicast_with_solicited_flag_is_invalid_RFC4861_7_1_2()
    {
        var (net, _, s, i) = Host();
        var na = new NeighborAdvertisementRepr(false, true, true, A("2001:db8::a"), new[] { NdpOptionRepr.TargetLinkLayer(V6Frames.PeerMac) });
        var m = new byte[na.BufferLength];
        na.Write(m, A("2001:db8::a"), Ipv6Address.AllNodes);
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), A("2001:db8::a"), Ipv6Address.AllNodes, m, hop: 255), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.NdpInvalid));
    }

    [Fact]
    public void DAD_solicitation_with_a_source_link_layer_option_is_invalid_RFC4861_7_1_1()
    {
        var (net, _, s, i) = Host();
        var ns = new NeighborSolicitationRepr(Us, new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ns.BufferLength];
        ns.Write(m, Ipv6Address.Unspecified, Us.SolicitedNode);
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Us.SolicitedNode), Ipv6Address.Unspecified, Us.SolicitedNode, m, hop: 255), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.NdpInvalid));
    }

    [Fact]
    public void DAD_solicitation_for_our_address_is_answered_to_all_nodes_RFC4861_7_2_4()
    {
        var (net, hub, s, i) = Host();
        var ns = new NeighborSolicitationRepr(Us, ReadOnlyMemory<NdpOptionRepr>.Empty);
        var m = new byte[ns.BufferLength];
        ns.Write(m, Ipv6Address.Unspecified, Us.SolicitedNode);
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Us.SolicitedNode), Ipv6Address.Unspecified, Us.SolicitedNode, m, hop: 255), net.Now);
        var na = V6Frames.Icmpv6Sent(hub, hub.Devices[0]).Last();
        Assert.Equal(Icmpv6Type.NeighborAdvertisement, na.Type);
        Assert.Equal(Ipv6Address.AllNodes, na.Dst);
        Assert.True(NdpMessage.TryParse(na.Message, out var nd, out _));
        Assert.False(nd.SolicitedFlag);
    }

    private static readonly Ipv6Address RedirectedDestination = A("2001:db8:99::1");
    private static readonly MacAddress BetterRouterMac = MacAddress.Parse("02:bb:00:00:00:02");

    /// <summary>A host whose default router (fe80::1, PeerMac) redirected <see cref="RedirectedDestination"/> to fe80::2.</summary>
    private static (SimLan Net, SimSegment Hub, NetworkStack S) Redirected()
    {
        var (net, hub, s, i) = Host(slaac: true);
        var router = A("fe80::1");
        var ra = new RouterAdvertisementRepr(64, false, false, 1800, 0, 0, new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var raMsg = new byte[ra.BufferLength];
        ra.Write(raMsg, router, Ipv6Address.AllNodes);
        s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), router, Ipv6Address.AllNodes, raMsg, hop: 255), net.Now);
        var rd = new RedirectRepr(A("fe80::2"), RedirectedDestination, new[] { NdpOptionRepr.TargetLinkLayer(BetterRouterMac) });
        var rdMsg = new byte[rd.BufferLength];
        rd.Write(rdMsg, router, Us);
        s.Receive(i, V6Frames.Icmp(i.HardwareAddress, router, Us, rdMsg, hop: 255), net.Now);
        return (net, hub, s);
    }

    /// <summary>The destination MAC of an echo request sent now to <see cref="RedirectedDestination"/>.</summary>
    private static MacAddress FirstHopOfAnEcho(SimLan net, SimSegment hub, NetworkStack s)
    {
        using var echo = s.OpenIcmpv6Echo(1);
        echo.SendEcho(RedirectedDestination, 1, new byte[8], net.Now);
        var last = hub.Log.Last(f => f.From == hub.Devices[0]).Frame;
        return Expect.Frame(last).Ethernet().EthernetHeader.Destination;
    }

    [Fact]
    public void Redirect_from_the_current_first_hop_changes_the_next_hop_RFC4861_8_3()
    {
        var (net, hub, s) = Redirected();
        Assert.Equal(BetterRouterMac, FirstHopOfAnEcho(net, hub, s));
    }

    [Fact]
    public void Negative_advice_forgets_a_redirect_so_the_default_router_is_used_again_RFC9293_3_8_3()
    {
        // RFC 9293 §3.8.3 MUST-20: a transport's segments to the destination went unanswered R1 times.
        var (net, hub, s) = Redirected();
        s.ReachabilityAdvice(new IpAddress(RedirectedDestination), forwardProgress: false, net.Now);
        Assert.Equal(V6Frames.PeerMac, FirstHopOfAnEcho(net, hub, s));
        Assert.Equal(1, s.Statistics.NegativeAdvice);
    }

    [Fact]
    public void Redirect_from_a_router_that_is_not_the_first_hop_is_ignored_RFC4861_8_1()
    {
        var (net, _, s, i) = Host(slaac: true);
        var rd = new RedirectRepr(A("fe80::2"), A("2001:db8:99::1"), ReadOnlyMemory<NdpOptionRepr>.Empty);
        var rdMsg = new byte[rd.BufferLength];
        rd.Write(rdMsg, A("fe80::7"), Us);
        s.Receive(i, V6Frames.Icmp(i.HardwareAddress, A("fe80::7"), Us, rdMsg, hop: 255), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.NdpInvalid));
    }

    [Fact]
    public void Unreachable_neighbour_reports_address_unreachable_to_our_echo_RFC4861_7_2_2()
    {
        var (net, _, s, _) = Host();
        using var echo = s.OpenIcmpv6Echo(8);
        echo.SendEcho(A("2001:db8::77"), 1, new byte[8], net.Now);
        net.Run(TimeSpan.FromSeconds(5));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Error, r.Kind);
        Assert.Equal((byte)Icmpv6Type.DestinationUnreachable, r.Error.Type);
        Assert.Equal(3, r.Error.Code);
    }

    [Fact]
    public void Unreachable_default_router_is_replaced_by_another_RFC4861_6_3_6()
    {
        var (net, hub, s, i) = Host(slaac: true);
        var mac1 = MacAddress.Parse("02:bb:00:00:00:01");
        var mac2 = MacAddress.Parse("02:bb:00:00:00:02");
        foreach (var (router, mac) in new[] { (A("fe80::1"), mac1), (A("fe80::2"), mac2) })
        {
            var ra = new RouterAdvertisementRepr(64, false, false, 1800, 0, 0, new[] { NdpOptionRepr.SourceLinkLayer(mac) });
            var m = new byte[ra.BufferLength];
            ra.Write(m, router, Ipv6Address.AllNodes);
            s.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), router, Ipv6Address.AllNodes, m, hop: 255), net.Now);
        }
        using var echo = s.OpenIcmpv6Echo(1);
        MacAddress LastDestination()
        {
            var f = hub.Log.Last(x => x.From == hub.Devices[0] && V6Frames.TryIpv6(x.Frame, out var ip) && ip.NextHeader == IpProtocol.Icmpv6 && ip.Payload[0] == 128).Frame;
            return Expect.Frame(f).Ethernet().EthernetHeader.Destination;
        }
        echo.SendEcho(A("2001:db8:99::1"), 1, new byte[8], net.Now);
        var first = LastDestination();
        // No answers: DELAY (5 s), then three unicast probes a second apart, then the entry is gone (RFC 4861 §7.3.3).
        net.Run(TimeSpan.FromSeconds(10));
        echo.SendEcho(A("2001:db8:99::1"), 2, new byte[8], net.Now);
        var second = LastDestination();
        Assert.NotEqual(first, second);
        Assert.Contains(first, new[] { mac1, mac2 });
        Assert.Contains(second, new[] { mac1, mac2 });
    }

    [Fact]
    public void Ping_to_loopback_is_answered_inside_the_node_RFC4291_2_5_3()
    {
        var (net, hub, s, _) = Host();
        int before = hub.Log.Count;
        using var echo = s.OpenIcmpv6Echo(11);
        Assert.Equal(IpSendResult.Sent, echo.SendEcho(Ipv6Address.Loopback, 1, new byte[16], net.Now));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(Ipv6Address.Loopback, r.From);
        Assert.Equal(before, hub.Log.Count); // nothing on the link
    }

    [Fact]
    public void The_echo_socket_serves_ICMPv6_with_its_own_identifiers_a_bounded_counted_queue_and_one_family()
    {
        var (net, _, s, _) = Host();
        using var echo = s.OpenIcmpv6Echo(21, capacity: 2);
        Assert.Equal(IpVersion.V6, echo.Version);
        Assert.Throws<InvalidOperationException>(() => s.OpenIcmpv6Echo(21));
        using var icmp = new IcmpEchoSocket(s, 21); // ICMP and ICMPv6 identifiers are separate spaces
        for (ushort seq = 0; seq < 5; seq++)
            Assert.Equal(IpSendResult.Sent, echo.SendEcho(Ipv6Address.Loopback, seq, new byte[8], net.Now));
        Assert.Equal(2, echo.Available);
        Assert.Equal(3, echo.Dropped);
        Assert.Equal(3, s.Statistics.Drops(DropReason.IcmpEchoQueueFull));
        Assert.Throws<ArgumentException>(() => echo.SendEcho(Ipv4Address.Parse("192.0.2.1"), 9, new byte[8], net.Now));
    }

    [Fact]
    public void Packet_with_a_loopback_source_from_the_link_is_dropped_RFC4291_2_5_3()
    {
        var (net, _, s, i) = Host();
        s.Receive(i, V6Frames.Ip(i.HardwareAddress, Ipv6Address.Loopback, Us, IpProtocol.Icmpv6, V6Frames.EchoRequest(1, 1, 8, Ipv6Address.Loopback, Us)), net.Now);
        Assert.Equal(1, s.Statistics.Drops(DropReason.Ipv6BadSource));
    }

    [Fact]
    public void Ping_of_8000_bytes_to_our_own_address_is_reassembled_and_answered_inside_the_node()
    {
        var (net, hub, s, _) = Host();
        int before = hub.Log.Count;
        using var echo = s.OpenIcmpv6Echo(12);
        var data = Enumerable.Range(0, 8000).Select(k => (byte)(k * 7)).ToArray();
        Assert.Equal(IpSendResult.Sent, echo.SendEcho(Us, 1, data, net.Now));
        Assert.True(echo.TryReceive(out var r));
        Assert.True(r.DataMatches);
        Assert.Equal(8000, r.PayloadLength);
        Assert.Equal(2, s.Statistics.FragmentsReassembled);
        Assert.Equal(before, hub.Log.Count);
    }
}
