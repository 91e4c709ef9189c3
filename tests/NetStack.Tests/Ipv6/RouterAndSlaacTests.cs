using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>A stack forwarding between two segments, and a host configured by router advertisements.</summary>
public class RouterAndSlaacTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    private sealed record Topology(SimLan Net, SimSegment Left, SimSegment Right, NetworkStack H1, NetworkStack R, NetworkStack H2);

    /// <summary>h1 (2001:db8:1::10) — r (::1 on both) — h2 (2001:db8:2::10), the right link with <paramref name="rightMtu"/>.</summary>
    private static Topology Routed(int rightMtu = 1500)
    {
        var net = new SimLan();
        var left = net.AddSegment();
        var right = net.AddSegment();
        var h1 = net.AddStack(11);
        var r = net.AddStack(12);
        var h2 = net.AddStack(13);
        net.Attach(h1, left, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::10/64")], Ipv6Gateway = A("2001:db8:1::1") });
        net.Attach(r, left, 2, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::1/64")] });
        net.Attach(r, right, 3, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:2::1/64")] }, mtu: rightMtu);
        net.Attach(h2, right, 4, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:2::10/64")], Ipv6Gateway = A("2001:db8:2::1") }, mtu: rightMtu);
        net.Run(TimeSpan.FromSeconds(3));
        return new Topology(net, left, right, h1, r, h2);
    }

    [Fact]
    public void Router_forwards_and_decrements_the_hop_limit_RFC8200_3()
    {
        var t = Routed();
        using var echo = t.H1.OpenIcmpv6Echo(1);
        echo.SendEcho(A("2001:db8:2::10"), 1, new byte[32], t.Net.Now, ttl: 9);
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(A("2001:db8:2::10"), r.From);
        var forwarded = V6Frames.Icmpv6Sent(t.Right, t.Right.Devices[0]).First(m => m.Type == Icmpv6Type.EchoRequest);
        Assert.Equal(8, forwarded.HopLimit);
        Assert.True(t.R.Statistics.Ipv6PacketsForwarded >= 2);
    }

    [Fact]
    public void Hop_limit_1_gets_time_exceeded_from_the_router_RFC4443_3_3()
    {
        var t = Routed();
        using var echo = t.H1.OpenIcmpv6Echo(2);
        echo.SendEcho(A("2001:db8:2::10"), 5, new byte[32], t.Net.Now, ttl: 1);
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Error, r.Kind);
        Assert.Equal((byte)Icmpv6Type.TimeExceeded, r.Error.Type);
        Assert.Equal(0, r.Error.Code);
        Assert.Equal(A("2001:db8:1::1"), r.From);
        Assert.Equal(5, r.Sequence);
    }

    [Fact]
    public void Smaller_next_link_gets_packet_too_big_and_the_sender_lowers_its_path_mtu_RFC8201_4()
    {
        var t = Routed(rightMtu: 1280);
        using var echo = t.H1.OpenIcmpv6Echo(3);
        echo.SendEcho(A("2001:db8:2::10"), 1, new byte[1400], t.Net.Now);
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var e));
        Assert.Equal(IcmpEchoResultKind.Error, e.Kind);
        Assert.Equal((byte)Icmpv6Type.PacketTooBig, e.Error.Type);
        Assert.Equal(1280u, e.Error.Parameter);
        Assert.Equal(1280 - 40, t.H1.MaxTransportPayload(A("2001:db8:2::10")));
        // The next attempt is fragmented to the path MTU and gets through.
        echo.SendEcho(A("2001:db8:2::10"), 2, new byte[1400], t.Net.Now);
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var ok));
        Assert.Equal(IcmpEchoResultKind.Reply, ok.Kind);
        Assert.Equal(2, ok.Sequence);
    }

    [Fact]
    public void No_route_gets_destination_unreachable_code_0()
    {
        var t = Routed();
        using var echo = t.H1.OpenIcmpv6Echo(4);
        echo.SendEcho(A("2001:db8:77::1"), 1, new byte[8], t.Net.Now);
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var e));
        Assert.Equal((byte)Icmpv6Type.DestinationUnreachable, e.Error.Type);
        Assert.Equal(0, e.Error.Code);
    }

    private static byte[] RouterAdvertisement(Ipv6Address router, ushort lifetime, uint valid, uint preferred, uint mtu, uint rdnssLifetime)
    {
        var options = new[]
        {
            NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac),
            NdpOptionRepr.PrefixInfo(new NdpPrefixInformation(64, true, true, valid, preferred, A("2001:db8:5::"))),
            NdpOptionRepr.MtuOption(mtu),
            NdpOptionRepr.Rdnss(rdnssLifetime, new[] { A("2001:db8::53") }),
        };
        var ra = new RouterAdvertisementRepr(61, false, false, lifetime, 20_000, 2_000, options);
        var m = new byte[ra.BufferLength];
        ra.Write(m, router, Ipv6Address.AllNodes);
        return V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), router, Ipv6Address.AllNodes, m, hop: 255);
    }

    [Fact]
    public void Router_advertisement_configures_SLAAC_address_router_mtu_hop_limit_and_RDNSS_RFC4862_RFC8106()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(21);
        var i = net.Attach(h, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        // A router solicitation went out once the link-local address was usable (RFC 4861 §6.3.7).
        Assert.Contains(V6Frames.Icmpv6Sent(hub, hub.Devices[0]), m => m.Type == Icmpv6Type.RouterSolicitation && m.Dst == Ipv6Address.AllRouters);
        var router = A("fe80::1");
        h.Receive(i, RouterAdvertisement(router, 1800, 3600, 1800, 1400, 600), net.Now);
        net.Run(TimeSpan.FromSeconds(3));
        var info = h.GetIpv6Info(i)!;
        var slaac = info.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.Slaac);
        Assert.True(slaac.Address.MatchesPrefix(A("2001:db8:5::"), 64));
        Assert.Equal(Ipv6AddressState.Preferred, slaac.State);
        Assert.Equal(1400, info.LinkMtu);
        Assert.Equal(61, info.CurHopLimit);
        Assert.Equal(TimeSpan.FromSeconds(20), info.BaseReachableTime);
        Assert.Equal(TimeSpan.FromSeconds(2), info.RetransTimer);
        Assert.Equal([router], info.DefaultRouters);
        Assert.Equal([A("2001:db8::53")], h.Ipv6DnsServers);
        Assert.True(h.TrySelectSource(A("2001:db8:99::1"), out var src));
        Assert.Equal(slaac.Address, src.V6);
    }

    [Fact]
    public void SLAAC_address_deprecates_then_disappears_with_its_lifetimes_RFC4862_5_5_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(22);
        var i = net.Attach(h, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        h.Receive(i, RouterAdvertisement(A("fe80::1"), 1800, 60, 30, 1500, 20), net.Now);
        net.Run(TimeSpan.FromSeconds(31));
        Assert.Equal(Ipv6AddressState.Deprecated, h.GetIpv6Info(i)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.Slaac).State);
        Assert.Empty(h.Ipv6DnsServers); // RDNSS lifetime 20 s is over
        net.Run(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(h.GetIpv6Info(i)!.Addresses, a => a.Origin == Ipv6AddressOrigin.Slaac);
    }

    [Fact]
    public void Short_valid_lifetime_in_a_later_RA_is_limited_by_the_two_hour_rule_RFC4862_5_5_3_e()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(23);
        var i = net.Attach(h, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        h.Receive(i, RouterAdvertisement(A("fe80::1"), 1800, 86400, 3600, 1500, 600), net.Now);
        net.Run(TimeSpan.FromSeconds(3));
        h.Receive(i, RouterAdvertisement(A("fe80::1"), 1800, 10, 5, 1500, 600), net.Now);
        var a = h.GetIpv6Info(i)!.Addresses.Single(x => x.Origin == Ipv6AddressOrigin.Slaac);
        Assert.Equal(net.Now + TimeSpan.FromHours(2), a.ValidUntil);
    }

    [Fact]
    public void Router_advertisement_from_a_global_source_is_ignored_RFC4861_6_1_2()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(24);
        var i = net.Attach(h, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        h.Receive(i, RouterAdvertisement(A("2001:db8::1"), 1800, 3600, 1800, 1400, 600), net.Now);
        net.Run(TimeSpan.FromSeconds(3));
        Assert.DoesNotContain(h.GetIpv6Info(i)!.Addresses, a => a.Origin == Ipv6AddressOrigin.Slaac);
        Assert.Equal(1, h.Statistics.Drops(DropReason.NdpInvalid));
    }

    [Fact]
    public void Router_lifetime_zero_removes_the_default_router_RFC4861_6_3_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(25);
        var i = net.Attach(h, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        h.Receive(i, RouterAdvertisement(A("fe80::1"), 1800, 3600, 1800, 1500, 600), net.Now);
        h.Receive(i, RouterAdvertisement(A("fe80::1"), 0, 3600, 1800, 1500, 600), net.Now);
        Assert.Empty(h.GetIpv6Info(i)!.DefaultRouters);
    }

    [Fact]
    public void Echo_request_to_all_nodes_is_answered_from_a_unicast_address_RFC4443_4_2()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(26);
        var i = net.Attach(h, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false });
        net.Run(TimeSpan.FromSeconds(3));
        var req = V6Frames.EchoRequest(5, 6, 8, A("fe80::99"), Ipv6Address.AllNodes);
        h.Receive(i, V6Frames.Ip(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), A("fe80::99"), Ipv6Address.AllNodes, IpProtocol.Icmpv6, req), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        // The reply needs the requester's MAC: it was resolved first, then the reply went out.
        var sent = V6Frames.Icmpv6Sent(hub, hub.Devices[0]);
        Assert.Contains(sent, m => m.Type == Icmpv6Type.NeighborSolicitation && !m.Src.IsUnspecified);
    }

    private sealed class FakeTransport(TransportVerdict verdict) : ITransportHandler
    {
        public List<(IcmpErrorInfo Error, byte[] Quoted)> Errors { get; } = [];
        public int Received { get; private set; }

        public TransportVerdict Receive(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now)
        {
            Received++;
            return verdict;
        }

        public void ReceiveIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now) =>
            Errors.Add((error, quotedTransport.ToArray()));
    }

    [Fact]
    public void Errors_reach_the_transport_whose_datagram_they_quote_RFC4443_2_4_a()
    {
        var t = Routed();
        var udp1 = new FakeTransport(TransportVerdict.Delivered);
        var udp2 = new FakeTransport(TransportVerdict.PortUnreachable);
        t.H1.RegisterTransport(IpProtocol.Udp, udp1);
        t.H2.RegisterTransport(IpProtocol.Udp, udp2);
        byte[] datagram = [0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0, 1, 2, 3, 4];
        Assert.Equal(IpSendResult.Sent, t.H1.Send(default, A("2001:db8:2::10"), IpProtocol.Udp, datagram, IpSendOptions.Default, t.Net.Now));
        Assert.Equal(IpSendResult.Sent, t.H1.Send(default, A("2001:db8:77::1"), IpProtocol.Udp, datagram, IpSendOptions.Default, t.Net.Now));
        t.Net.Run(TimeSpan.FromSeconds(2));
        Assert.Equal(1, udp2.Received);
        var portUnreachable = udp1.Errors.Single(e => e.Error.Code == 4);
        Assert.Equal((byte)Icmpv6Type.DestinationUnreachable, portUnreachable.Error.Type);
        Assert.Equal(A("2001:db8:2::10"), portUnreachable.Error.Reporter.V6);
        Assert.Equal(A("2001:db8:1::10"), portUnreachable.Error.OriginalSource.V6);
        Assert.Equal(IpProtocol.Udp, portUnreachable.Error.OriginalProtocol);
        Assert.Equal(datagram, portUnreachable.Quoted);
        var noRoute = udp1.Errors.Single(e => e.Error.Code == 0);
        Assert.Equal(A("2001:db8:1::1"), noRoute.Error.Reporter.V6);
        Assert.Equal(A("2001:db8:77::1"), noRoute.Error.OriginalDestination.V6);
    }

    [Fact]
    public void Router_redirects_a_neighbour_to_an_on_link_destination_and_the_host_follows_RFC4861_8_2_8_3()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var r = net.AddStack(31);
        var ir = net.Attach(r, hub, 2, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::1/64")] });
        var routerLinkLocal = r.GetIpv6Info(ir)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.LinkLocal).Address;
        var h1 = net.AddStack(32);
        // A /128 address: h1 knows no on-link prefix and sends everything to the router.
        net.Attach(h1, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::10/128")], Ipv6Gateway = routerLinkLocal });
        var h3 = net.AddStack(33);
        var i3 = net.Attach(h3, hub, 3, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::30/64")] });
        net.Run(TimeSpan.FromSeconds(3));

        using var echo = h1.OpenIcmpv6Echo(1);
        echo.SendEcho(A("2001:db8:1::30"), 1, new byte[16], net.Now);
        net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var first));
        Assert.Equal(IcmpEchoResultKind.Reply, first.Kind);
        var redirect = V6Frames.Icmpv6Sent(hub, hub.Devices[0]).Single(m => m.Type == Icmpv6Type.Redirect);
        Assert.Equal(routerLinkLocal, redirect.Src);
        Assert.Equal(255, redirect.HopLimit);
        Assert.True(NdpMessage.TryParse(redirect.Message, out var nd, out _));
        Assert.Equal(A("2001:db8:1::30"), nd.TargetAddress);
        Assert.Equal(A("2001:db8:1::30"), nd.DestinationAddress);
        Assert.True(nd.TryGetOption(NdpOptionType.RedirectedHeader, out _));

        // The next echo goes straight to h3's MAC.
        int before = hub.Log.Count;
        echo.SendEcho(A("2001:db8:1::30"), 2, new byte[16], net.Now);
        net.Run(TimeSpan.FromSeconds(2));
        Assert.True(echo.TryReceive(out var second));
        Assert.Equal(IcmpEchoResultKind.Reply, second.Kind);
        var direct = hub.Log.Skip(before).Where(x => x.From == hub.Devices[1] && V6Frames.TryIpv6(x.Frame, out var ip) && ip.NextHeader == IpProtocol.Icmpv6 && ip.Payload[0] == 128).ToList();
        Assert.NotEmpty(direct);
        Assert.All(direct, x => Expect.Frame(x.Frame).Ethernet(dst: i3.HardwareAddress));
    }
}
