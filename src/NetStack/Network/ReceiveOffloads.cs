using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>
/// Checks what a device says about a received frame (<see cref="FrameReceiveInfo"/>: its virtio-net header) against the
/// frame itself, before anything trusts it. A header that lies is a counted drop, never an exception and never a read
/// past the frame: gso_size 0 or larger than the payload, an unknown gso_type, a gso_type that does not match the packet,
/// csum_start/csum_offset outside the frame, a super-frame longer than the receive buffer. What survives becomes two facts
/// for the layers above (<see cref="LinkInfo.ChecksumTrusted"/>, <see cref="LinkInfo.GsoSize"/>), as Linux's
/// <c>virtio_net_hdr_to_skb</c> turns the header into CHECKSUM_PARTIAL/UNNECESSARY and gso fields.
/// </summary>
internal static class ReceiveOffloads
{
    private const int Ipv4MinHeader = 20;
    private const int Ipv6Header = 40;

    /// <summary>False (with <paramref name="reason"/>) when the frame must be dropped.</summary>
    public static bool TryAccept(Medium medium, ReadOnlySpan<byte> frame, in FrameReceiveInfo info, out bool checksumTrusted, out int gsoSize,
        out int partialStart, out int partialOffset, out DropReason reason)
    {
        checksumTrusted = false;
        gsoSize = 0;
        partialStart = -1;
        partialOffset = 0;
        reason = default;
        if (info.Truncated) { reason = DropReason.OffloadFrameTooLong; return false; }
        if (info.Virtio is not { } h) return true;

        int l3 = 0;
        if (medium == Medium.Ethernet)
        {
            // Only untagged IPv4/IPv6 frames carry offloads we use; anything else is left to the link layer to judge.
            if (frame.Length < EthernetFrame.HeaderLength) return RejectGso(h, out reason);
            var type = (EtherType)BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
            if (type is not (EtherType.Ipv4 or EtherType.Ipv6)) return RejectGso(h, out reason);
            l3 = EthernetFrame.HeaderLength;
        }

        // virtio 1.2 §5.1.6.2.1: the checksum field (2 bytes at csum_start + csum_offset) lies inside the frame.
        if (h.NeedsChecksum && (h.ChecksumStart < l3 || h.ChecksumStart + h.ChecksumOffset + 2 > frame.Length))
        {
            reason = DropReason.OffloadBadChecksumRange;
            return false;
        }

        if (h.NeedsChecksum)
        {
            partialStart = h.ChecksumStart - l3;
            partialOffset = h.ChecksumOffset;
        }
        if (!TryPeekTransport(frame[l3..], out var protocol, out int transportOffset, out bool isV4))
            return RejectGso(h, out reason); // not a plain IP packet: no super-frame, no trusted checksum

        switch (h.GsoType)
        {
            case VirtioGsoType.None:
                break;
            case VirtioGsoType.TcpV4 when isV4 && protocol == IpProtocol.Tcp:
            case VirtioGsoType.TcpV6 when !isV4 && protocol == IpProtocol.Tcp:
            case VirtioGsoType.UdpL4 when protocol == IpProtocol.Udp:
                int headers = transportOffset + (protocol == IpProtocol.Tcp ? TcpSegment.HeaderLength : UdpDatagram.HeaderLength);
                int payload = frame.Length - l3 - headers;
                if (h.GsoSize == 0 || h.GsoSize > payload) { reason = DropReason.OffloadBadGsoSize; return false; }
                gsoSize = h.GsoSize;
                break;
            case VirtioGsoType.TcpV4:
            case VirtioGsoType.TcpV6:
            case VirtioGsoType.UdpL4:
                reason = DropReason.OffloadGsoMismatch;
                return false;
            default:
                reason = DropReason.OffloadUnknownGsoType;
                return false;
        }

        // NEEDS_CSUM is trusted only where it says what a host's own TCP/UDP packet says: the sum starts at the transport
        // header. DATA_VALID covers the transport checksum of a plain TCP/UDP packet. Anything else is verified as usual.
        if (protocol is IpProtocol.Tcp or IpProtocol.Udp)
            checksumTrusted = h.NeedsChecksum ? h.ChecksumStart == l3 + transportOffset : h.DataValid;
        return true;
    }

    /// <summary>
    /// Completes the partial checksum of a packet about to be forwarded (<paramref name="packet"/> starts at the IP header):
    /// the Internet checksum of everything from <see cref="LinkInfo.PartialChecksumStart"/> to the end, the field itself
    /// holding the pseudo-header sum, stored in the field (virtio 1.2 §5.1.6.2, RFC 1071). Nothing when the checksums are whole.
    /// </summary>
    public static void CompleteChecksum(Span<byte> packet, in LinkInfo link)
    {
        int start = link.PartialChecksumStart;
        if (start < 0 || start + link.PartialChecksumOffset + 2 > packet.Length) return;
        var field = packet.Slice(start + link.PartialChecksumOffset, 2);
        ushort sum = Checksum.Compute(packet[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(field, sum);
    }

    private static bool RejectGso(in VirtioNetHeader h, out DropReason reason)
    {
        reason = h.GsoType switch
        {
            VirtioGsoType.None => default,
            VirtioGsoType.TcpV4 or VirtioGsoType.TcpV6 or VirtioGsoType.UdpL4 => DropReason.OffloadGsoMismatch,
            _ => DropReason.OffloadUnknownGsoType,
        };
        return h.GsoType == VirtioGsoType.None;
    }

    /// <summary>The transport protocol and its offset in an unfragmented IPv4 packet or an IPv6 packet without extension headers.</summary>
    private static bool TryPeekTransport(ReadOnlySpan<byte> packet, out IpProtocol protocol, out int offset, out bool isV4)
    {
        protocol = default;
        offset = 0;
        isV4 = false;
        if (packet.IsEmpty) return false;
        switch (packet[0] >> 4)
        {
            case 4:
                if (packet.Length < Ipv4MinHeader) return false;
                int ihl = (packet[0] & 0xF) * 4;
                if (ihl < Ipv4MinHeader || ihl > packet.Length) return false;
                ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
                if ((fragment & 0x3FFF) != 0) return false; // MF or a fragment offset: a fragment
                protocol = (IpProtocol)packet[9];
                offset = ihl;
                isV4 = true;
                return true;
            case 6:
                if (packet.Length < Ipv6Header) return false;
                protocol = (IpProtocol)packet[6];
                if (protocol is not (IpProtocol.Tcp or IpProtocol.Udp)) return false;
                offset = Ipv6Header;
                return true;
            default:
                return false;
        }
    }
}
