using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>Third-party captures (pcaps/MANIFEST.tsv) replayed into a stack that plays one of their hosts.</summary>
public class PcapReplayTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    private sealed class Replay
    {
        public SimLan Net { get; } = new();
        public SimSegment Hub { get; }
        public NetworkStack Stack { get; }
        public NetworkInterface Iface { get; }
        public MacAddress Mac { get; }
        public Dictionary<Ipv6Address, MacAddress> Peers { get; } = [];

        public Replay(string mac, string[] addresses, bool slaac = false, Ipv6Address? gateway = null)
        {
            Hub = Net.AddSegment();
            Mac = MacAddress.Parse(mac);
            Stack = Net.AddStack(42, new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0, InterfaceIdentifiers = InterfaceIdentifierMode.ModifiedEui64 } });
            Iface = Stack.AddInterface(Net.Port(Stack, Hub, Mac), new InterfaceConfig
            {
                EnableIpv4 = false,
                Slaac = slaac,
                Ipv6Addresses = addresses.Select(Ipv6Cidr.Parse).ToArray(),
                Ipv6Gateway = gateway,
            }, Net.Now);
        }

        /// <summary>Feeds every frame not sent by our MAC; answers our solicitations for known peers with advertisements.</summary>
        public void Play(string file)
        {
            foreach (var f in ClassicPcap.Read(file))
            {
                if (EthernetFrame.TryParse(f, out var eth, out _) && eth.Source == Mac) continue;
                Stack.Receive(Iface, f, Net.Now);
                AnswerSolicitations();
                Net.Run(TimeSpan.FromMilliseconds(10));
                AnswerSolicitations();
            }
            Net.Run(TimeSpan.FromSeconds(1));
            AnswerSolicitations();
            Net.Run(TimeSpan.FromSeconds(1));
        }

        private int _seen;

        private void AnswerSolicitations()
        {
            var sent = V6Frames.Icmpv6Sent(Hub, Hub.Devices[0]);
            for (; _seen < sent.Count; _seen++)
            {
                var m = sent[_seen];
                if (m.Type != Icmpv6Type.NeighborSolicitation || m.Src.IsUnspecified) continue;
                if (!NdpMessage.TryParse(m.Message, out var ns, out _) || !Peers.TryGetValue(ns.TargetAddress, out var peerMac)) continue;
                var na = new NeighborAdvertisementRepr(false, true, true, ns.TargetAddress, new[] { NdpOptionRepr.TargetLinkLayer(peerMac) });
                var body = new byte[na.BufferLength];
                na.Write(body, ns.TargetAddress, m.Src);
                var frame = V6Frames.Ip(Mac, ns.TargetAddress, m.Src, IpProtocol.Icmpv6, body, 255, peerMac);
                Stack.Receive(Iface, frame, Net.Now);
            }
        }

        public List<(Icmpv6Type Type, byte Code, byte[] Message, Ipv6Address Src, Ipv6Address Dst, byte HopLimit)> Sent =>
            V6Frames.Icmpv6Sent(Hub, Hub.Devices[0]);
    }

    [Fact]
    public void Suricata_malformed_fragments_get_no_reply_and_counted_overlap_drops_RFC5722()
    {
        var r = new Replay("64:00:6a:5b:8f:4a", ["2001:db8:1::1/64"]);
        r.Peers[A("2001:db8:1::2")] = MacAddress.Parse("00:23:55:9c:73:26");
        r.Play("suri-ipv6-malformed-fragments-1.pcap");
        // The two plain echo requests (frames 1 and 10) are answered; the overlapping fragmented one is not.
        var replies = r.Sent.Where(m => m.Type == Icmpv6Type.EchoReply).ToList();
        Assert.Equal(2, replies.Count);
        Assert.All(replies, m => Assert.Equal(18, m.Message.Length));
        Assert.DoesNotContain(r.Sent, m => Icmpv6Packet.IsErrorType((byte)m.Type));
        Assert.True(r.Stack.Statistics.Drops(DropReason.Ipv6ReassemblyOverlap) >= 1);
        Assert.Equal(0, r.Stack.Statistics.FragmentsReassembled);
    }

    [Fact]
    public void Suricata_covert_destination_options_with_skippable_unknown_option_are_answered_RFC8200_4_2()
    {
        var router = A("fe80::6600:6aff:fe5b:8eb3");
        var r = new Replay("64:00:6a:5b:8f:4a", ["2001:db8:1::1/64"], gateway: router);
        r.Peers[router] = MacAddress.Parse("64:00:6a:5b:8e:b3");
        r.Play("suri-ipv6-covert-dstopts.pcap");
        var replies = r.Sent.Where(m => m.Type == Icmpv6Type.EchoReply).ToList();
        Assert.Equal(18, replies.Count);
        Assert.All(replies, m => Assert.Equal(A("2001:db8:2:0:8e16:45ff:fee5:5ba2"), m.Dst));
    }

    [Fact]
    public void Zeek_truncated_extension_header_is_a_counted_drop()
    {
        var r = new Replay("00:e0:81:52:9a:6b", ["2001:4f8:4:7:2e0:81ff:fe52:9a6b/64"]);
        long before = r.Stack.Statistics.TotalDrops;
        r.Play("zeek-ip6-ext-trunc.pcap");
        Assert.DoesNotContain(r.Sent, m => Icmpv6Packet.IsErrorType((byte)m.Type));
        Assert.True(r.Stack.Statistics.TotalDrops > before);
    }

    [Fact]
    public void Zeek_routing_header_type_0_sent_to_link_broadcast_earns_no_error_RFC4443_2_4_e3()
    {
        var r = new Replay("00:e0:81:52:9a:6b", ["2001:4f8:4:7:2e0:81ff:fe52:9a6b/64", "2001:78:1:32::2/64"]);
        r.Play("zeek-ipv6-hbh-routing0.pcap");
        Assert.DoesNotContain(r.Sent, m => Icmpv6Packet.IsErrorType((byte)m.Type));
    }

    [Fact]
    public void Tcpdump_routing_header_type_0_with_segments_left_gets_parameter_problem_at_routing_type_RFC8200_4_4()
    {
        var r = new Replay("00:13:c4:c7:84:f0", ["2200::240:2:0:0:4/16"]);
        r.Peers[A("2200::244:212:3fff:feae:22f7")] = MacAddress.Parse("00:12:3f:ae:22:f7");
        r.Play("tcpdump-ipv6-routing-header.pcap");
        var pp = r.Sent.Where(m => m.Type == Icmpv6Type.ParameterProblem).ToList();
        Assert.True(pp.Count > 0, string.Join(", ", r.Stack.Statistics.NonZeroDrops()) + " sent: " + string.Join(",", r.Sent.Select(m => m.Type + ">" + m.Dst)));
        Assert.All(pp, m =>
        {
            Assert.Equal(0, m.Code);
            Assert.True(Icmpv6Packet.TryParse(m.Message, out var icmp, out _));
            Assert.True(Ipv6Packet.TryParseQuoted(icmp.InvokingPacket, out var q, out _));
            Assert.True(Ipv6HeaderChain.TryParse(q.Bytes, out var chain, out _));
            Assert.Equal((uint)(chain.RoutingOffset + 2), icmp.Pointer);
        });
    }

    [Fact]
    public void Zeek_router_advertisement_with_options_configures_a_SLAAC_address_RFC4862()
    {
        var r = new Replay("02:00:00:00:00:99", [], slaac: true);
        r.Play("zeek-icmp6-nd-options.pcap");
        r.Net.Run(TimeSpan.FromSeconds(2));
        var info = r.Stack.GetIpv6Info(r.Iface)!;
        Assert.Contains(info.Addresses, a => a.Origin == Ipv6AddressOrigin.Slaac && a.Address.MatchesPrefix(A("2001:db8:0:1::"), 64));
        Assert.Contains(A("fe80::c000:54ff:fef5:0"), info.DefaultRouters);
    }

    [Fact]
    public void Tcpdump_MLDv2_general_query_is_answered_with_our_groups_RFC3810_6_2()
    {
        var r = new Replay("02:00:00:00:00:98", ["2001:db8::98/64"]);
        r.Net.Run(TimeSpan.FromSeconds(5)); // unsolicited reports done
        int before = r.Sent.Count(m => m.Type == Icmpv6Type.Mldv2Report);
        r.Play("tcpdump-icmpv6.pcap");
        r.Net.Run(TimeSpan.FromSeconds(11)); // Maximum Response Code 10000 ms
        var reports = r.Sent.Where(m => m.Type == Icmpv6Type.Mldv2Report).Skip(before).ToList();
        Assert.NotEmpty(reports);
        var groups = new List<(Ipv6Address, GroupRecordType)>();
        foreach (var m in reports)
        {
            Assert.True(Mldv2Report.TryParse(m.Message, out var rep, out _));
            foreach (var rec in rep.Records) groups.Add((rec.MulticastAddress, rec.RecordType));
        }
        Assert.Contains((A("2001:db8::98").SolicitedNode, GroupRecordType.ModeIsExclude), groups);
    }
}
