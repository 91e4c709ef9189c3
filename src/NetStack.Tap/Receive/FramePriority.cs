using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>
/// The early look a receive thread takes at a frame before the stack sees it (<see cref="ReceiveThreadDevice"/>): is it
/// a bare TCP SYN (SYN without ACK, RST or FIN), the one kind of segment that asks a listener for new state and that a
/// flood from spoofed sources is made of? Under overload those are dropped first, and everything else (ACKs, data,
/// established flows, ARP, NDP) goes through (RFC 4987 §3). Anything this does not recognise (VLAN tags, IPv6 extension
/// headers, fragments, super-frames) counts as "not a bare SYN" and goes through to the stack, which has its own
/// shedding (<c>StackOptions.SynsPerPollUnderLoad</c>).
/// </summary>
public static class FramePriority
{
    private const byte Syn = 0x02, Rst = 0x04, Fin = 0x01, Ack = 0x10;

    /// <summary>
    /// True when <paramref name="frame"/> (an Ethernet frame, or a bare IP packet on <see cref="Medium.Ip"/>) is an
    /// unfragmented IPv4 or IPv6 packet carrying a TCP segment with SYN set and ACK, RST and FIN clear;
    /// <paramref name="source"/> is then its source address.
    /// </summary>
    public static bool IsBareSyn(ReadOnlySpan<byte> frame, Medium medium, out IpAddress source)
    {
        source = default;
        ReadOnlySpan<byte> ip;
        if (medium == Medium.Ethernet)
        {
            if (frame.Length < 14) return false;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
            if (type != 0x0800 && type != 0x86DD) return false;
            ip = frame[14..];
        }
        else
        {
            ip = frame;
        }
        if (ip.Length < 20) return false;
        int version = ip[0] >> 4;
        if (version == 4)
        {
            int ihl = (ip[0] & 0x0F) * 4;
            if (ihl < 20 || ip[9] != 6) return false;
            // A fragment (More Fragments or an offset) is reassembled by the stack before anyone looks at TCP.
            if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0) return false;
            if (ip.Length < ihl + 14) return false;
            if (!IsBareSynFlags(ip[ihl + 13])) return false;
            source = Ipv4Address.Read(ip[12..]);
            return true;
        }
        if (version == 6)
        {
            if (ip.Length < 40 + 14 || ip[6] != 6) return false;
            if (!IsBareSynFlags(ip[40 + 13])) return false;
            source = Ipv6Address.Read(ip[8..]);
            return true;
        }
        return false;
    }

    private static bool IsBareSynFlags(byte flags) => (flags & (Syn | Ack | Rst | Fin)) == Syn;
}
