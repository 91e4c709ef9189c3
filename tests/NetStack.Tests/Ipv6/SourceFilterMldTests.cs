using NetStack.Link;
using NetStack.Simulation;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Sockets;
using NetStack.Tests.Ipv6.Support;
using NetStack.Tests.Support;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>
/// Source-specific multicast for IPv6 through the whole stack (RFC 3810 §4, §6; API shape of RFC 3678 §5): MLDv2
/// reports with sources, query answers, receive filtering at the interface, and tshark's dissection.
/// </summary>
public sealed class SourceFilterMldTests : IDisposable
{
    private static readonly Ipv6Address G = Ipv6Address.Parse("ff3e::1234");
    private static readonly Ipv6Address Us = Ipv6Address.Parse("2001:db8::b");
    private static readonly Ipv6Address S1 = Ipv6Address.Parse("2001:db8::10");
    private static readonly Ipv6Address S2 = Ipv6Address.Parse("2001:db8::11");
    private static readonly Ipv6Address Router = Ipv6Address.Parse("fe80::1");
    private readonly string _pcap = Path.Combine(Path.GetTempPath(), $"netstack-ssm6-{Guid.NewGuid():N}.pcap");

    public void Dispose() => File.Delete(_pcap);

    private sealed record Lab(SimLan Net, SimSegment Hub, NetworkStack Stack, NetworkInterface Interface, FrameTap Peer);

    private static Lab NewLab()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(11);
        var i = net.Attach(s, hub, 1, new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        var peer = net.Peer(hub, V6Frames.PeerMac); // the test plays a peer on the segment
        net.Run(TimeSpan.FromSeconds(5));
        hub.Log.Clear();
        return new Lab(net, hub, s, i, peer);
    }

    private static IpAddress A(Ipv6Address a) => new(a);

    private static LinkEndpoint Ours(Lab lab) => lab.Hub.Devices[0];

    /// <summary>"Type group source source" per MLDv2 record our stack sent since the log was last cleared.</summary>
    private static List<string> Records(Lab lab)
    {
        var list = new List<string>();
        foreach (var m in V6Frames.Icmpv6Sent(lab.Hub, Ours(lab)))
        {
            if (m.Type != Icmpv6Type.Mldv2Report) continue;
            Assert.Equal(Ipv6Address.AllMldv2Routers, m.Dst);
            Assert.True(Mldv2Report.TryParse(m.Message, out var r, out var e), e.ToString());
            foreach (var rec in r.Records)
            {
                if (rec.MulticastAddress != G) continue;
                var sources = new List<string>();
                for (int k = 0; k < rec.SourceCount; k++) sources.Add(rec.Source(k).ToString());
                list.Add($"{rec.RecordType} {string.Join(' ', sources)}".TrimEnd());
            }
        }
        return list;
    }

    private static void SendUdp(Lab lab, Ipv6Address src, int port)
    {
        var udp = new byte[8 + 4];
        new UdpRepr(4000, (ushort)port, 4).Write(udp, new IpAddress(src), new IpAddress(G));
        lab.Peer.Inject(V6Frames.Ip(MacAddress.ForIpv6Multicast(G), src, G, IpProtocol.Udp, udp), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromMilliseconds(10));
    }

    [Fact]
    public void JoinSource_sends_an_MLDv2_ALLOW_record_with_the_source_twice_RFC3810_6_1()
    {
        var lab = NewLab();
        Assert.True(MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now));
        lab.Net.Run(TimeSpan.FromSeconds(3));
        Assert.Equal([$"AllowNewSources {S1}", $"AllowNewSources {S1}"], Records(lab));
    }

    [Fact]
    public void Leaving_the_last_source_sends_BLOCK_RFC3810_6_1()
    {
        var lab = NewLab();
        MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(3));
        lab.Hub.Log.Clear();
        Assert.True(MulticastGroups.LeaveSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now));
        lab.Net.Run(TimeSpan.FromSeconds(3));
        Assert.Equal([$"BlockOldSources {S1}", $"BlockOldSources {S1}"], Records(lab));
    }

    [Fact]
    public void A_datagram_from_the_included_source_is_delivered_and_one_from_another_is_not_RFC3810_4_2()
    {
        var lab = NewLab();
        using var socket = new UdpLayer(lab.Stack).Bind(new IpEndpoint(Ipv6Address.Unspecified, 9000));
        MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now);
        SendUdp(lab, S2, 9000);
        SendUdp(lab, S1, 9000);
        Assert.True(socket.TryReceive(new byte[16], out var info, out _));
        Assert.Equal(new IpAddress(S1), info.Remote.Address);
        Assert.False(socket.TryReceive(new byte[16], out _, out _));
        Assert.Equal(1, lab.Stack.Statistics.Drops(DropReason.MulticastSourceFiltered));
    }

    [Fact]
    public void In_EXCLUDE_mode_a_blocked_source_is_filtered_RFC3810_4_2()
    {
        var lab = NewLab();
        using var socket = new UdpLayer(lab.Stack).Bind(new IpEndpoint(Ipv6Address.Unspecified, 9000));
        MulticastGroups.Join(lab.Stack, lab.Interface.Index, A(G), lab.Net.Now);
        Assert.True(MulticastGroups.BlockSource(lab.Stack, lab.Interface.Index, A(G), A(S2), lab.Net.Now));
        SendUdp(lab, S2, 9000);
        SendUdp(lab, S1, 9000);
        Assert.True(socket.TryReceive(new byte[16], out var info, out _));
        Assert.Equal(new IpAddress(S1), info.Remote.Address);
        Assert.False(socket.TryReceive(new byte[16], out _, out _));
    }

    [Fact]
    public void A_group_and_source_query_is_answered_IS_IN_of_the_wanted_queried_sources_RFC3810_6_3()
    {
        var lab = NewLab();
        MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(3));
        lab.Hub.Log.Clear();
        var q = new Mldv2QueryRepr(1000, G, false, 2, 125, new[] { S1, S2 });
        var icmp = new byte[q.BufferLength];
        q.Write(icmp, Router, G);
        lab.Peer.Inject(V6Frames.Ip(MacAddress.ForIpv6Multicast(G), Router, G, IpProtocol.Icmpv6, icmp, hop: 1), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(2));
        Assert.Equal([$"ModeIsInclude {S1}"], Records(lab));
    }

    [Fact]
    public void Mismatched_families_are_refused_RFC3678_5_1()
    {
        var lab = NewLab();
        Assert.False(MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), new IpAddress(Ipv4Address.Parse("192.0.2.1")), lab.Net.Now));
        Assert.False(MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(Ipv6Address.Parse("ff02::1")), lab.Net.Now));
        Assert.False(MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(Ipv6Address.Unspecified), lab.Net.Now));
    }

    [Fact]
    public void Sources_beyond_the_setting_are_refused_and_counted()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(12, new StackOptions { Ipv6 = new Ipv6Settings { MaxMulticastSourcesPerGroup = 1 } });
        var i = net.Attach(s, hub, 1);
        Assert.True(MulticastGroups.JoinSource(s, i.Index, A(G), A(S1), net.Now));
        Assert.False(MulticastGroups.JoinSource(s, i.Index, A(G), A(S2), net.Now));
        Assert.Equal(1, s.Statistics.Drops(DropReason.MulticastSourceLimit));
    }

    [Fact]
    public void Joins_beyond_the_group_table_are_refused_and_counted()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var s = net.AddStack(13, new StackOptions { Ipv6 = new Ipv6Settings { MaxMulticastGroupsPerInterface = 4 } });
        var i = net.Attach(s, hub, 1);
        int joined = 0;
        while (joined < 8 && MulticastGroups.Join(s, i.Index, A(Ipv6Address.Parse($"ff3e::{joined + 1:x}")), net.Now)) joined++;
        Assert.InRange(joined, 1, 3); // the solicited-node groups take their places too
        Assert.Equal(1, s.Statistics.Drops(DropReason.MldGroupTableFull));
        Assert.False(MulticastGroups.JoinSource(s, i.Index, A(G), A(S1), net.Now));
        Assert.Equal(2, s.Statistics.Drops(DropReason.MldGroupTableFull));
    }

    [Fact]
    public void Tshark_dissects_our_MLDv2_reports_with_sources_cleanly()
    {
        var lab = NewLab();
        MulticastGroups.JoinSource(lab.Stack, lab.Interface.Index, A(G), A(S1), lab.Net.Now); // ALLOW {S1}
        lab.Net.Run(TimeSpan.FromSeconds(3));
        // Both changes before the next poll: one merged report, TO_EX {S2}, sent [Robustness Variable] times.
        MulticastGroups.Join(lab.Stack, lab.Interface.Index, A(G), lab.Net.Now);
        MulticastGroups.BlockSource(lab.Stack, lab.Interface.Index, A(G), A(S2), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(3));
        var frames = lab.Hub.Log.Where(e => e.From == Ours(lab)).Select(e => e.Frame).ToList();
        using (var w = new PcapWriter(File.Create(_pcap), Medium.Ethernet))
            foreach (var f in frames) w.Write(f, lab.Net.Now);
        var rows = Tshark.Fields(_pcap, ["icmpv6.checksum.status", "icmpv6.mldr.mar.record_type", "icmpv6.mldr.mar.nb_sources",
            "icmpv6.mldr.mar.multicast_address", "icmpv6.mldr.mar.source_address", "_ws.malformed"], "icmpv6.type == 143");
        var ours = Records(lab);
        Assert.Equal([$"AllowNewSources {S1}", $"AllowNewSources {S1}", $"ChangeToExcludeMode {S2}", $"ChangeToExcludeMode {S2}"], ours);
        var theirs = new List<string>();
        foreach (var (_, row) in rows.OrderBy(r => r.Key))
        {
            Assert.Equal("1", row[0]); // checksum good
            Assert.Equal("", row[5]);  // not malformed
            var types = row[1].Split(',');
            var groups = row[3].Split(',');
            var sources = new Queue<string>(row[4].Split(',', StringSplitOptions.RemoveEmptyEntries));
            var counts = row[2].Split(',');
            for (int i = 0; i < types.Length; i++)
            {
                var srcs = Enumerable.Range(0, (int)Tshark.Number(counts[i])).Select(_ => Ipv6Address.Parse(sources.Dequeue()).ToString());
                if (Ipv6Address.Parse(groups[i]) == G)
                    theirs.Add($"{(GroupRecordType)Tshark.Number(types[i])} {string.Join(' ', srcs)}".TrimEnd());
            }
        }
        Assert.Equal(ours, theirs);
    }
    [Fact]
    public void In_MLDv1_mode_a_source_join_is_a_v1_report_and_leaving_its_last_source_a_Done_RFC3810_8_3_1()
    {
        var l = new MldListener(new SeededRandom(21), 16);
        var t0 = Instant.FromSeconds(10);
        l.OnQuery(Ipv6Address.Unspecified, TimeSpan.FromMilliseconds(1), true, 0, TimeSpan.Zero, t0);
        var t = t0 + TimeSpan.FromSeconds(1);
        Assert.Equal(FilterChangeResult.Done, l.JoinSource(G, S1, t));
        var sent = new List<MldOutput>();
        for (var d = l.NextDeadline; d <= t + TimeSpan.FromSeconds(30); d = l.NextDeadline) l.Poll(d, sent);
        Assert.Equal(2, sent.Count);
        Assert.All(sent, m => Assert.Equal(new MldOutput(MldMessageKind.V1Report, G, default), m));
        sent.Clear();
        var u = t + TimeSpan.FromSeconds(31);
        l.LeaveSource(G, S1, u);
        for (var d = l.NextDeadline; d <= u + TimeSpan.FromSeconds(30); d = l.NextDeadline) l.Poll(d, sent);
        Assert.Equal([new MldOutput(MldMessageKind.V1Done, G, default)], sent);
    }
}
