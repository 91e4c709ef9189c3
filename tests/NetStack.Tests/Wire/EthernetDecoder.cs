using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>What <see cref="EthernetDecoder"/> found in a frame (for comparisons with tshark).</summary>
internal sealed class DecodedFrame
{
    public WireError Error { get; set; }
    public string? FailedLayer { get; set; }
    public EthernetRepr Ethernet { get; set; }
    public ArpRepr? Arp { get; set; }
    public Ipv4Repr? Ip { get; set; }
    public bool IpChecksumValid { get; set; }
    public int IpHeaderLength { get; set; }
    public int IpOptionCount { get; set; }
    public byte? IcmpType { get; set; }
    public byte IcmpCode { get; set; }
    public bool IcmpChecksumValid { get; set; }
    public ushort IcmpIdentifier { get; set; }
    public ushort IcmpSequence { get; set; }
    public ushort IcmpMtu { get; set; }
    public Ipv4Address IcmpGateway { get; set; }
    public Ipv4Repr? QuotedIp { get; set; }
    public UdpRepr? QuotedUdp { get; set; }
    public int MplsLabelCount { get; set; }
    public UdpRepr? Udp { get; set; }
    public bool? UdpChecksumValid { get; set; }
}

/// <summary>
/// Walks a frame through every view this area owns (Ethernet, ARP, IPv4 + options, ICMPv4 + quote +
/// extension, UDP), touching every accessor, so that truncation tests exercise all of them.
/// </summary>
internal static class EthernetDecoder
{
    public static DecodedFrame Decode(ReadOnlySpan<byte> frame)
    {
        var d = new DecodedFrame();
        if (!EthernetFrame.TryParse(frame, out var eth, out var e)) return Fail(d, "eth", e);
        d.Ethernet = eth.ToRepr();
        switch (eth.EtherType)
        {
            case EtherType.Arp:
                if (!ArpPacket.TryParse(eth.Payload, out var arp, out e)) return Fail(d, "arp", e);
                d.Arp = arp.ToRepr();
                break;
            case EtherType.Ipv4:
                DecodeIpv4(eth.Payload, d);
                break;
        }
        return d;
    }

    private static DecodedFrame Fail(DecodedFrame d, string layer, WireError e)
    {
        d.Error = e;
        d.FailedLayer = layer;
        return d;
    }

    private static void DecodeIpv4(ReadOnlySpan<byte> bytes, DecodedFrame d)
    {
        if (!Ipv4Packet.TryParse(bytes, out var ip, out var e)) { Fail(d, "ip", e); return; }
        d.Ip = ip.ToRepr();
        d.IpChecksumValid = ip.ChecksumValid;
        d.IpHeaderLength = ip.HeaderLength;
        _ = (ip.Dscp, ip.Ecn, ip.ReservedFlag, ip.IsFragment, ip.IsFirstFragment, ip.Bytes.Length);
        foreach (var o in ip.EnumerateOptions()) { d.IpOptionCount++; _ = (o.Copied, o.Data.Length, o.Length); }
        if (ip.FragmentOffset != 0) return; // later fragments carry no transport header
        if (ip.Protocol == IpProtocol.Icmp) DecodeIcmp(ip.Payload, d);
        else if (ip.Protocol == IpProtocol.Udp && !ip.MoreFragments)
        {
            if (!UdpDatagram.TryParse(ip.Payload, out var udp, out e)) { Fail(d, "udp", e); return; }
            d.Udp = udp.ToRepr();
            d.UdpChecksumValid = udp.VerifyChecksum(ip.Source, ip.Destination);
        }
    }

    private static void DecodeIcmp(ReadOnlySpan<byte> bytes, DecodedFrame d)
    {
        if (!Icmpv4Packet.TryParse(bytes, out var icmp, out var e)) { Fail(d, "icmp", e); return; }
        d.IcmpType = (byte)icmp.Type;
        d.IcmpCode = icmp.Code;
        d.IcmpChecksumValid = icmp.ChecksumValid;
        d.IcmpIdentifier = icmp.Identifier;
        d.IcmpSequence = icmp.SequenceNumber;
        d.IcmpMtu = icmp.NextHopMtu;
        d.IcmpGateway = icmp.Gateway;
        _ = (icmp.Pointer, icmp.RestOfHeader, icmp.EchoData.Length, icmp.ChecksumField, icmp.IsError);
        if (!icmp.IsError) return;
        if (icmp.TryGetExtension(out var ext, out _))
        {
            _ = (ext.ChecksumValid, ext.Version);
            foreach (var obj in ext.EnumerateObjects())
                for (int i = 0; i < obj.MplsEntryCount; i++) { _ = obj.MplsEntry(i); d.MplsLabelCount++; }
        }
        if (!icmp.TryGetQuotedDatagram(out var quoted, out _)) return;
        d.QuotedIp = quoted.ToRepr();
        if (quoted.Protocol == IpProtocol.Udp && quoted.FragmentOffset == 0 && quoted.Payload.Length >= UdpDatagram.HeaderLength)
        {
            var q = quoted.Payload;
            d.QuotedUdp = new UdpRepr((ushort)(q[0] << 8 | q[1]), (ushort)(q[2] << 8 | q[3]), (q[4] << 8 | q[5]) - UdpDatagram.HeaderLength);
        }
    }
}
