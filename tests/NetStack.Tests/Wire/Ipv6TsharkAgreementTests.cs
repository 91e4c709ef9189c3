using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>
/// Fields decoded by our IPv6, extension-header, ICMPv6, NDP and MLD views agree with tshark, frame by
/// frame, on third-party captures (pcaps/MANIFEST.tsv gives their sources). tshark runs with IPv6
/// reassembly off, so both sides look at each frame alone; ICMPv6 errors are followed into the quoted packet.
/// </summary>
public sealed class Ipv6TsharkAgreementTests
{
    public static TheoryData<string> Captures => new()
    {
        "tcpdump-icmpv6.pcap",
        "zeek-icmp6-nd-options.pcap",
        "zeek-icmp6-mldv1.pcap",
        "zeek-icmp6-ping.pcap",
        "zeek-icmp6-timeexceeded.pcap",
        "zeek-icmp6-toobig.pcap",
        "zeek-icmp6-destunreach-ip6ext-udp.pcap",
        "cs-icmpv6_neighbor_solicitation.pcapng",
        "cs-ipv6_fragments.pcapng",
        "suri-ipv6-covert-dstopts.pcap",
        "suri-ipv6-malformed-fragments-1.pcap",
        "tcpdump-ipv6-routing-header.pcap",
        "zeek-ipv6-hbh-routing0.pcap",
        "cs-http_ip4and6.pcapng",
    };

    private static readonly string[] HeaderFields =
        ["ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.plen", "ipv6.nxt", "ipv6.tclass", "ipv6.flow"];

    private static readonly string[] ExtensionFields =
        ["ipv6.opt.type", "ipv6.routing.type", "ipv6.routing.segleft", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident"];

    private static readonly string[] Icmpv6Fields =
        ["icmpv6.type", "icmpv6.code", "icmpv6.checksum.status", "icmpv6.echo.identifier", "icmpv6.echo.sequence_number", "icmpv6.mtu", "icmpv6.pointer"];

    private static readonly string[] NdpFields =
        ["icmpv6.nd.ns.target_address", "icmpv6.nd.na.target_address", "icmpv6.nd.na.flag.r", "icmpv6.nd.na.flag.s", "icmpv6.nd.na.flag.o",
         "icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.flag.m", "icmpv6.nd.ra.flag.o", "icmpv6.nd.ra.router_lifetime",
         "icmpv6.nd.ra.reachable_time", "icmpv6.nd.ra.retrans_timer", "icmpv6.nd.rd.target_address",
         "icmpv6.opt.type", "icmpv6.opt.linkaddr", "icmpv6.opt.prefix", "icmpv6.opt.prefix.length", "icmpv6.opt.prefix.flag.l",
         "icmpv6.opt.prefix.flag.a", "icmpv6.opt.prefix.valid_lifetime", "icmpv6.opt.prefix.preferred_lifetime", "icmpv6.opt.mtu",
         "icmpv6.opt.rdnss", "icmpv6.opt.rdnss.lifetime"];

    private static readonly string[] MldFields =
        ["icmpv6.mld.maximum_response_delay", "icmpv6.mld.maximum_response_code", "icmpv6.mld.multicast_address", "icmpv6.mld.flag.s",
         "icmpv6.mld.flag.qrv", "icmpv6.mld.qqi", "icmpv6.mld.nb_sources", "icmpv6.mldr.nb_mcast_records", "icmpv6.mldr.mar.record_type",
         "icmpv6.mldr.mar.aux_data_len", "icmpv6.mldr.mar.nb_sources", "icmpv6.mldr.mar.multicast_address"];

    [Theory, MemberData(nameof(Captures))]
    public void Ipv6_header_fields_agree_with_tshark(string capture) => AssertAgreement(capture, HeaderFields);

    [Theory, MemberData(nameof(Captures))]
    public void Extension_header_fields_agree_with_tshark(string capture) => AssertAgreement(capture, ExtensionFields);

    [Theory, MemberData(nameof(Captures))]
    public void Icmpv6_fields_agree_with_tshark(string capture) => AssertAgreement(capture, Icmpv6Fields);

    [Theory, MemberData(nameof(Captures))]
    public void Ndp_fields_agree_with_tshark(string capture) => AssertAgreement(capture, NdpFields);

    [Theory, MemberData(nameof(Captures))]
    public void Mld_fields_agree_with_tshark(string capture) => AssertAgreement(capture, MldFields);

    [Fact]
    public void The_captures_hold_what_the_agreement_tests_rely_on()
    {
        // Guards against the agreement tests passing vacuously: the captures must exercise each decoder.
        var seen = new HashSet<string>();
        foreach (var capture in Captures)
        {
            foreach (var frame in Ipv6TestCaptures.ReadFrames(capture))
            {
                foreach (var (field, values) in Decode(frame)) if (values.Count > 0) seen.Add(field);
            }
        }
        foreach (var f in new[] { "ipv6.opt.type", "ipv6.routing.segleft", "ipv6.fraghdr.offset", "icmpv6.mtu", "icmpv6.echo.identifier",
                     "icmpv6.nd.na.flag.r", "icmpv6.nd.ra.router_lifetime", "icmpv6.opt.prefix", "icmpv6.opt.rdnss", "icmpv6.opt.mtu",
                     "icmpv6.mld.qqi", "icmpv6.mldr.mar.record_type", "icmpv6.mld.maximum_response_delay" })
        {
            Assert.Contains(f, seen);
        }
    }

    private static readonly string[] AllFields = [.. HeaderFields, .. ExtensionFields, .. Icmpv6Fields, .. NdpFields, .. MldFields];
    private static readonly Lazy<Dictionary<string, List<string[]>>> TsharkAll = new(() =>
        Ipv6TestCaptures.TsharkMany([.. Captures], AllFields).ToDictionary(kv => kv.Key, kv => kv.Value.Select(l => l.Split('\t')).ToList()));

    /// <summary>One tshark run over all captures with every field, shared by the tests (tshark start-up dominates).</summary>
    private static List<string[]> TsharkColumns(string capture) => TsharkAll.Value[capture];

    private static void AssertAgreement(string capture, string[] fields)
    {
        var frames = Ipv6TestCaptures.ReadFrames(capture);
        var columns = TsharkColumns(capture);
        Assert.Equal(columns.Count, frames.Count);
        var index = fields.Select(f => Array.IndexOf(AllFields, f)).ToArray();
        for (int i = 0; i < frames.Count; i++)
        {
            var decoded = Decode(frames[i]);
            string expected = string.Join('\t', index.Select(k => columns[i][k]));
            string ours = string.Join('\t', fields.Select(f => decoded.TryGetValue(f, out var v) ? string.Join(',', v) : ""));
            Assert.True(expected == ours, $"{capture} frame {i + 1}: fields {string.Join(' ', fields)}\n tshark: {expected}\n ours:   {ours}");
        }
    }

    private static Dictionary<string, List<string>> Decode(byte[] frame)
    {
        var d = new Dictionary<string, List<string>>();
        if (EthernetFrame.TryParse(frame, out var eth, out _) && eth.EtherType == EtherType.Ipv6)
            DecodeIpv6(eth.Payload, quoted: false, d);
        return d;
    }

    private static void Add(Dictionary<string, List<string>> d, string field, object value)
    {
        if (!d.TryGetValue(field, out var list)) d[field] = list = [];
        list.Add(value switch
        {
            bool b => b ? "1" : "0",
            IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        });
    }

    private static void DecodeIpv6(ReadOnlySpan<byte> bytes, bool quoted, Dictionary<string, List<string>> d)
    {
        bool ok = quoted ? Ipv6Packet.TryParseQuoted(bytes, out var ip, out _) : Ipv6Packet.TryParse(bytes, out ip, out _);
        if (!ok) return;
        Add(d, "ipv6.src", ip.Source);
        Add(d, "ipv6.dst", ip.Destination);
        Add(d, "ipv6.hlim", ip.HopLimit);
        Add(d, "ipv6.plen", ip.PayloadLength);
        Add(d, "ipv6.nxt", (byte)ip.NextHeader);
        Add(d, "ipv6.tclass", ip.TrafficClass);
        Add(d, "ipv6.flow", ip.FlowLabel);
        if (!Ipv6HeaderChain.TryParse(ip, out var chain, out _)) return;
        foreach (var h in chain.Headers(ip.Bytes))
        {
            switch (h.Type)
            {
                case IpProtocol.HopByHop or IpProtocol.Ipv6DestinationOptions:
                    Assert.True(Ipv6OptionsHeader.TryParse(h.Bytes, out var opts, out _));
                    foreach (var o in opts.Options) Add(d, "ipv6.opt.type", o.Type);
                    break;
                case IpProtocol.Ipv6Routing:
                    Assert.True(Ipv6RoutingHeader.TryParse(h.Bytes, out var rh, out _));
                    Add(d, "ipv6.routing.type", rh.RoutingType);
                    Add(d, "ipv6.routing.segleft", rh.SegmentsLeft);
                    break;
                case IpProtocol.Ipv6Fragment:
                    Assert.True(Ipv6FragmentHeader.TryParse(h.Bytes, out var fh, out _));
                    Add(d, "ipv6.fraghdr.offset", fh.FragmentOffset / 8);
                    Add(d, "ipv6.fraghdr.more", fh.MoreFragments);
                    Add(d, "ipv6.fraghdr.ident", fh.Identification);
                    break;
            }
        }
        if (quoted || chain.End != Ipv6ChainEnd.UpperLayer || chain.Protocol != IpProtocol.Icmpv6) return;
        DecodeIcmpv6(ip.Bytes[chain.ProtocolOffset..], ip, FinalDestination(ip, chain), chain.HasFragmentHeader, d);
    }

    /// <summary>
    /// RFC 8200 §8.1: with a Routing header the pseudo-header carries the final destination. For the
    /// type 0 headers in these captures (RFC 5095 deprecated them) that is the last listed address.
    /// </summary>
    private static Ipv6Address FinalDestination(Ipv6Packet ip, Ipv6HeaderChain chain)
    {
        if (chain.RoutingOffset < 0) return ip.Destination;
        Assert.True(Ipv6RoutingHeader.TryParse(ip.Bytes[chain.RoutingOffset..], out var rh, out _));
        if (rh.RoutingType != 0 || rh.SegmentsLeft == 0 || rh.TypeSpecificData.Length < 20) return ip.Destination;
        return Ipv6Address.Read(rh.TypeSpecificData[^16..]);
    }

    private static void DecodeIcmpv6(ReadOnlySpan<byte> message, Ipv6Packet ip, Ipv6Address destination, bool fragment, Dictionary<string, List<string>> d)
    {
        if (!Icmpv6Packet.TryParse(message, out var icmp, out _)) return;
        Add(d, "icmpv6.type", (byte)icmp.Type);
        Add(d, "icmpv6.code", icmp.Code);
        // tshark: 0 bad, 1 good, 2 unverified (a fragment's checksum cannot be checked alone).
        Add(d, "icmpv6.checksum.status", fragment ? 2 : icmp.VerifyChecksum(ip.Source, destination) ? 1 : 0);
        switch (icmp.Type)
        {
            case Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply:
                Add(d, "icmpv6.echo.identifier", icmp.Identifier);
                Add(d, "icmpv6.echo.sequence_number", icmp.SequenceNumber);
                break;
            case Icmpv6Type.PacketTooBig:
                Add(d, "icmpv6.mtu", icmp.Mtu);
                break;
            case Icmpv6Type.ParameterProblem:
                Add(d, "icmpv6.pointer", icmp.Pointer);
                break;
            case Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement or Icmpv6Type.NeighborSolicitation
                or Icmpv6Type.NeighborAdvertisement or Icmpv6Type.Redirect:
                DecodeNdp(message, d);
                break;
            case Icmpv6Type.MulticastListenerQuery or Icmpv6Type.MulticastListenerReport or Icmpv6Type.MulticastListenerDone:
                Assert.True(MldMessage.TryParse(message, out var mld, out _));
                if (mld.IsVersion2Query)
                {
                    Add(d, "icmpv6.mld.maximum_response_code", mld.MaxResponseCode);
                    Add(d, "icmpv6.mld.multicast_address", mld.MulticastAddress);
                    Add(d, "icmpv6.mld.flag.s", mld.SuppressRouterSideProcessing);
                    Add(d, "icmpv6.mld.flag.qrv", mld.Qrv);
                    Add(d, "icmpv6.mld.qqi", mld.Qqic);
                    Add(d, "icmpv6.mld.nb_sources", mld.SourceCount);
                }
                else
                {
                    Add(d, "icmpv6.mld.maximum_response_delay", mld.MaxResponseCode);
                    Add(d, "icmpv6.mld.multicast_address", mld.MulticastAddress);
                }
                break;
            case Icmpv6Type.Mldv2Report:
                Assert.True(Mldv2Report.TryParse(message, out var report, out _));
                Add(d, "icmpv6.mldr.nb_mcast_records", report.RecordCount);
                foreach (var r in report.Records)
                {
                    Add(d, "icmpv6.mldr.mar.record_type", (byte)r.RecordType);
                    Add(d, "icmpv6.mldr.mar.aux_data_len", r.AuxDataLength);
                    Add(d, "icmpv6.mldr.mar.nb_sources", r.SourceCount);
                    Add(d, "icmpv6.mldr.mar.multicast_address", r.MulticastAddress);
                }
                break;
        }
        if (icmp.IsError) DecodeIpv6(icmp.InvokingPacket, quoted: true, d);
    }

    private static void DecodeNdp(ReadOnlySpan<byte> message, Dictionary<string, List<string>> d)
    {
        Assert.True(NdpMessage.TryParse(message, out var nd, out var error), error.ToString());
        switch (nd.Type)
        {
            case Icmpv6Type.NeighborSolicitation:
                Add(d, "icmpv6.nd.ns.target_address", nd.TargetAddress);
                break;
            case Icmpv6Type.NeighborAdvertisement:
                Add(d, "icmpv6.nd.na.target_address", nd.TargetAddress);
                Add(d, "icmpv6.nd.na.flag.r", nd.RouterFlag);
                Add(d, "icmpv6.nd.na.flag.s", nd.SolicitedFlag);
                Add(d, "icmpv6.nd.na.flag.o", nd.OverrideFlag);
                break;
            case Icmpv6Type.RouterAdvertisement:
                Add(d, "icmpv6.nd.ra.cur_hop_limit", nd.CurHopLimit);
                Add(d, "icmpv6.nd.ra.flag.m", nd.ManagedFlag);
                Add(d, "icmpv6.nd.ra.flag.o", nd.OtherFlag);
                Add(d, "icmpv6.nd.ra.router_lifetime", nd.RouterLifetime);
                Add(d, "icmpv6.nd.ra.reachable_time", nd.ReachableTime);
                Add(d, "icmpv6.nd.ra.retrans_timer", nd.RetransTimer);
                break;
            case Icmpv6Type.Redirect:
                Add(d, "icmpv6.nd.rd.target_address", nd.TargetAddress);
                break;
        }
        foreach (var o in nd.Options)
        {
            Add(d, "icmpv6.opt.type", (byte)o.Type);
            switch (o.Type)
            {
                case NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress:
                    Add(d, "icmpv6.opt.linkaddr", o.MacAddress);
                    break;
                case NdpOptionType.PrefixInformation:
                    Add(d, "icmpv6.opt.prefix.length", o.PrefixLength);
                    Add(d, "icmpv6.opt.prefix.flag.l", o.OnLink);
                    Add(d, "icmpv6.opt.prefix.flag.a", o.Autonomous);
                    Add(d, "icmpv6.opt.prefix.valid_lifetime", o.ValidLifetime);
                    Add(d, "icmpv6.opt.prefix.preferred_lifetime", o.PreferredLifetime);
                    Add(d, "icmpv6.opt.prefix", o.Prefix);
                    break;
                case NdpOptionType.Mtu:
                    Add(d, "icmpv6.opt.mtu", o.Mtu);
                    break;
                case NdpOptionType.RecursiveDnsServer:
                    Add(d, "icmpv6.opt.rdnss.lifetime", o.RdnssLifetime);
                    for (int i = 0; i < o.RdnssAddressCount; i++) Add(d, "icmpv6.opt.rdnss", o.RdnssAddress(i));
                    break;
            }
        }
    }
}
