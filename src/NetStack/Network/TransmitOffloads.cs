using System.Buffers.Binary;
using System.Buffers;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>
/// The network layer's half of transmit offloads: turns what a transport asked (<see cref="IpSendOptions.PartialChecksum"/>,
/// <see cref="IpSendOptions.SegmentSize"/>) into a virtio-net header describing the IP packet (offsets from the IP header;
/// the link layer shifts them by its header), and makes the wire packets in software where the packet cannot leave whole
/// (loopback, a neighbour queue, fragmentation, a segment larger than the path MTU).
/// </summary>
internal static class TransmitOffloads
{
    /// <summary>The largest IP packet built as a super-segment: IPv4's Total Length limit (RFC 791 §3.1), also kept for IPv6.</summary>
    public const int MaxSuperPacket = 65535;

    /// <summary>A packet the layer made in software from a super-segment or a partially checksummed one.</summary>
    public delegate IpSendResult PacketSink(ReadOnlySpan<byte> packet);

    /// <summary>
    /// The header for a packet whose transport header starts at <paramref name="transportOffset"/> of the IP packet;
    /// <c>default</c> when nothing is offloaded. <paramref name="segments"/>: how many packets it stands for;
    /// <paramref name="segmentPacket"/>: the length of each full-sized one (headers + gso_size).
    /// </summary>
    public static VirtioNetHeader Describe(in IpSendOptions options, IpProtocol protocol, bool v4, int transportOffset,
        ReadOnlySpan<byte> transport, out int segments, out int segmentPacket)
    {
        segments = 1;
        segmentPacket = transportOffset + transport.Length;
        if (!options.PartialChecksum || protocol is not (IpProtocol.Tcp or IpProtocol.Udp)) return default;
        bool tcp = protocol == IpProtocol.Tcp;
        int thl;
        if (tcp)
        {
            if (transport.Length < TcpSegment.HeaderLength) return default;
            thl = (transport[12] >> 4) * 4;
        }
        else
        {
            thl = UdpDatagram.HeaderLength;
        }
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, (ushort)transportOffset, (ushort)(tcp ? 16 : 6));
        int payload = transport.Length - thl;
        int gso = options.SegmentSize;
        if (gso <= 0 || payload <= gso || thl > transport.Length) return h;
        segments = (payload + gso - 1) / gso;
        segmentPacket = transportOffset + thl + gso;
        return h with
        {
            GsoType = tcp ? (v4 ? VirtioGsoType.TcpV4 : VirtioGsoType.TcpV6) : VirtioGsoType.UdpL4,
            HeaderLength = (ushort)(transportOffset + thl),
            GsoSize = (ushort)gso,
        };
    }

    /// <summary>
    /// Hands each wire packet <paramref name="packet"/> (an IP packet described by <paramref name="header"/>) stands for to
    /// <paramref name="sink"/>: the segments of a super-segment, or the packet with its checksum completed. Stops at the
    /// first result other than <see cref="IpSendResult.Sent"/> and returns it.
    /// </summary>
    public static IpSendResult ForEachPacket(ReadOnlySpan<byte> packet, in VirtioNetHeader header, PacketSink sink)
    {
        int count = SoftwareSegmentation.SegmentCount(packet, 0, header, out int headers);
        if (count == 0) return IpSendResult.TooBig;
        int size = header.GsoType == VirtioGsoType.None ? packet.Length : headers + header.GsoSize;
        var scratch = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            for (int i = 0; i < count; i++)
            {
                int n = SoftwareSegmentation.WriteSegment(packet, 0, header, i, scratch);
                var r = sink(scratch.AsSpan(0, n));
                if (r != IpSendResult.Sent) return r;
            }
            return IpSendResult.Sent;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>The length of the TCP header at the start of <paramref name="transport"/> (its data offset), or UDP's 8; a
    /// large number for anything else or a header that does not parse, so that "segments fit" checks fail.</summary>
    public static int TransportHeaderLength(IpProtocol protocol, ReadOnlySpan<byte> transport) => protocol switch
    {
        IpProtocol.Tcp when transport.Length >= TcpSegment.HeaderLength => Math.Max((transport[12] >> 4) * 4, TcpSegment.HeaderLength),
        IpProtocol.Udp => UdpDatagram.HeaderLength,
        _ => ushort.MaxValue,
    };

    /// <summary>
    /// A received super-frame (<see cref="LinkInfo.GsoSize"/> &gt; 0) about to be forwarded whole (Linux forwards a GRO
    /// packet as a GSO one, <c>ip_forward</c> / <c>ip6_forward</c> checking each segment against the next hop's MTU with
    /// <c>skb_gso_validate_network_len</c>): the virtio-net header that describes it as the segments the sender sent (TSO
    /// for TCP, USO for UDP, gso_size as received), so that a device with the offload takes it whole and any other gets
    /// the segments made in software. The transport checksum field of <paramref name="packet"/> (its IP header at 0, TTL
    /// already decremented) is left, or set, to the pseudo-header sum that NEEDS_CSUM expects. False, and the packet
    /// untouched, when it is not a super-frame this can describe (a transport other than TCP or UDP, IPv6 extension
    /// headers, a TCP header that does not fit).
    /// </summary>
    public static bool TryDescribeForwarded(Span<byte> packet, bool v4, int transportOffset, IpProtocol protocol, in LinkInfo link,
        out VirtioNetHeader header, out int segmentPacket)
    {
        header = default;
        segmentPacket = 0;
        if (link.GsoSize <= 0 || protocol is not (IpProtocol.Tcp or IpProtocol.Udp) || transportOffset >= packet.Length) return false;
        bool tcp = protocol == IpProtocol.Tcp;
        var transport = packet[transportOffset..];
        int thl;
        if (tcp)
        {
            if (transport.Length < TcpSegment.HeaderLength) return false;
            thl = (transport[12] >> 4) * 4;
            if (thl < TcpSegment.HeaderLength || thl > transport.Length) return false;
        }
        else
        {
            if (transport.Length < UdpDatagram.HeaderLength) return false;
            thl = UdpDatagram.HeaderLength;
        }
        int csumOffset = tcp ? 16 : 6;
        if (link.PartialChecksumStart != transportOffset || link.PartialChecksumOffset != csumOffset)
        {
            // The checksum arrived whole (or vouched for): NEEDS_CSUM wants the field to hold the pseudo-header sum over the
            // transport length, which the device or software segmentation completes per segment.
            ulong pseudo = v4
                ? Checksum.PseudoHeaderV4(Ipv4Address.Read(packet[12..]), Ipv4Address.Read(packet[16..]), (byte)protocol, transport.Length)
                : Checksum.PseudoHeaderV6(Ipv6Address.Read(packet[8..]), Ipv6Address.Read(packet[24..]), (byte)protocol, transport.Length);
            BinaryPrimitives.WriteUInt16BigEndian(transport[csumOffset..], Checksum.Fold(pseudo));
        }
        if (!tcp) BinaryPrimitives.WriteUInt16BigEndian(transport[4..], (ushort)Math.Min(transport.Length, ushort.MaxValue));
        header = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum,
            tcp ? (v4 ? VirtioGsoType.TcpV4 : VirtioGsoType.TcpV6) : VirtioGsoType.UdpL4,
            (ushort)(transportOffset + thl), (ushort)link.GsoSize, (ushort)transportOffset, (ushort)csumOffset);
        segmentPacket = transportOffset + thl + link.GsoSize;
        return true;
    }
}
