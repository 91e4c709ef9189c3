using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>Two or three stacks on in-memory segments: DAD, NDP, ping, fragmentation, forwarding.</summary>
public class StackBehaviourTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    private static Ipv6Address LinkLocal(NetworkStack s, NetworkInterface i) =>
        s.GetIpv6Info(i)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.LinkLocal).Address;

    private static (SimLan Net, SimSegment Hub, NetworkStack A, NetworkInterface IfA, NetworkStack B, NetworkInterface IfB) TwoHosts()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var b = net.AddStack(2);
        var ia = net.Attach(a, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        var ib = net.Attach(b, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        return (net, hub, a, ia, b, ib);
    }

    [Fact]
    public void Addresses_are_tentative_then_preferred_after_DAD_RFC4862_5_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var ia = net.Attach(a, hub, 1, new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        Assert.All(a.GetIpv6Info(ia)!.Addresses, x => Assert.Equal(Ipv6AddressState.Tentative, x.State));
        net.Run(TimeSpan.FromSeconds(3));
        Assert.All(a.GetIpv6Info(ia)!.Addresses, x => Assert.Equal(Ipv6AddressState.Preferred, x.State));
        // DAD probes: from ::, to the solicited-node group, hop limit 255, with a nonce option (RFC 7527).
        var probes = V6Frames.Icmpv6Sent(hub, hub.Devices[0]).Where(m => m.Type == Icmpv6Type.NeighborSolicitation).ToList();
        Assert.Equal(2, probes.Count);
        Assert.All(probes, p =>
        {
            Assert.True(p.Src.IsUnspecified);
            Assert.Equal(255, p.HopLimit);
            Assert.True(NdpMessage.TryParse(p.Message, out var nd, out _));
            Assert.Equal(p.Dst, nd.TargetAddress.SolicitedNode);
            Assert.True(nd.TryGetOption(NdpOptionType.Nonce, out _));
            Assert.Null(nd.SourceLinkLayerAddress);
        });
    }

    [Fact]
    public void Solicited_node_group_is_reported_with_MLDv2_RFC3810_6_1()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var ia = net.Attach(a, hub, 1);
        net.Run(TimeSpan.FromSeconds(3));
        var ll = LinkLocal(a, ia);
        var reports = V6Frames.Icmpv6Sent(hub, hub.Devices[0]).Where(m => m.Type == Icmpv6Type.Mldv2Report).ToList();
        Assert.True(reports.Count >= 2); // state change report and its retransmission
        Assert.All(reports, r => { Assert.Equal(Ipv6Address.AllMldv2Routers, r.Dst); Assert.Equal(1, r.HopLimit); });
        var groups = new List<Ipv6Address>();
        foreach (var r in reports)
        {
            Assert.True(Mldv2Report.TryParse(r.Message, out var rep, out _));
            foreach (var rec in rep.Records) groups.Add(rec.MulticastAddress);
        }
        Assert.Contains(ll.SolicitedNode, groups);
        Assert.DoesNotContain(Ipv6Address.AllNodes, groups);
    }

    [Fact]
    public void Ping_between_link_local_addresses_resolves_the_neighbour_and_replies()
    {
        var (net, hub, a, ia, b, ib) = TwoHosts();
        using var echo = a.OpenIcmpv6Echo(0x1234);
        var target = LinkLocal(b, ib);
        Assert.Equal(IpSendResult.Sent, echo.SendEcho(target, 1, new byte[56], net.Now, interfaceIndex: ia.Index));
        net.Run(TimeSpan.FromSeconds(1));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(target, r.From);
        Assert.Equal(1, r.Sequence);
        Assert.True(r.DataMatches);
        // The exchange needed Neighbor Solicitation / Advertisement first (RFC 4861 §7.2).
        Assert.Contains(V6Frames.Icmpv6Sent(hub, hub.Devices[1]), m => m.Type == Icmpv6Type.NeighborAdvertisement);
    }

    [Fact]
    public void Ping_of_8000_bytes_is_fragmented_and_reassembled_both_ways()
    {
        var (net, _, a, _, b, _) = TwoHosts();
        using var echo = a.OpenIcmpv6Echo(7);
        Assert.Equal(IpSendResult.Sent, echo.SendEcho(A("2001:db8::b"), 9, Enumerable.Range(0, 8000).Select(i => (byte)i).ToArray(), net.Now));
        net.Run(TimeSpan.FromSeconds(1));
        Assert.True(echo.TryReceive(out var r));
        Assert.Equal(8000, r.PayloadLength);
        Assert.True(r.DataMatches);
        Assert.True(a.Statistics.FragmentsCreated >= 6);
        Assert.Equal(1, b.Statistics.FragmentsReassembled);
        Assert.Equal(1, a.Statistics.FragmentsReassembled);
    }

    [Fact]
    public void Duplicate_static_address_is_detected_and_never_used_RFC4862_5_4_5()
    {
        var (net, hub, a, ia, _, _) = TwoHosts();
        var c = net.AddStack(3);
        var ic = net.Attach(c, hub, 3, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        var dup = c.GetIpv6Info(ic)!.Addresses.Single(x => x.Address == A("2001:db8::a"));
        Assert.Equal(Ipv6AddressState.Duplicate, dup.State);
        Assert.Equal(Ipv6AddressState.Preferred, a.GetIpv6Info(ia)!.Addresses.Single(x => x.Address == A("2001:db8::a")).State);
        Assert.True(c.TrySelectSource(A("2001:db8::99"), out var chosen));
        Assert.NotEqual(A("2001:db8::a"), chosen.V6);
    }

    [Fact]
    public void Unknown_next_header_gets_parameter_problem_code_1_pointing_at_next_header_RFC8200_4()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        b.Receive(ib, V6Frames.Ip(ib.HardwareAddress, A("2001:db8::a"), A("2001:db8::b"), (IpProtocol)253, new byte[16]), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Single(m => m.Type == Icmpv6Type.ParameterProblem);
        Assert.Equal(1, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 6);
    }

    [Fact]
    public void Unknown_option_action_10_to_multicast_still_gets_parameter_problem_code_2_RFC8200_4_2()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        // Destination Options header: next header 59, one unknown option type 0x80 (action 10), length 4.
        byte[] dopt = [59, 0, 0x80, 4, 0, 0, 0, 0];
        b.Receive(ib, V6Frames.Ip(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), A("2001:db8::a"), Ipv6Address.AllNodes,
            IpProtocol.Ipv6DestinationOptions, dopt), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Single(m => m.Type == Icmpv6Type.ParameterProblem);
        Assert.Equal(2, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 42); // 40 + offset 2 of the option
    }

    [Fact]
    public void Unknown_option_action_11_to_multicast_is_discarded_silently_RFC8200_4_2()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        byte[] dopt = [59, 0, 0xC0, 4, 0, 0, 0, 0];
        b.Receive(ib, V6Frames.Ip(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), A("2001:db8::a"), Ipv6Address.AllNodes,
            IpProtocol.Ipv6DestinationOptions, dopt), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(V6Frames.Icmpv6Sent(hub, hub.Devices[1]), m => m.Type == Icmpv6Type.ParameterProblem);
        Assert.Equal(1, b.Statistics.Drops(DropReason.Ipv6UnknownOption));
    }

    [Fact]
    public void Neighbor_solicitation_with_hop_limit_below_255_is_ignored_RFC4861_7_1_1()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        var ns = new NeighborSolicitationRepr(A("2001:db8::b"), new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ns.BufferLength];
        ns.Write(m, A("2001:db8::c"), A("2001:db8::b").SolicitedNode);
        int before = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Count;
        b.Receive(ib, V6Frames.Icmp(MacAddress.ForIpv6Multicast(A("2001:db8::b").SolicitedNode), A("2001:db8::c"), A("2001:db8::b").SolicitedNode, m, hop: 64), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.Equal(before, V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Count);
        Assert.Equal(1, b.Statistics.Drops(DropReason.NdpInvalid));
    }

    [Fact]
    public void Neighbor_solicitation_for_our_address_gets_solicited_override_advertisement_RFC4861_7_2_4()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        var ns = new NeighborSolicitationRepr(A("2001:db8::b"), new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ns.BufferLength];
        ns.Write(m, A("2001:db8::c"), A("2001:db8::b").SolicitedNode);
        b.Receive(ib, V6Frames.Icmp(MacAddress.ForIpv6Multicast(A("2001:db8::b").SolicitedNode), A("2001:db8::c"), A("2001:db8::b").SolicitedNode, m, hop: 255), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var na = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Last(x => x.Type == Icmpv6Type.NeighborAdvertisement);
        Assert.Equal(A("2001:db8::c"), na.Dst);
        Assert.Equal(255, na.HopLimit);
        Assert.True(NdpMessage.TryParse(na.Message, out var nd, out _));
        Assert.True(nd.SolicitedFlag);
        Assert.True(nd.OverrideFlag);
        Assert.Equal(ib.HardwareAddress, nd.TargetLinkLayerAddress);
    }

    [Fact]
    public void Overlapping_fragments_produce_no_reply_and_a_counted_drop_RFC5722()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        var echo = V6Frames.EchoRequest(1, 1, 40, A("2001:db8::a"), A("2001:db8::b"));
        byte[] Frag(int off, bool more, ReadOnlySpan<byte> data)
        {
            var p = new byte[8 + data.Length];
            new Ipv6FragmentRepr(IpProtocol.Icmpv6, off, more, 99).Write(p);
            data.CopyTo(p.AsSpan(8));
            return V6Frames.Ip(ib.HardwareAddress, A("2001:db8::a"), A("2001:db8::b"), IpProtocol.Ipv6Fragment, p);
        }
        int before = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Count;
        b.Receive(ib, Frag(0, true, echo.AsSpan(0, 24)), net.Now);
        b.Receive(ib, Frag(16, false, echo.AsSpan(16)), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.Equal(before, V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Count);
        Assert.Equal(1, b.Statistics.Drops(DropReason.Ipv6ReassemblyOverlap));
    }

    [Fact]
    public void Fragment_not_multiple_of_8_with_M_set_gets_parameter_problem_pointing_at_payload_length_RFC8200_4_5()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        var p = new byte[8 + 13];
        new Ipv6FragmentRepr(IpProtocol.Icmpv6, 0, true, 5).Write(p);
        V6Frames.EchoRequest(1, 1, 5, A("2001:db8::a"), A("2001:db8::b")).CopyTo(p, 8);
        b.Receive(ib, V6Frames.Ip(ib.HardwareAddress, A("2001:db8::a"), A("2001:db8::b"), IpProtocol.Ipv6Fragment, p), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        var pp = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Single(m => m.Type == Icmpv6Type.ParameterProblem);
        Assert.Equal(0, pp.Code);
        Expect.Segment(pp.Message, pp.Src, pp.Dst).Icmpv6(pointer: 4);
    }

    [Fact]
    public void Reassembly_timeout_sends_time_exceeded_code_1_when_the_first_fragment_came_RFC8200_4_5()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        var p = new byte[8 + 16];
        new Ipv6FragmentRepr(IpProtocol.Icmpv6, 0, true, 5).Write(p);
        V6Frames.EchoRequest(1, 1, 8, A("2001:db8::a"), A("2001:db8::b")).CopyTo(p, 8);
        b.Receive(ib, V6Frames.Ip(ib.HardwareAddress, A("2001:db8::a"), A("2001:db8::b"), IpProtocol.Ipv6Fragment, p), net.Now);
        net.Run(TimeSpan.FromSeconds(59));
        Assert.DoesNotContain(V6Frames.Icmpv6Sent(hub, hub.Devices[1]), m => m.Type == Icmpv6Type.TimeExceeded);
        net.Run(TimeSpan.FromSeconds(2));
        var te = V6Frames.Icmpv6Sent(hub, hub.Devices[1]).Single(m => m.Type == Icmpv6Type.TimeExceeded);
        Assert.Equal(1, te.Code);
    }

    [Fact]
    public void Error_is_never_sent_about_an_ICMPv6_error_RFC4443_2_4_e1()
    {
        var (net, hub, _, _, b, ib) = TwoHosts();
        // A Destination Unreachable inside a packet with an unknown destination option (action 10) would earn Param Problem, except it is an error.
        var err = new byte[8 + 48];
        err[0] = 1;
        byte[] payload = new byte[8 + err.Length];
        payload[0] = 58; payload[1] = 0; payload[2] = 0x80; payload[3] = 4;
        err.CopyTo(payload, 8);
        Icmpv6Packet.FillChecksum(payload.AsSpan(8), A("2001:db8::a"), A("2001:db8::b"));
        b.Receive(ib, V6Frames.Ip(ib.HardwareAddress, A("2001:db8::a"), A("2001:db8::b"), IpProtocol.Ipv6DestinationOptions, payload), net.Now);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(V6Frames.Icmpv6Sent(hub, hub.Devices[1]), m => m.Type == Icmpv6Type.ParameterProblem);
    }
}
