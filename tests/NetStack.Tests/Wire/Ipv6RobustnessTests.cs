using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>
/// Hostile input is normal input: every prefix of every IPv6 frame in the captures, and random bytes,
/// go through every IPv6-side view and every accessor without an exception escaping.
/// </summary>
public sealed class Ipv6RobustnessTests
{
    private static readonly string[] Captures =
    [
        "tcpdump-icmpv6.pcap", "zeek-icmp6-nd-options.pcap", "zeek-icmp6-mldv1.pcap", "zeek-icmp6-ping.pcap",
        "zeek-icmp6-timeexceeded.pcap", "zeek-icmp6-toobig.pcap", "zeek-icmp6-destunreach-ip6ext-udp.pcap",
        "cs-icmpv6_neighbor_solicitation.pcapng", "cs-ipv6_fragments.pcapng", "suri-ipv6-covert-dstopts.pcap",
        "suri-ipv6-malformed-fragments-1.pcap", "tcpdump-ipv6-routing-header.pcap", "zeek-ipv6-hbh-routing0.pcap",
        "cs-http_ip4and6.pcapng", "zeek-ip6-ext-trunc.pcap",
    ];

    [Fact]
    public void Every_prefix_of_every_IPv6_frame_in_the_captures_decodes_without_throwing()
    {
        int packets = 0;
        var refused = new List<string>();
        foreach (var capture in Captures)
        {
            foreach (var frame in Ipv6TestCaptures.ReadFrames(capture))
            {
                if (!EthernetFrame.TryParse(frame, out var eth, out _) || eth.EtherType != EtherType.Ipv6) continue;
                var ip = eth.Payload;
                packets++;
                for (int n = 0; n <= ip.Length; n++)
                {
                    DecodeAll(ip[..n], quoted: false);
                    DecodeAll(ip[..n], quoted: true);
                }
                if (!DecodeAll(ip, quoted: false)) refused.Add(capture);
            }
        }
        Assert.True(packets > 100, $"only {packets} IPv6 frames");
        // Only the deliberately truncated capture holds a packet that must be refused.
        Assert.Equal(["zeek-ip6-ext-trunc.pcap"], refused);
    }

    [Fact]
    public void Random_bytes_decode_without_throwing()
    {
        var header = Gen.Select(Gen.Byte[0, 255], Gen.Byte.Array[0, 120]).Select(t =>
        {
            // A valid-looking IPv6 header half the time, so the deeper views are reached.
            var b = new byte[40 + t.Item2.Length];
            new Ipv6Repr(default, default, (IpProtocol)t.Item1, t.Item2.Length, 64).Write(b);
            t.Item2.CopyTo(b, 40);
            return b;
        });
        Gen.OneOf(header, Gen.Byte.Array[0, 200]).Sample(b => { DecodeAll(b, quoted: false); DecodeAll(b, quoted: true); }, iter: 2000);
        Gen.Byte.Array[0, 120].Sample(b => { DecodeIcmpv6(b, default, default); }, iter: 2000);
        foreach (byte type in new byte[] { 1, 3, 128, 130, 131, 133, 134, 135, 136, 137, 143 })
        {
            Gen.Byte.Array[0, 120].Sample(b => { if (b.Length > 0) b[0] = type; DecodeIcmpv6(b, default, default); }, iter: 300);
        }
    }

    /// <summary>Runs every view over the bytes and reads every accessor; true when the IPv6 packet itself parsed.</summary>
    private static bool DecodeAll(ReadOnlySpan<byte> bytes, bool quoted)
    {
        bool ok = quoted ? Ipv6Packet.TryParseQuoted(bytes, out var ip, out _) : Ipv6Packet.TryParse(bytes, out ip, out _);
        if (!ok) return false;
        _ = (ip.Version, ip.TrafficClass, ip.Dscp, ip.Ecn, ip.FlowLabel, ip.PayloadLength, ip.NextHeader, ip.HopLimit, ip.Source, ip.Destination, ip.IsTruncated);
        _ = ip.ToRepr();
        if (!Ipv6HeaderChain.TryParse(ip, out var chain, out _)) return true;
        foreach (var h in chain.Headers(ip.Bytes))
        {
            if (Ipv6OptionsHeader.TryParse(h.Bytes, out var opts, out _))
                foreach (var o in opts.Options) _ = (o.Type, o.Action, o.MayChangeEnRoute, o.Data.Length, o.Offset, o.IsPadding);
            if (Ipv6RoutingHeader.TryParse(h.Bytes, out var rh, out _)) _ = rh.ToRepr();
            if (Ipv6FragmentHeader.TryParse(h.Bytes, out var fh, out _)) _ = (fh.ToRepr(), fh.IsAtomic, fh.ReservedBits);
        }
        if (chain.Protocol == IpProtocol.Icmpv6 && chain.ProtocolOffset <= ip.Bytes.Length)
            DecodeIcmpv6(ip.Bytes[chain.ProtocolOffset..], ip.Source, ip.Destination);
        return true;
    }

    private static void DecodeIcmpv6(ReadOnlySpan<byte> message, Ipv6Address src, Ipv6Address dst)
    {
        if (!Icmpv6Packet.TryParse(message, out var icmp, out _)) return;
        _ = (icmp.Type, icmp.Code, icmp.Checksum, icmp.IsError, icmp.Identifier, icmp.SequenceNumber, icmp.Mtu, icmp.Pointer, icmp.Rfc4884Length);
        _ = (icmp.Data.Length, icmp.InvokingPacket.Length, icmp.VerifyChecksum(src, dst), icmp.ToRepr());
        if (icmp.TryGetExtension(out var ext, out _))
        {
            _ = ext.ChecksumValid;
            foreach (var o in ext.Objects) _ = (o.ClassNum, o.CType, o.Payload.Length);
        }
        if (icmp.IsError) DecodeAll(icmp.InvokingPacket, quoted: true);
        if (NdpMessage.TryParse(message, out var nd, out _))
        {
            _ = (nd.CurHopLimit, nd.ManagedFlag, nd.OtherFlag, nd.RouterPreference, nd.RouterLifetime, nd.ReachableTime, nd.RetransTimer);
            _ = (nd.TargetAddress, nd.DestinationAddress, nd.RouterFlag, nd.SolicitedFlag, nd.OverrideFlag, nd.SourceLinkLayerAddress, nd.TargetLinkLayerAddress);
            foreach (var o in nd.Options)
            {
                _ = (o.Type, o.Length, o.LinkLayerAddress.Length, o.MacAddress, o.PrefixLength, o.OnLink, o.Autonomous, o.ValidLifetime);
                _ = (o.PreferredLifetime, o.Prefix, o.RedirectedPacket.Length, o.Mtu, o.Nonce.Length, o.RdnssLifetime, o.RdnssAddressCount);
                for (int i = 0; i <= o.RdnssAddressCount; i++) _ = o.RdnssAddress(i);
            }
        }
        if (MldMessage.TryParse(message, out var mld, out _))
        {
            _ = (mld.MaxResponseCode, mld.MaxResponseDelayMilliseconds, mld.MulticastAddress, mld.SuppressRouterSideProcessing, mld.Qrv, mld.QueryIntervalSeconds);
            for (int i = 0; i <= mld.SourceCount; i++) _ = mld.Source(i);
        }
        if (Mldv2Report.TryParse(message, out var report, out _))
        {
            foreach (var r in report.Records)
            {
                _ = (r.RecordType, r.AuxDataLength, r.MulticastAddress, r.AuxData.Length);
                for (int i = 0; i <= r.SourceCount; i++) _ = r.Source(i);
            }
        }
    }
}
