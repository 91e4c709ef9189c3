using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Support;

/// <summary>
/// Hand-built frames for interop tests. Ethernet goes through the Wire view/Repr; ARP, IPv6/ICMPv6 and
/// IPv4/ICMP bodies are raw bytes here (their wire types are written elsewhere, concurrently).
/// </summary>
internal static class TestFrames
{
    public const ushort ArpRequest = 1, ArpReply = 2;

    /// <summary>An ARP request (RFC 826) for <paramref name="target"/>, broadcast.</summary>
    public static byte[] ArpRequestFor(MacAddress ourMac, Ipv4Address ourIp, Ipv4Address target)
    {
        var frame = new byte[14 + 28];
        int o = new EthernetRepr(ourMac, MacAddress.Broadcast, EtherType.Arp).Write(frame);
        var arp = frame.AsSpan(o);
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);            // hardware type: Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(arp[2..], 0x0800);  // protocol type: IPv4
        arp[4] = 6; arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp[6..], ArpRequest);
        ourMac.Write(arp[8..]);
        ourIp.Write(arp[14..]);
        MacAddress.Zero.Write(arp[18..]);
        target.Write(arp[24..]);
        return frame;
    }

    /// <summary>Decodes an Ethernet ARP packet: (operation, sender MAC, sender IP, target MAC, target IP), or null.</summary>
    public static (ushort Op, MacAddress Sha, Ipv4Address Spa, MacAddress Tha, Ipv4Address Tpa)? ParseArp(ReadOnlySpan<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out var eth, out _) || eth.EtherType != EtherType.Arp || eth.Payload.Length < 28) return null;
        var a = eth.Payload;
        return (BinaryPrimitives.ReadUInt16BigEndian(a[6..]), MacAddress.Read(a[8..]), Ipv4Address.Read(a[14..]),
                MacAddress.Read(a[18..]), Ipv4Address.Read(a[24..]));
    }

    /// <summary>An IPv6 neighbor solicitation (RFC 4861 §4.3) for <paramref name="target"/>, sent to its solicited-node group, with our link-layer address option.</summary>
    public static byte[] NeighborSolicitation(MacAddress ourMac, Ipv6Address ourIp, Ipv6Address target)
    {
        const int icmpLength = 24 + 8;
        var group = target.SolicitedNode;
        var frame = new byte[14 + 40 + icmpLength];
        int o = new EthernetRepr(ourMac, MacAddress.ForIpv6Multicast(group), EtherType.Ipv6).Write(frame);
        var ip = frame.AsSpan(o);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], icmpLength);
        ip[6] = 58;     // ICMPv6
        ip[7] = 255;    // RFC 4861 §7.1.1: hop limit 255
        ourIp.Write(ip[8..]);
        group.Write(ip[24..]);
        var icmp = ip[40..];
        icmp[0] = 135;
        target.Write(icmp[8..]);
        icmp[24] = 1; icmp[25] = 1;  // source link-layer address option, 8 bytes
        ourMac.Write(icmp[26..]);
        ushort sum = Checksum.Compute(icmp[..icmpLength], Checksum.PseudoHeaderV6(ourIp, group, 58, icmpLength));
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], sum);
        return frame;
    }

    /// <summary>The target of a neighbor advertisement (ICMPv6 type 136) in an Ethernet frame, or null.</summary>
    public static Ipv6Address? ParseNeighborAdvertisementTarget(ReadOnlySpan<byte> frame)
    {
        if (!EthernetFrame.TryParse(frame, out var eth, out _) || eth.EtherType != EtherType.Ipv6) return null;
        var ip = eth.Payload;
        if (ip.Length < 40 + 24 || ip[6] != 58 || ip[40] != 136) return null;
        return Ipv6Address.Read(ip[48..]);
    }

    /// <summary>Whether <paramref name="packet"/> is an IPv4 ICMP echo request from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static bool IsEchoRequest(ReadOnlySpan<byte> packet, Ipv4Address source, Ipv4Address destination)
    {
        if (packet.Length < 28 || packet[0] >> 4 != 4 || packet[9] != 1) return false;
        int ihl = (packet[0] & 0xF) * 4;
        return packet.Length >= ihl + 8 && Ipv4Address.Read(packet[12..]) == source && Ipv4Address.Read(packet[16..]) == destination && packet[ihl] == 8;
    }

    /// <summary>Turns an IPv4 echo request into its echo reply (RFC 792): swap addresses, type 0, new ICMP checksum.</summary>
    public static byte[] EchoReplyTo(ReadOnlySpan<byte> request)
    {
        var p = request.ToArray();
        int ihl = (p[0] & 0xF) * 4;
        int total = BinaryPrimitives.ReadUInt16BigEndian(p.AsSpan(2));
        p.AsSpan(12, 4).CopyTo(p.AsSpan(16, 4));
        request.Slice(16, 4).CopyTo(p.AsSpan(12, 4)); // swapped addresses keep the header checksum (a sum commutes)
        var icmp = p.AsSpan(ihl, total - ihl);
        icmp[0] = 0;
        icmp[2] = 0; icmp[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum.Compute(icmp));
        return p[..total];
    }
}
