using NetStack.Wire;
using static NetStack.Fuzz.FuzzInvariantException;

namespace NetStack.Fuzz;

/// <summary>
/// Targets for each wire parser of the core (src/NetStack/Wire). Each input is handed to the parser; when it parses,
/// every accessor and enumerator is walked (they must not throw: "validate once, then no accessor can fail"), and where
/// the format has a Repr, the Repr is written back and parsed again, and must come back equal (the round trip).
/// </summary>
public static class WireTargets
{
    // A sink for values read, so that the walks are not optimized away.
    private static long s_sink;

    private static readonly Ipv4Address V4A = Ipv4Address.Parse("192.0.2.1"), V4B = Ipv4Address.Parse("192.0.2.2");
    private static readonly Ipv6Address V6A = Ipv6Address.Parse("2001:db8::1"), V6B = Ipv6Address.Parse("2001:db8::2");

    public static void Ethernet(ReadOnlySpan<byte> input)
    {
        if (!EthernetFrame.TryParse(input, out var eth, out _)) return;
        for (int i = 0; i < eth.TagCount; i++) s_sink += eth.Tag(i).Vid + eth.Tag(i).Pcp;
        s_sink += eth.Payload.Length + (long)eth.Source.Value + (long)eth.Destination.Value + (int)eth.EtherType;
        var repr = eth.ToRepr();
        var buffer = new byte[repr.HeaderLength + eth.Payload.Length];
        int n = repr.Write(buffer);
        Check(n == eth.HeaderSize, "Ethernet: written header length differs from the parsed one");
        eth.Payload.CopyTo(buffer.AsSpan(n));
        Check(EthernetFrame.TryParse(buffer, out var again, out _), "Ethernet: a written frame does not parse");
        Check(again.ToRepr() == repr, "Ethernet: round trip changed the header");
        Check(again.Payload.SequenceEqual(eth.Payload), "Ethernet: round trip changed the payload");
    }

    public static void Arp(ReadOnlySpan<byte> input)
    {
        if (!ArpPacket.TryParse(input, out var arp, out _)) return;
        s_sink += arp.HardwareType + (int)arp.ProtocolType + arp.SenderProtocolAddress.Value + arp.TargetProtocolAddress.Value;
        var repr = arp.ToRepr();
        var buffer = new byte[repr.BufferLength];
        repr.Write(buffer);
        Check(ArpPacket.TryParse(buffer, out var again, out _), "ARP: a written packet does not parse");
        Check(again.ToRepr() == repr, "ARP: round trip changed the packet");
    }

    public static void Ipv4(ReadOnlySpan<byte> input)
    {
        if (Ipv4Packet.TryParseQuoted(input, out var quoted, out _)) Walk(quoted);
        if (!Ipv4Packet.TryParse(input, out var ip, out _)) return;
        Walk(ip);
        var options = ip.Options;
        if (Ipv4Options.Validate(options) != WireError.None) return;
        var repr = ip.ToRepr();
        Check(repr.OptionsLength <= Ipv4Options.MaxLength, "IPv4: options longer than 40 bytes");
        var buffer = new byte[repr.BufferLength];
        int n = repr.Write(buffer, options[..Math.Min(options.Length, repr.OptionsLength)]);
        ip.Payload.CopyTo(buffer.AsSpan(n));
        Check(Ipv4Packet.TryParse(buffer, out var again, out _), "IPv4: a written packet does not parse");
        Check(again.ChecksumValid, "IPv4: a written header has a bad checksum");
        Check(again.ToRepr() == repr, "IPv4: round trip changed the header");
    }

    private static void Walk(Ipv4Packet ip)
    {
        s_sink += ip.Version + ip.HeaderLength + ip.Dscp + (int)ip.Ecn + ip.TotalLength + ip.Identification + ip.FragmentOffset
            + ip.Ttl + (int)ip.Protocol + ip.HeaderChecksum + ip.Source.Value + ip.Destination.Value + ip.Payload.Length
            + (ip.ChecksumValid ? 1 : 0) + (ip.IsFirstFragment ? 1 : 0) + (ip.DontFragment ? 1 : 0) + (ip.ReservedFlag ? 1 : 0);
        foreach (var o in ip.EnumerateOptions()) s_sink += (int)o.Type + o.Length + o.Data.Length + (o.Copied ? 1 : 0);
        s_sink += (int)Ipv4Options.Validate(ip.Options);
    }

    public static void Ipv6(ReadOnlySpan<byte> input)
    {
        if (Ipv6Packet.TryParseQuoted(input, out var quoted, out _)) Walk(quoted);
        if (!Ipv6Packet.TryParse(input, out var ip, out _)) return;
        Walk(ip);
        var repr = ip.ToRepr();
        var buffer = new byte[repr.BufferLength];
        repr.Write(buffer);
        Check(Ipv6Packet.TryParse(buffer, out var again, out _), "IPv6: a written header does not parse");
        Check(again.ToRepr() == repr, "IPv6: round trip changed the header");
    }

    private static void Walk(Ipv6Packet ip)
    {
        s_sink += ip.Version + ip.TrafficClass + ip.Dscp + ip.Ecn + ip.FlowLabel + ip.PayloadLength + (int)ip.NextHeader + ip.HopLimit
            + (long)ip.Source.Low + (long)ip.Destination.High + ip.Payload.Length + (ip.IsTruncated ? 1 : 0);
        var bytes = ip.Bytes;
        if (!Ipv6HeaderChain.TryParse(bytes, out var chain, out _)) return;
        s_sink += chain.ProtocolOffset + chain.NextHeaderFieldOffset + chain.UnfragmentablePartLength + (chain.HasFragmentHeader ? 1 : 0);
        if (chain.End == Ipv6ChainEnd.UpperLayer)
            Check(chain.ProtocolOffset >= Ipv6Packet.HeaderLength && chain.ProtocolOffset <= bytes.Length, "IPv6: upper layer offset outside the packet");
        foreach (var h in chain.Headers(bytes))
        {
            s_sink += (int)h.Type + h.Offset + (int)h.NextHeader;
            Check(h.Offset >= Ipv6Packet.HeaderLength && h.Offset + h.Bytes.Length <= bytes.Length, "IPv6: extension header outside the packet");
            ExtensionHeader(h.Type, h.Bytes);
        }
    }

    /// <summary>One extension header (fuzzed alone too: the first input byte picks the type).</summary>
    public static void Ipv6ExtensionHeaders(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) return;
        var type = (input[0] % 3) switch { 0 => IpProtocol.HopByHop, 1 => IpProtocol.Ipv6Routing, _ => IpProtocol.Ipv6Fragment };
        ExtensionHeader(type, input[1..]);
        // The rest as a whole chain behind a fixed IPv6 header.
        var packet = new byte[Ipv6Packet.HeaderLength + input.Length - 1];
        new Ipv6Repr(V6A, V6B, type, input.Length - 1, 64, 0, 0).Write(packet);
        input[1..].CopyTo(packet.AsSpan(Ipv6Packet.HeaderLength));
        Ipv6(packet);
    }

    private static void ExtensionHeader(IpProtocol type, ReadOnlySpan<byte> bytes)
    {
        switch (type)
        {
            case IpProtocol.HopByHop or IpProtocol.Ipv6DestinationOptions:
                if (!Ipv6OptionsHeader.TryParse(bytes, out var opts, out _)) return;
                s_sink += (int)opts.NextHeader + opts.Length;
                var list = new List<Ipv6OptionRepr>();
                foreach (var o in opts.Options)
                {
                    s_sink += o.Type + o.Data.Length + o.Offset + (int)o.Action + (o.MayChangeEnRoute ? 1 : 0);
                    if (!o.IsPadding) list.Add(new Ipv6OptionRepr(o.Type, o.Data.ToArray()));
                }
                var repr = new Ipv6OptionsRepr(opts.NextHeader, list.ToArray());
                var buffer = new byte[repr.BufferLength];
                repr.Write(buffer);
                Check(Ipv6OptionsHeader.TryParse(buffer, out var again, out _), "IPv6 options: a written header does not parse");
                int k = 0;
                foreach (var o in again.Options)
                {
                    if (o.IsPadding) continue;
                    Check(k < list.Count && o.Type == list[k].Type && o.Data.SequenceEqual(list[k].Data.Span), "IPv6 options: round trip changed an option");
                    k++;
                }
                Check(k == list.Count, "IPv6 options: round trip lost an option");
                break;
            case IpProtocol.Ipv6Routing:
                if (!Ipv6RoutingHeader.TryParse(bytes, out var rh, out _)) return;
                s_sink += rh.RoutingType + rh.SegmentsLeft + rh.Length + (int)rh.NextHeader;
                var rr = rh.ToRepr();
                var rbuf = new byte[rr.BufferLength];
                rr.Write(rbuf);
                Check(Ipv6RoutingHeader.TryParse(rbuf, out var ragain, out _), "IPv6 routing: a written header does not parse");
                Check(ragain.RoutingType == rr.RoutingType && ragain.SegmentsLeft == rr.SegmentsLeft && ragain.NextHeader == rr.NextHeader
                    && ragain.TypeSpecificData.SequenceEqual(rr.TypeSpecificData.Span), "IPv6 routing: round trip changed the header");
                break;
            case IpProtocol.Ipv6Fragment:
                if (!Ipv6FragmentHeader.TryParse(bytes, out var fh, out _)) return;
                s_sink += fh.Reserved + fh.ReservedBits + (fh.IsAtomic ? 1 : 0) + (fh.IsFirstFragment ? 1 : 0);
                var fr = fh.ToRepr();
                var fbuf = new byte[fr.BufferLength];
                fr.Write(fbuf);
                Check(Ipv6FragmentHeader.TryParse(fbuf, out var fagain, out _), "IPv6 fragment: a written header does not parse");
                Check(fagain.ToRepr() == fr, "IPv6 fragment: round trip changed the header");
                break;
        }
    }

    public static void Icmpv4(ReadOnlySpan<byte> input)
    {
        if (!Icmpv4Packet.TryParse(input, out var icmp, out _)) return;
        s_sink += (int)icmp.Type + icmp.Code + icmp.ChecksumField + (icmp.ChecksumValid ? 1 : 0) + (icmp.IsError ? 1 : 0)
            + icmp.Identifier + icmp.SequenceNumber + icmp.EchoData.Length + icmp.NextHopMtu + icmp.Gateway.Value + icmp.Pointer
            + icmp.RestOfHeader + icmp.OriginalDatagramLengthWords + (icmp.HasExtension ? 1 : 0) + icmp.OriginalDatagram.Length
            + icmp.ExtensionBytes.Length;
        if (icmp.TryGetExtension(out var ext, out _)) Walk(ext);
        if (icmp.TryGetQuotedDatagram(out var quoted, out _)) Walk(quoted);
        IcmpExtensionAlone(icmp.ExtensionBytes);
        // IGMP shares IPv4's protocol numbers space of small messages: the same bytes as IGMP.
        Igmp(input);
    }

    private static void IcmpExtensionAlone(ReadOnlySpan<byte> bytes)
    {
        if (IcmpExtension.TryParse(bytes, out var ext, out _)) Walk(ext);
    }

    private static void Walk(IcmpExtension ext)
    {
        s_sink += ext.Version + ext.ChecksumField + (ext.ChecksumValid ? 1 : 0) + ext.Bytes.Length;
        foreach (var o in ext.Objects)
        {
            s_sink += o.ClassNum + o.CType + o.Length + o.MplsEntryCount;
            for (int i = 0; i < o.MplsEntryCount; i++) s_sink += o.MplsEntry(i).Label + o.MplsEntry(i).Ttl;
        }
    }

    public static void Igmp(ReadOnlySpan<byte> input)
    {
        if (IgmpMessage.TryParse(input, out var igmp, out _))
        {
            s_sink += (int)igmp.Type + igmp.Bytes.Length + (igmp.ChecksumValid ? 1 : 0) + (int)igmp.QueryVersion + igmp.MaxResponseCode
                + igmp.MaxResponseTenths + igmp.StoredChecksum + igmp.Group.Value + igmp.Qrv + igmp.Qqic + igmp.QueryIntervalSeconds
                + igmp.SourceCount + (igmp.SuppressRouterSideProcessing ? 1 : 0);
            for (int i = 0; i < igmp.SourceCount; i++) s_sink += igmp.Source(i).Value;
        }
        if (Igmpv3Report.TryParse(input, out var report, out _))
        {
            s_sink += report.RecordCount + report.Bytes.Length + (report.ChecksumValid ? 1 : 0);
            foreach (var r in report.Records)
            {
                s_sink += (int)r.RecordType + r.AuxDataLength + r.SourceCount + r.Group.Value + r.AuxData.Length + r.Length;
                for (int i = 0; i < r.SourceCount; i++) s_sink += r.Source(i).Value;
            }
        }
    }

    public static void Icmpv6(ReadOnlySpan<byte> input)
    {
        if (!Icmpv6Packet.TryParse(input, out var icmp, out _)) return;
        s_sink += (int)icmp.Type + icmp.Code + icmp.Checksum + (icmp.IsError ? 1 : 0) + icmp.Body.Length + icmp.Identifier
            + icmp.SequenceNumber + icmp.Data.Length + icmp.Mtu + icmp.Pointer + icmp.Rfc4884Length + icmp.InvokingPacket.Length
            + (icmp.VerifyChecksum(V6A, V6B) ? 1 : 0);
        if (icmp.TryGetExtension(out var ext, out _)) Walk(ext);
        if (Ipv6Packet.TryParseQuoted(icmp.InvokingPacket, out var quoted, out _)) Walk(quoted);
        var repr = icmp.ToRepr();
        var buffer = new byte[repr.BufferLength];
        repr.Write(buffer, V6A, V6B);
        Check(Icmpv6Packet.TryParse(buffer, out var again, out _), "ICMPv6: a written message does not parse");
        Check(again.VerifyChecksum(V6A, V6B), "ICMPv6: a written message has a bad checksum");
        Check(again.Type == repr.Type && again.Code == repr.Code, "ICMPv6: round trip changed type or code");
        Mld(input);
        Ndp(input);
    }

    public static void Mld(ReadOnlySpan<byte> input)
    {
        if (MldMessage.TryParse(input, out var mld, out _))
        {
            s_sink += (int)mld.Type + mld.Code + mld.MaxResponseCode + mld.MaxResponseDelayMilliseconds + (long)mld.MulticastAddress.Low
                + mld.Qrv + mld.Qqic + mld.QueryIntervalSeconds + mld.SourceCount + (mld.IsVersion2Query ? 1 : 0)
                + (mld.SuppressRouterSideProcessing ? 1 : 0);
            for (int i = 0; i < mld.SourceCount; i++) s_sink += (long)mld.Source(i).Low;
        }
        if (Mldv2Report.TryParse(input, out var report, out _))
        {
            s_sink += report.RecordCount + report.Bytes.Length;
            foreach (var r in report.Records)
            {
                s_sink += (int)r.RecordType + r.AuxDataLength + r.SourceCount + (long)r.MulticastAddress.Low + r.AuxData.Length + r.Length;
                for (int i = 0; i < r.SourceCount; i++) s_sink += (long)r.Source(i).High;
            }
        }
    }

    public static void Ndp(ReadOnlySpan<byte> input)
    {
        if (!NdpMessage.TryParse(input, out var ndp, out _)) return;
        s_sink += (int)ndp.Type + ndp.Code + ndp.CurHopLimit + ndp.RouterPreference + ndp.RouterLifetime + ndp.ReachableTime
            + ndp.RetransTimer + (long)ndp.TargetAddress.Low + (long)ndp.DestinationAddress.Low + ndp.OptionBytes.Length
            + (ndp.ManagedFlag ? 1 : 0) + (ndp.OtherFlag ? 1 : 0) + (ndp.RouterFlag ? 1 : 0) + (ndp.SolicitedFlag ? 1 : 0)
            + (ndp.OverrideFlag ? 1 : 0) + (long)(ndp.SourceLinkLayerAddress?.Value ?? 0) + (long)(ndp.TargetLinkLayerAddress?.Value ?? 0);
        foreach (var o in ndp.Options)
        {
            Check(o.Length >= 8 && o.Length % 8 == 0, "NDP: an option of a length that is not a positive multiple of 8");
            s_sink += (int)o.Type + o.Length + o.Bytes.Length + o.PrefixLength + o.ValidLifetime + o.PreferredLifetime
                + (long)o.Prefix.Low + o.RedirectedPacket.Length + o.Mtu + o.Nonce.Length + o.RdnssLifetime + o.RdnssAddressCount
                + (o.OnLink ? 1 : 0) + (o.Autonomous ? 1 : 0);
            if (o.Type is NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress)
                s_sink += o.LinkLayerAddress.Length + (long)o.MacAddress.Value;
            for (int i = 0; i < o.RdnssAddressCount; i++) s_sink += (long)o.RdnssAddress(i).Low;
        }
    }

    public static void Udp(ReadOnlySpan<byte> input)
    {
        if (!UdpDatagram.TryParse(input, out var udp, out _)) return;
        s_sink += udp.SourcePort + udp.DestinationPort + udp.Length + udp.ChecksumField + udp.Payload.Length
            + (udp.VerifyChecksum(V4A, V4B) ? 1 : 0) + (udp.VerifyChecksum(V6A, V6B) ? 1 : 0);
        var repr = udp.ToRepr();
        var buffer = new byte[repr.BufferLength];
        repr.Write(buffer, V6A, V6B, udp.Payload);
        Check(UdpDatagram.TryParse(buffer, out var again, out _), "UDP: a written datagram does not parse");
        Check(again.VerifyChecksum(V6A, V6B), "UDP: a written datagram has a bad checksum");
        Check(again.ToRepr() == repr && again.Payload.SequenceEqual(udp.Payload), "UDP: round trip changed the datagram");
    }

    public static void Tcp(ReadOnlySpan<byte> input)
    {
        if (!TcpSegment.TryParse(input, out var tcp, out _)) return;
        s_sink += tcp.SourcePort + tcp.DestinationPort + tcp.SequenceNumber.Value + tcp.AckNumber.Value + tcp.DataOffset + (int)tcp.Flags
            + tcp.Window + tcp.Checksum + tcp.UrgentPointer + tcp.Options.Length + tcp.Payload.Length + tcp.SegmentLength
            + (tcp.VerifyChecksum(V4A, V4B) ? 1 : 0);
        var reader = tcp.ReadOptions();
        while (reader.TryNext(out var kind, out var data, out _)) s_sink += (int)kind + data.Length;
        var repr = tcp.ToRepr();
        Check(repr.HeaderLength <= TcpSegment.MaxHeaderLength || TcpOptionReader.Validate(tcp.Options) != WireError.None,
            "TCP: the options of a valid segment do not fit in a header when written");
        if (repr.HeaderLength > TcpSegment.MaxHeaderLength) return;
        var buffer = new byte[repr.BufferLength(tcp.Payload.Length)];
        repr.Write(buffer, tcp.Payload, V4A, V4B);
        Check(TcpSegment.TryParse(buffer, out var again, out _), "TCP: a written segment does not parse");
        Check(again.VerifyChecksum(V4A, V4B), "TCP: a written segment has a bad checksum");
        Check(TcpOptionReader.Validate(again.Options) == WireError.None, "TCP: written options do not validate");
        Check(again.ToRepr() == repr, "TCP: round trip changed the header");
        Check(again.Payload.SequenceEqual(tcp.Payload), "TCP: round trip changed the payload");
    }

    public static void Dns(ReadOnlySpan<byte> input)
    {
        Span<char> text = stackalloc char[DnsName.MaxTextLength];
        Span<byte> wire = stackalloc byte[DnsName.MaxLength];
        if (!DnsMessage.TryParse(input, out var dns, out _)) return;
        s_sink += dns.Id + (int)dns.Opcode + (int)dns.Rcode + dns.QuestionCount + dns.AnswerCount + dns.AuthorityCount + dns.AdditionalCount
            + (dns.IsResponse ? 1 : 0) + (dns.Authoritative ? 1 : 0) + (dns.Truncated ? 1 : 0) + (dns.RecursionDesired ? 1 : 0)
            + (dns.RecursionAvailable ? 1 : 0) + dns.Header.Id;
        int questions = 0;
        foreach (var q in dns.Questions)
        {
            questions++;
            s_sink += (int)q.Type + (int)q.Class;
            Name(q.Name, text, wire);
        }
        Check(questions == dns.QuestionCount, "DNS: a validated message yields fewer questions than it counts");
        int records = 0;
        foreach (var r in dns.Records)
        {
            records++;
            s_sink += (int)r.Section + (int)r.Type + (int)r.Class + r.Ttl + r.Data.Length;
            Name(r.Name, text, wire);
            if (r.TryGetA(out var a)) s_sink += a.Value;
            if (r.TryGetAaaa(out var aaaa)) s_sink += (long)aaaa.Low;
            if (r.TryGetTargetName(out var target)) Name(target, text, wire);
            if (r.TryGetSoaMinimum(out uint min)) s_sink += min;
        }
        Check(records == dns.AnswerCount + dns.AuthorityCount + dns.AdditionalCount, "DNS: a validated message yields fewer records than it counts");
    }

    private static void Name(DnsName name, Span<char> text, Span<byte> wire)
    {
        s_sink += name.WireLength + (name.IsRoot ? 1 : 0);
        foreach (var label in name.Labels) s_sink += label.Length;
        Check(name.TryFormat(text, out int chars), "DNS: a validated name does not format in MaxTextLength characters");
        s_sink += name.ToString().Length + chars;
        Check(name.TryCopyWire(wire, out int n, lowerCase: true), "DNS: a validated name does not fit in 255 bytes");
        Check(name.NameEquals(wire[..n]), "DNS: a name differs from its own lower-cased copy");
        Check(name.NameEquals(name), "DNS: a name differs from itself");
    }

    public static void Dhcp(ReadOnlySpan<byte> input)
    {
        if (!DhcpPacket.TryParse(input, out var dhcp, out _)) return;
        s_sink += (int)dhcp.Op + dhcp.HardwareType + dhcp.HardwareLength + dhcp.Hops + dhcp.TransactionId + dhcp.Seconds + dhcp.Flags
            + dhcp.ClientAddress.Value + dhcp.ClientHardwareAddress.Length + (long)dhcp.ClientMac.Value + dhcp.ServerName.Length
            + dhcp.BootFile.Length + dhcp.Overload + dhcp.Length;
        foreach (var o in dhcp.Options) s_sink += o.Code + o.Value.Length;
        var repr = dhcp.ToRepr();
        s_sink += (int)repr.MessageType + (repr.Routers?.Count ?? 0);
    }
}
