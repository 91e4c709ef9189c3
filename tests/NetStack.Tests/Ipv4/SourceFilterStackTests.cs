using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Sockets;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Support;
using NetStack.Transport.Udp;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// Source-specific multicast through the whole IPv4 stack (RFC 3376 §3, §5; API shape of RFC 3678): the IGMPv3 reports
/// with sources on the wire, receive filtering at the interface, loopback, validation, limits, and tshark's dissection.
/// </summary>
public sealed class SourceFilterStackTests : IDisposable
{
    private static readonly Ipv4Address G = Ipv4Address.Parse("232.1.1.1");
    private static readonly Ipv4Address Other = Ipv4Address.Parse("192.0.2.3");
    private static readonly MacAddress GroupMac = MacAddress.ForIpv4Multicast(G);
    private static readonly byte[] RouterAlert = [0x94, 0x04, 0x00, 0x00];
    private readonly string _pcap = Path.Combine(Path.GetTempPath(), $"netstack-ssm4-{Guid.NewGuid():N}.pcap");

    public void Dispose() => File.Delete(_pcap);

    private static (SingleHost H, RecordingTransport Udp) HostWithUdp()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        return (h, udp);
    }

    private static IpAddress A(Ipv4Address a) => new(a);

    /// <summary>The IGMPv3 records of the reports among <paramref name="frames"/>.</summary>
    private static List<(GroupRecordType Type, Ipv4Address Group, Ipv4Address[] Sources)> V3Records(IEnumerable<byte[]> frames)
    {
        var list = new List<(GroupRecordType, Ipv4Address, Ipv4Address[])>();
        foreach (var f in frames)
        {
            if (Frames.IpOf(f) is not { } packet || !Ipv4Packet.TryParse(packet, out var ip, out _) || ip.Protocol != IpProtocol.Igmp) continue;
            Assert.Equal(IgmpHost.AllIgmpv3Routers, ip.Destination);
            Assert.True(Igmpv3Report.TryParse(ip.Payload, out var r, out var e), e.ToString());
            Assert.True(r.ChecksumValid);
            foreach (var rec in r.Records)
            {
                var sources = new Ipv4Address[rec.SourceCount];
                for (int i = 0; i < sources.Length; i++) sources[i] = rec.Source(i);
                list.Add((rec.RecordType, rec.Group, sources));
            }
        }
        return list;
    }

    private static string Describe((GroupRecordType Type, Ipv4Address Group, Ipv4Address[] Sources) r) =>
        $"{r.Type} {r.Group} {string.Join(' ', r.Sources)}".TrimEnd();

    /// <summary>Runs the stack's timers for <paramref name="duration"/> and returns what it sent.</summary>
    private static List<byte[]> RunFor(SingleHost h, TimeSpan duration) => h.Advance(duration);

    [Fact]
    public void JoinSource_sends_an_IGMPv3_ALLOW_record_with_the_source_twice_RFC3376_5_1()
    {
        var h = new SingleHost();
        Assert.True(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now));
        var records = V3Records(RunFor(h, TimeSpan.FromSeconds(3)));
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal($"AllowNewSources {G} {Peer}", Describe(r)));
    }

    [Fact]
    public void BlockSource_sends_BLOCK_and_UnblockSource_ALLOW_RFC3376_5_1()
    {
        var h = new SingleHost();
        MulticastGroups.Join(h.Stack, h.Interface.Index, A(G), h.Now);
        RunFor(h, TimeSpan.FromSeconds(3));
        Assert.True(MulticastGroups.BlockSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now));
        var blocked = V3Records(RunFor(h, TimeSpan.FromSeconds(3)));
        Assert.All(blocked, r => Assert.Equal($"BlockOldSources {G} {Other}", Describe(r)));
        Assert.Equal(2, blocked.Count);
        Assert.True(MulticastGroups.UnblockSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now));
        Assert.Equal($"AllowNewSources {G} {Other}", Describe(V3Records(RunFor(h, TimeSpan.FromSeconds(3)))[0]));
    }

    [Fact]
    public void A_datagram_from_an_included_source_is_delivered_and_one_from_another_is_not_RFC3376_3_2()
    {
        var (h, udp) = HostWithUdp();
        Assert.True(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now));
        h.PushIp(Udp(Peer, G, 8), GroupMac);
        h.PushIp(Udp(Other, G, 8), GroupMac);
        Assert.Equal(new IpAddress(Peer), Assert.Single(udp.Received).Info.Source);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.MulticastSourceFiltered));
    }

    [Fact]
    public void In_EXCLUDE_mode_a_blocked_source_is_filtered_and_the_others_delivered_RFC3376_3_2()
    {
        var (h, udp) = HostWithUdp();
        MulticastGroups.Join(h.Stack, h.Interface.Index, A(G), h.Now);
        Assert.True(MulticastGroups.BlockSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now));
        h.PushIp(Udp(Other, G, 8), GroupMac);
        h.PushIp(Udp(Peer, G, 8), GroupMac);
        Assert.Equal(new IpAddress(Peer), Assert.Single(udp.Received).Info.Source);
        MulticastGroups.UnblockSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now);
        h.PushIp(Udp(Other, G, 8), GroupMac);
        Assert.Equal(2, udp.Received.Count);
    }

    [Fact]
    public void Leaving_the_source_stops_its_datagrams()
    {
        var (h, udp) = HostWithUdp();
        MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now);
        Assert.True(MulticastGroups.LeaveSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now));
        h.PushIp(Udp(Peer, G, 8), GroupMac);
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4MulticastNotJoined));
    }

    [Fact]
    public void A_group_and_source_query_from_a_router_outside_the_filter_is_still_answered_RFC3376_5_2()
    {
        // Queries come from the querier, to the group for group-specific ones: IGMP is not source-filtered.
        var h = new SingleHost();
        MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now);
        RunFor(h, TimeSpan.FromSeconds(3));
        var q = new Igmpv3QueryRepr(10, G, false, 2, 125, new[] { Other, Peer });
        var igmp = new byte[q.BufferLength];
        q.Write(igmp);
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, G, IpProtocol.Igmp, igmp.Length, 1, 0xC0, OptionsLength: 4), igmp, RouterAlert), GroupMac);
        var answer = Assert.Single(V3Records(RunFor(h, TimeSpan.FromSeconds(2))));
        Assert.Equal($"ModeIsInclude {G} {Other}", Describe(answer));
    }

    [Fact]
    public void Our_own_datagram_is_looped_back_only_when_the_filter_accepts_our_address_RFC3376_3_2()
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        using var receiver = udp.Bind(new IpEndpoint(Ipv4Address.Any, 5000));
        using var sender = udp.Bind(new IpEndpoint(Us, 0));
        MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now);
        sender.Send([1], new IpEndpoint(G, 5000), IpSendOptions.Default, h.Now);
        Assert.False(receiver.TryReceive(new byte[8], out _, out _));
        MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Us), h.Now);
        sender.Send([2], new IpEndpoint(G, 5000), IpSendOptions.Default, h.Now);
        Assert.True(receiver.TryReceive(new byte[8], out _, out int n));
        Assert.Equal(1, n);
    }

    [Theory]
    [InlineData("192.0.2.9", "192.0.2.2")]   // the group is not multicast
    [InlineData("232.1.1.1", "232.1.1.2")]   // the source is multicast
    [InlineData("232.1.1.1", "0.0.0.0")]     // the source is unspecified
    [InlineData("232.1.1.1", "255.255.255.255")]
    [InlineData("232.1.1.1", "2001:db8::1")] // another family
    public void Invalid_group_or_source_is_refused_RFC3678_4_1_3(string group, string source)
    {
        var h = new SingleHost();
        var g = IpAddress.FromIPAddress(System.Net.IPAddress.Parse(group));
        var s = IpAddress.FromIPAddress(System.Net.IPAddress.Parse(source));
        Assert.False(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, g, s, h.Now));
        MulticastGroups.Join(h.Stack, h.Interface.Index, A(G), h.Now);
        Assert.False(MulticastGroups.BlockSource(h.Stack, h.Interface.Index, g, s, h.Now));
        Assert.False(MulticastGroups.JoinSource(h.Stack, 7, A(G), A(Peer), h.Now)); // no such interface
    }

    [Fact]
    public void Sources_beyond_the_setting_are_refused_and_counted()
    {
        var h = new SingleHost(new Ipv4Settings { GratuitousArpCount = 0, MaxMulticastSourcesPerGroup = 2 });
        Assert.True(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now));
        Assert.True(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now));
        Assert.False(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), new IpAddress(Ipv4Address.Parse("192.0.2.4")), h.Now));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.MulticastSourceLimit));
    }

    [Fact]
    public void Many_records_with_sources_are_split_over_reports_that_fit_the_MTU_RFC3376_4_2_16()
    {
        var h = new SingleHost(mtu: 576);
        for (int g = 0; g < 8; g++)
        {
            var group = A(new Ipv4Address(232, 1, 1, (byte)(10 + g)));
            for (int s = 0; s < 20; s++) Assert.True(MulticastGroups.JoinSource(h.Stack, h.Interface.Index, group, A(new Ipv4Address(198, 51, 100, (byte)s)), h.Now));
        }
        var frames = h.Advance(TimeSpan.Zero);
        Assert.True(frames.Count > 1);
        Assert.All(frames, f => Assert.True(f.Length <= 576 + 14));
        Assert.Equal(8, V3Records(frames).Count);
    }

    [Fact]
    public void Tshark_dissects_our_reports_with_sources_cleanly()
    {
        var h = new SingleHost();
        var frames = new List<byte[]>();
        MulticastGroups.JoinSource(h.Stack, h.Interface.Index, A(G), A(Peer), h.Now);        // ALLOW {Peer}
        frames.AddRange(h.Advance(TimeSpan.Zero));
        MulticastGroups.Join(h.Stack, h.Interface.Index, A(G), h.Now);                       // TO_EX {}
        MulticastGroups.BlockSource(h.Stack, h.Interface.Index, A(G), A(Other), h.Now);     // TO_EX {Other}
        frames.AddRange(RunFor(h, TimeSpan.FromSeconds(5)));
        MulticastGroups.Leave(h.Stack, h.Interface.Index, A(G), h.Now);                      // TO_IN {Peer}
        frames.AddRange(RunFor(h, TimeSpan.FromSeconds(5)));
        var igmp = frames.Where(f => Frames.IpOf(f) is { } p && Ipv4Packet.TryParse(p, out var ip, out _) && ip.Protocol == IpProtocol.Igmp).ToList();
        using (var w = new PcapWriter(File.Create(_pcap), Medium.Ethernet))
            foreach (var f in igmp) w.Write(f, h.Now);

        var rows = Tshark.Fields(_pcap, ["igmp.version", "igmp.checksum.status", "igmp.record_type", "igmp.num_src", "igmp.saddr", "_ws.malformed", "_ws.expert.severity"],
            "igmp");
        Assert.Equal(igmp.Count, rows.Count);
        var ours = V3Records(igmp);
        int k = 0;
        foreach (var (_, row) in rows.OrderBy(r => r.Key))
        {
            Assert.Equal("3", row[0]);
            Assert.Equal("1", row[1]); // checksum good
            Assert.Equal("", row[5]);   // not malformed
            var types = row[2].Split(',');
            var counts = row[3].Split(',');
            for (int i = 0; i < types.Length; i++, k++)
            {
                Assert.Equal((int)ours[k].Type, (int)Tshark.Number(types[i]));
                Assert.Equal(ours[k].Sources.Length, (int)Tshark.Number(counts[i]));
            }
            foreach (var s in row[4].Split(',', StringSplitOptions.RemoveEmptyEntries))
                Assert.Contains(Ipv4Address.Parse(s), ours.SelectMany(r => r.Sources));
        }
        Assert.Equal(ours.Count, k);
        Assert.Contains(ours, r => r.Type == GroupRecordType.AllowNewSources && r.Sources.SequenceEqual([Peer]));
        Assert.Contains(ours, r => r.Type == GroupRecordType.ChangeToExcludeMode && r.Sources.SequenceEqual([Other]));
        Assert.Contains(ours, r => r.Type == GroupRecordType.ChangeToIncludeMode && r.Sources.SequenceEqual([Peer]));
    }
}
