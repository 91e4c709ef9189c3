using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Sockets;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>IGMP through the whole stack: what goes on the wire for joins, leaves and queries, and receive filtering.</summary>
public class IgmpStackTests
{
    private static readonly Ipv4Address G = Ipv4Address.Parse("239.1.2.3");
    private static readonly Ipv4Address G2 = Ipv4Address.Parse("239.1.2.4");
    private static readonly byte[] RouterAlert = [0x94, 0x04, 0x00, 0x00];

    private sealed record Sent(Ipv4Address Src, Ipv4Address Dst, MacAddress DstMac, byte Ttl, byte Tos, bool RouterAlert, byte[] Igmp);

    private static List<Sent> Igmp(IEnumerable<byte[]> frames)
    {
        var list = new List<Sent>();
        foreach (var f in frames)
        {
            Assert.True(EthernetFrame.TryParse(f, out var eth, out _));
            if (eth.EtherType != EtherType.Ipv4 || !Ipv4Packet.TryParse(eth.Payload, out var ip, out _) || ip.Protocol != IpProtocol.Igmp) continue;
            Assert.True(ip.ChecksumValid);
            bool ra = false;
            foreach (var o in ip.EnumerateOptions()) ra |= o.Type == Ipv4OptionType.RouterAlert;
            list.Add(new Sent(ip.Source, ip.Destination, eth.Destination, ip.Ttl, ip.Tos, ra, ip.Payload.ToArray()));
        }
        return list;
    }

    private static List<(GroupRecordType Type, Ipv4Address Group)> Records(Sent s)
    {
        Assert.Equal(IgmpHost.AllIgmpv3Routers, s.Dst);
        Assert.True(Igmpv3Report.TryParse(s.Igmp, out var r, out var e), e.ToString());
        Assert.True(r.ChecksumValid);
        var list = new List<(GroupRecordType, Ipv4Address)>();
        foreach (var rec in r.Records)
        {
            Assert.Equal(0, rec.SourceCount);
            list.Add((rec.RecordType, rec.Group));
        }
        return list;
    }

    /// <summary>Runs the stack's timers for <paramref name="duration"/> and returns the IGMP it sent.</summary>
    private static List<Sent> Run(SingleHost h, TimeSpan duration) => Igmp(h.Advance(duration));

    private static SingleHost Joined(params Ipv4Address[] groups)
    {
        var h = new SingleHost();
        foreach (var g in groups) Assert.True(MulticastGroups.Join(h.Stack, h.Interface.Index, g, h.Now));
        Run(h, TimeSpan.FromSeconds(5));
        return h;
    }

    private static byte[] Query(IgmpRepr repr)
    {
        var b = new byte[repr.BufferLength];
        repr.Write(b);
        return b;
    }

    private static byte[] Query(Igmpv3QueryRepr repr)
    {
        var b = new byte[repr.BufferLength];
        repr.Write(b);
        return b;
    }

    private static void PushIgmp(SingleHost h, byte[] igmp, Ipv4Address? dst = null, byte ttl = 1, bool routerAlert = true)
    {
        var d = dst ?? IgmpHost.AllSystems;
        var opts = routerAlert ? RouterAlert : [];
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, d, IpProtocol.Igmp, igmp.Length, ttl, 0xC0, OptionsLength: opts.Length), igmp, opts),
            MacAddress.ForIpv4Multicast(d));
    }

    [Fact]
    public void Join_sends_an_IGMPv3_TO_EX_report_to_224_0_0_22_with_TTL_1_and_Router_Alert_twice_RFC3376_4_and_5_1()
    {
        var h = new SingleHost();
        Assert.True(MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G), h.Now));
        var sent = Run(h, TimeSpan.FromSeconds(3));
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s =>
        {
            Assert.Equal((Us, IgmpHost.AllIgmpv3Routers, MacAddress.ForIpv4Multicast(IgmpHost.AllIgmpv3Routers)), (s.Src, s.Dst, s.DstMac));
            Assert.Equal(1, s.Ttl);
            Assert.Equal(0xC0, s.Tos);
            Assert.True(s.RouterAlert);
            Assert.Equal([(GroupRecordType.ChangeToExcludeMode, G)], Records(s));
        });
        Assert.Equal(2, h.Stack.Statistics.IgmpSent);
    }

    [Fact]
    public void A_host_without_an_IPv4_address_reports_from_0_0_0_0_RFC3376_4_2_13()
    {
        var h = new SingleHost();
        Assert.True(h.Stack.Ipv4.RemoveAddress(Us));
        Assert.True(MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G), h.Now));
        var sent = Run(h, TimeSpan.FromSeconds(3));
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s =>
        {
            Assert.Equal((Ipv4Address.Any, IgmpHost.AllIgmpv3Routers), (s.Src, s.Dst));
            Assert.True(s.RouterAlert);
            Assert.Equal([(GroupRecordType.ChangeToExcludeMode, G)], Records(s));
        });
    }

    [Fact]
    public void Leave_sends_TO_IN()
    {
        var h = Joined(G);
        Assert.True(MulticastGroups.Leave(h.Stack, h.Interface.Index, new IpAddress(G), h.Now));
        var sent = Run(h, TimeSpan.FromSeconds(3));
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s => Assert.Equal([(GroupRecordType.ChangeToIncludeMode, G)], Records(s)));
        Assert.False(MulticastGroups.Leave(h.Stack, h.Interface.Index, new IpAddress(G), h.Now));
    }

    [Fact]
    public void General_query_is_answered_within_max_resp_time_with_current_state_records_RFC3376_5_2()
    {
        var h = Joined(G, G2);
        var q = h.Now;
        PushIgmp(h, Query(new Igmpv3QueryRepr(20, default, false, 2, 125, default))); // 2 s
        var sent = Run(h, TimeSpan.FromSeconds(2));
        var report = Assert.Single(sent);
        Assert.Equal(new[] { G, G2 }.Order(), Records(report).Where(r => r.Type == GroupRecordType.ModeIsExclude).Select(r => r.Group).Order());
        Assert.True(h.Now - q <= TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void Group_specific_query_is_answered_only_for_that_group()
    {
        var h = Joined(G, G2);
        PushIgmp(h, Query(new Igmpv3QueryRepr(10, G2, false, 2, 125, default)), dst: G2);
        var report = Assert.Single(Run(h, TimeSpan.FromSeconds(2)));
        Assert.Equal([(GroupRecordType.ModeIsExclude, G2)], Records(report));
    }

    [Fact]
    public void V2_query_switches_to_v2_reports_to_the_group_and_a_v2_leave_to_224_0_0_2_RFC2236_3()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new IgmpRepr(IgmpType.MembershipQuery, 10, default)));
        var report = Assert.Single(Run(h, TimeSpan.FromSeconds(2)));
        Assert.Equal((G, (byte)1, true), (report.Dst, report.Ttl, report.RouterAlert));
        Assert.True(IgmpMessage.TryParse(report.Igmp, out var m, out _));
        Assert.Equal((IgmpType.V2MembershipReport, G), (m.Type, m.Group));

        MulticastGroups.Leave(h.Stack, h.Interface.Index, new IpAddress(G), h.Now);
        var leave = Assert.Single(Run(h, TimeSpan.FromSeconds(20)));
        Assert.Equal(IgmpHost.AllRouters, leave.Dst);
        Assert.True(IgmpMessage.TryParse(leave.Igmp, out m, out _));
        Assert.Equal((IgmpType.V2LeaveGroup, G), (m.Type, m.Group));
    }

    [Fact]
    public void V1_query_switches_to_v1_reports_and_no_leave_RFC3376_7_2_1()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new IgmpRepr(IgmpType.MembershipQuery, 0, default)), routerAlert: false); // v1 queriers know no Router Alert
        var report = Assert.Single(Run(h, TimeSpan.FromSeconds(10)));
        Assert.True(IgmpMessage.TryParse(report.Igmp, out var m, out _));
        Assert.Equal((IgmpType.V1MembershipReport, G), (m.Type, m.Group));
        Assert.Equal(G, report.Dst);
        MulticastGroups.Leave(h.Stack, h.Interface.Index, new IpAddress(G), h.Now);
        Assert.Empty(Run(h, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void Compatibility_mode_expires_back_to_IGMPv3_RFC3376_7_2_1()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new IgmpRepr(IgmpType.MembershipQuery, 10, default)));
        Run(h, TimeSpan.FromSeconds(300)); // past 2 * 125 s + 1 s
        MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G2), h.Now);
        var sent = Run(h, TimeSpan.FromSeconds(3));
        Assert.Equal(2, sent.Count);
        Assert.All(sent, s => Assert.Equal([(GroupRecordType.ChangeToExcludeMode, G2)], Records(s)));
    }

    private static (SingleHost Host, RecordingTransport Udp) HostWithUdp()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        return (h, udp);
    }

    [Fact]
    public void Datagram_to_a_group_not_joined_is_not_delivered_RFC1112_6_4()
    {
        var (h, udp) = HostWithUdp();
        h.PushIp(Udp(Peer, G, 8), MacAddress.ForIpv4Multicast(G));
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4MulticastNotJoined));
    }

    [Fact]
    public void Datagram_to_a_joined_group_is_delivered_until_the_group_is_left()
    {
        var (h, udp) = HostWithUdp();
        MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G), h.Now);
        h.PushIp(Udp(Peer, G, 8), MacAddress.ForIpv4Multicast(G));
        Assert.True(Assert.Single(udp.Received).Info.IsBroadcastOrMulticast);
        MulticastGroups.Leave(h.Stack, h.Interface.Index, new IpAddress(G), h.Now);
        h.PushIp(Udp(Peer, G, 8), MacAddress.ForIpv4Multicast(G));
        Assert.Single(udp.Received);
    }

    [Fact]
    public void All_systems_datagrams_are_delivered_without_a_join_RFC1112_6_4()
    {
        var (h, udp) = HostWithUdp();
        h.PushIp(Udp(Peer, IgmpHost.AllSystems, 8), MacAddress.ForIpv4Multicast(IgmpHost.AllSystems));
        Assert.Single(udp.Received);
    }

    [Fact]
    public void A_forwarding_interface_also_hears_all_routers()
    {
        var (h, udp) = HostWithUdp();
        h.Stack.Ipv4.SetForwarding(h.Interface.Index, true);
        h.PushIp(Udp(Peer, IgmpHost.AllRouters, 8), MacAddress.ForIpv4Multicast(IgmpHost.AllRouters));
        Assert.Single(udp.Received);
    }

    [Fact]
    public void Joining_beyond_the_group_limit_is_refused_and_counted()
    {
        var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, MaxMulticastGroupsPerInterface = 1 });
        Assert.True(MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G), h.Now));
        Assert.False(MulticastGroups.Join(h.Stack, h.Interface.Index, new IpAddress(G2), h.Now));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpGroupTableFull));
    }

    [Fact]
    public void A_truncated_query_is_a_counted_drop()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new IgmpRepr(IgmpType.MembershipQuery, 10, default))[..6]);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpInvalid));
        Assert.Empty(Run(h, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_query_with_a_bad_checksum_is_a_counted_drop_RFC3376_4_1_2()
    {
        var h = Joined(G);
        var q = Query(new Igmpv3QueryRepr(10, default, false, 2, 125, default));
        q[3] ^= 1;
        PushIgmp(h, q);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpBadChecksum));
        Assert.Empty(Run(h, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_query_announcing_more_sources_than_it_holds_is_a_counted_drop()
    {
        var h = Joined(G);
        var q = Query(new Igmpv3QueryRepr(10, G, false, 2, 125, new[] { Peer }));
        q[10] = 0xFF;
        q[11] = 0xFF; // 65535 sources in 16 bytes
        IgmpMessage.FillChecksum(q);
        PushIgmp(h, q, dst: G);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpInvalid));
        Assert.Empty(Run(h, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_query_with_a_huge_valid_source_list_is_answered_with_a_bounded_record_RFC3376_9_1()
    {
        var h = Joined(G);
        var sources = Enumerable.Range(0, 300).Select(i => new Ipv4Address(0xC6336400u + (uint)i)).ToArray();
        PushIgmp(h, Query(new Igmpv3QueryRepr(10, G, false, 2, 125, sources)), dst: G);
        var report = Assert.Single(Run(h, TimeSpan.FromSeconds(2)));
        Assert.True(Igmpv3Report.TryParse(report.Igmp, out var r, out _));
        foreach (var rec in r.Records) Assert.Equal(IgmpHost.MaxQuerySources, rec.SourceCount);
    }

    [Theory]
    [InlineData(2, true)]      // TTL other than 1 (RFC 3376 §4)
    [InlineData(1, false)]     // a v3 query without Router Alert (RFC 3376 §9.1)
    public void Queries_that_break_the_sending_rules_are_ignored_and_counted(byte ttl, bool routerAlert)
    {
        var h = Joined(G);
        PushIgmp(h, Query(new Igmpv3QueryRepr(10, default, false, 2, 125, default)), ttl: ttl, routerAlert: routerAlert);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpInvalid));
        Assert.Empty(Run(h, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_general_query_not_sent_to_all_systems_is_ignored_RFC3376_9_1()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new Igmpv3QueryRepr(10, default, false, 2, 125, default)), dst: G);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.IgmpInvalid));
        Assert.Empty(Run(h, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void IGMP_is_never_answered_with_protocol_unreachable()
    {
        var h = Joined(G);
        PushIgmp(h, Query(new IgmpRepr(IgmpType.V2MembershipReport, 0, G)), dst: G);
        Assert.Equal(0, h.Stack.Statistics.Drops(DropReason.UnknownProtocol));
        Assert.Equal(0, h.Stack.Statistics.IcmpSent);
    }
}
