using NetStack.Wire;
using NetStack.Simulation;

namespace NetStack.Tests.Ipv6.Support;

/// <summary>Builds Ethernet/IPv6 frames for tests, with our own wire writers.</summary>
internal static class V6Frames
{
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:aa:00:00:00:01");

    /// <summary>Ethernet + IPv6 header + <paramref name="payload"/> (the payload holds any extension headers).</summary>
    public static byte[] Ip(MacAddress dstMac, Ipv6Address src, Ipv6Address dst, IpProtocol next, ReadOnlySpan<byte> payload, byte hop = 64, MacAddress? srcMac = null)
    {
        var f = new byte[14 + 40 + payload.Length];
        new EthernetRepr(srcMac ?? PeerMac, dstMac, EtherType.Ipv6).Write(f);
        new Ipv6Repr(src, dst, next, payload.Length, hop).Write(f.AsSpan(14));
        payload.CopyTo(f.AsSpan(54));
        return f;
    }

    public static byte[] Icmp(MacAddress dstMac, Ipv6Address src, Ipv6Address dst, ReadOnlySpan<byte> icmp, byte hop = 64)
    {
        var body = icmp.ToArray();
        Icmpv6Packet.FillChecksum(body, src, dst);
        return Ip(dstMac, src, dst, IpProtocol.Icmpv6, body, hop);
    }

    public static byte[] EchoRequest(ushort id, ushort seq, int dataLength, Ipv6Address src, Ipv6Address dst)
    {
        var data = Enumerable.Range(0, dataLength).Select(i => (byte)i).ToArray();
        var repr = Icmpv6Repr.EchoRequest(id, seq, data);
        var b = new byte[repr.BufferLength];
        repr.Write(b, src, dst);
        return b;
    }

    /// <summary>The IPv6 packet of an Ethernet frame, if it is one.</summary>
    public static bool TryIpv6(byte[] frame, out Ipv6Packet ip)
    {
        ip = default;
        if (!EthernetFrame.TryParse(frame, out var eth, out _) || eth.EtherType != EtherType.Ipv6) return false;
        return Ipv6Packet.TryParse(frame.AsSpan(14), out ip, out _);
    }

    /// <summary>The ICMPv6 messages (type, code, whole message) in frames sent by a device.</summary>
    public static List<(Icmpv6Type Type, byte Code, byte[] Message, Ipv6Address Src, Ipv6Address Dst, byte HopLimit)> Icmpv6Sent(SimSegment hub, LinkEndpoint from)
    {
        var list = new List<(Icmpv6Type, byte, byte[], Ipv6Address, Ipv6Address, byte)>();
        foreach (var (d, f) in hub.Log)
        {
            if (d != from || !TryIpv6(f, out var ip)) continue;
            var bytes = ip.Bytes;
            if (!Ipv6HeaderChain.TryParse(bytes, out var chain, out _) || chain.End != Ipv6ChainEnd.UpperLayer || chain.Protocol != IpProtocol.Icmpv6) continue;
            var m = bytes[chain.ProtocolOffset..].ToArray();
            list.Add(((Icmpv6Type)m[0], m[1], m, ip.Source, ip.Destination, ip.HopLimit));
        }
        return list;
    }
}
