using System.Buffers;
using System.Buffers.Binary;
using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// What a transmitted frame asks of the device beyond moving its bytes; <c>default</c> for a plain, whole frame. Today:
/// a virtio-net header (<see cref="VirtioNetHeader"/>, offsets from the start of the frame): a partial transport checksum
/// (<c>NEEDS_CSUM</c>: the field holds the pseudo-header sum) and/or a super-frame to be cut into segments of
/// <c>gso_size</c> payload bytes (TSO/USO). The stack hands such a frame only to a device whose
/// <see cref="INetDevice.Capabilities"/> offer it; any other device gets the frames <see cref="SoftwareSegmentation"/> makes.
/// </summary>
public readonly record struct FrameTransmitInfo
{
    /// <summary>The offloads asked for, as the virtio-net header the frame goes out with.</summary>
    public VirtioNetHeader Virtio { get; init; }

    /// <summary>True when nothing is offloaded (the frame is whole).</summary>
    public bool IsPlain => Virtio == default;
}

/// <summary>
/// Software segmentation and checksum completion (Linux's GSO, <c>skb_segment</c> with <c>tcp_gso_segment</c> /
/// <c>__udp_gso_segment</c>, and <c>skb_checksum_help</c>): turns a frame described by a virtio-net header into the
/// wire frames a device with TSO/USO and checksum offload would have sent. Used where the device cannot (pcap, in-memory
/// links, TUN without a virtio-net header, a TAP with offloads off), so that TCP builds the same super-segments on every
/// device and the simulator and its fault injector see exactly what a wire would carry.
/// <para>
/// Each TCP segment gets the header of the super-frame with: IPv4 total length, Identification (first + i) and header
/// checksum; IPv6 payload length; sequence number advanced by i × gso_size; FIN and PSH only on the last segment, CWR
/// only on the first (as <c>tcp_gso_segment</c>); a whole checksum. UDP (USO) datagrams get their length and checksum.
/// A frame without segmentation but with <c>NEEDS_CSUM</c> gets its checksum completed.
/// </para>
/// Offsets in the header are from the start of the frame; <c>networkOffset</c> is where the IP header starts (14 on
/// Ethernet, 0 on a raw-IP medium). Headers that do not describe the frame (a lie, a bug) yield no segment.
/// </summary>
public static class SoftwareSegmentation
{
    private const byte TcpFin = 0x01;
    private const byte TcpPsh = 0x08;
    private const byte TcpCwr = 0x80;

    /// <summary>
    /// How many frames <paramref name="frame"/> becomes: 1 without segmentation, ceil(payload / gso_size) with it, 0 when
    /// the header does not describe the frame (the frame cannot be sent as asked). <paramref name="headerLength"/> is the
    /// bytes of headers (link to transport) copied in front of each segment's payload.
    /// </summary>
    public static int SegmentCount(ReadOnlySpan<byte> frame, int networkOffset, in VirtioNetHeader header, out int headerLength)
    {
        headerLength = 0;
        if (networkOffset < 0 || frame.Length <= networkOffset) return 0;
        if (header.NeedsChecksum && (header.ChecksumStart < networkOffset || header.ChecksumStart + header.ChecksumOffset + 2 > frame.Length))
            return 0;
        if (header.GsoType == VirtioGsoType.None) return 1;
        int version = frame[networkOffset] >> 4;
        bool tcp = header.GsoType is VirtioGsoType.TcpV4 or VirtioGsoType.TcpV6;
        if (header.GsoType == VirtioGsoType.TcpV4 && version != 4) return 0;
        if (header.GsoType == VirtioGsoType.TcpV6 && version != 6) return 0;
        if (header.GsoType == VirtioGsoType.UdpL4 && version is not (4 or 6)) return 0;
        if (!tcp && header.GsoType != VirtioGsoType.UdpL4) return 0;
        if (version == 4 && (frame.Length < networkOffset + Ipv4Packet.MinHeaderLength)) return 0;
        if (version == 6 && (frame.Length < networkOffset + Ipv6Packet.HeaderLength)) return 0;
        int transport = header.ChecksumStart;
        int minTransport = networkOffset + (version == 4 ? (frame[networkOffset] & 0xF) * 4 : Ipv6Packet.HeaderLength);
        if (!header.NeedsChecksum || transport < minTransport) return 0;
        int thl;
        if (tcp)
        {
            if (header.ChecksumOffset != 16 || frame.Length < transport + TcpSegment.HeaderLength) return 0;
            thl = (frame[transport + 12] >> 4) * 4;
            if (thl < TcpSegment.HeaderLength) return 0;
        }
        else
        {
            if (header.ChecksumOffset != 6) return 0;
            thl = UdpDatagram.HeaderLength;
        }
        headerLength = transport + thl;
        int payload = frame.Length - headerLength;
        if (payload <= 0 || header.GsoSize == 0) return 0;
        return (payload + header.GsoSize - 1) / header.GsoSize;
    }

    /// <summary>
    /// Writes frame <paramref name="index"/> (of <see cref="SegmentCount"/>) of <paramref name="frame"/> into
    /// <paramref name="destination"/> and returns its length (0 when the header does not describe the frame or the
    /// destination is too small).
    /// </summary>
    public static int WriteSegment(ReadOnlySpan<byte> frame, int networkOffset, in VirtioNetHeader header, int index, Span<byte> destination)
    {
        int count = SegmentCount(frame, networkOffset, header, out int hdrLen);
        if (index < 0 || index >= count) return 0;
        if (header.GsoType == VirtioGsoType.None)
        {
            if (destination.Length < frame.Length) return 0;
            frame.CopyTo(destination);
            if (header.NeedsChecksum) CompleteChecksum(destination[..frame.Length], header);
            return frame.Length;
        }
        int gso = header.GsoSize;
        int offset = hdrLen + index * gso;
        int len = Math.Min(gso, frame.Length - offset);
        int total = hdrLen + len;
        if (destination.Length < total) return 0;
        frame[..hdrLen].CopyTo(destination);
        frame.Slice(offset, len).CopyTo(destination[hdrLen..]);
        var seg = destination[..total];
        var ip = seg[networkOffset..];
        int transport = header.ChecksumStart;
        int transportLength = total - transport;
        ulong pseudo;
        byte protocol;
        if (ip[0] >> 4 == 4)
        {
            int ihl = (ip[0] & 0xF) * 4;
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(total - networkOffset));
            ushort id = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(id + index));
            ip[10] = 0; ip[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..ihl]));
            protocol = ip[9];
            pseudo = Checksum.Accumulate(ip.Slice(12, 8)) + protocol + (ulong)(uint)transportLength;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(total - networkOffset - Ipv6Packet.HeaderLength));
            protocol = header.GsoType == VirtioGsoType.UdpL4 ? (byte)IpProtocol.Udp : (byte)IpProtocol.Tcp;
            pseudo = Checksum.Accumulate(ip.Slice(8, 32)) + protocol + (ulong)(uint)transportLength;
        }
        var t = seg[transport..];
        if (header.GsoType == VirtioGsoType.UdpL4)
        {
            BinaryPrimitives.WriteUInt16BigEndian(t[4..], (ushort)transportLength);
            t[6] = 0; t[7] = 0;
            ushort sum = Checksum.Compute(t, pseudo);
            BinaryPrimitives.WriteUInt16BigEndian(t[6..], sum == 0 ? (ushort)0xFFFF : sum); // RFC 768: 0 means "none"
        }
        else
        {
            uint seq = BinaryPrimitives.ReadUInt32BigEndian(t[4..]);
            BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq + (uint)(index * gso));
            if (index > 0) t[13] &= unchecked((byte)~TcpCwr);
            if (index < count - 1) t[13] &= unchecked((byte)~(TcpFin | TcpPsh));
            t[16] = 0; t[17] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(t[16..], Checksum.Compute(t, pseudo));
        }
        return total;
    }

    /// <summary>
    /// Completes a partial checksum in place (virtio 1.2 §5.1.6.2, RFC 1071): the Internet checksum of everything from
    /// csum_start to the end of the frame, the field holding the pseudo-header sum, stored in the field. Nothing when
    /// the header asks for no checksum or points outside the frame.
    /// </summary>
    public static void CompleteChecksum(Span<byte> frame, in VirtioNetHeader header)
    {
        if (!header.NeedsChecksum) return;
        int start = header.ChecksumStart;
        if (start + header.ChecksumOffset + 2 > frame.Length) return;
        ushort sum = Checksum.Compute(frame[start..]);
        // A UDP checksum that computes to 0 is sent as all ones (RFC 768); csum_offset 6 is UDP's field.
        if (sum == 0 && header.ChecksumOffset == 6) sum = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(frame[(start + header.ChecksumOffset)..], sum);
    }

    /// <summary>
    /// Sends <paramref name="frame"/> as the frames it stands for, one <see cref="INetDevice.Transmit(ReadOnlySpan{byte}, Instant)"/>
    /// each (what a device without the offloads does with an offloaded frame). Returns the number of frames sent; 0 when
    /// the header does not describe the frame.
    /// </summary>
    public static int Transmit(INetDevice device, ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (info.IsPlain)
        {
            device.Transmit(frame, now);
            return 1;
        }
        int networkOffset = device.Medium == Medium.Ethernet ? EthernetFrame.HeaderLength : 0;
        var h = info.Virtio;
        int count = SegmentCount(frame, networkOffset, h, out int hdrLen);
        if (count == 0) return 0;
        int largest = h.GsoType == VirtioGsoType.None ? frame.Length : hdrLen + h.GsoSize;
        var buffer = ArrayPool<byte>.Shared.Rent(largest);
        try
        {
            for (int i = 0; i < count; i++)
            {
                int n = WriteSegment(frame, networkOffset, h, i, buffer);
                device.Transmit(buffer.AsSpan(0, n), now);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return count;
    }
}
