using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>The <c>gso_type</c> of a virtio-net header (virtio 1.2 §5.1.6, linux/virtio_net.h).</summary>
public enum VirtioGsoType : byte
{
    /// <summary>Not a super-frame.</summary>
    None = 0,
    /// <summary>A TCP over IPv4 super-frame (TSO4).</summary>
    TcpV4 = 1,
    /// <summary>UDP fragmentation offload (UFO), obsolete: never offered, refused when seen.</summary>
    Udp = 3,
    /// <summary>A TCP over IPv6 super-frame (TSO6).</summary>
    TcpV6 = 4,
    /// <summary>UDP segmentation (USO): the payload is cut into datagrams of <c>gso_size</c> bytes.</summary>
    UdpL4 = 5,
}

/// <summary>
/// The virtio-net header that precedes every frame on a TAP/TUN opened with <c>IFF_VNET_HDR</c> (10 bytes, or 12 with
/// <c>num_buffers</c> when <c>TUNSETVNETHDRSZ</c> set 12): how the frame was offloaded. Fields are little-endian (the
/// host's order on x86-64/arm64, virtio 1.x). This is the parsed form; <see cref="TryRead"/> reads it from bytes and
/// <see cref="Write"/> emits it. Nothing here is validated against a frame: the stack does that on receive (a header
/// that lies is a counted drop, see <c>DropReason.Offload*</c>).
/// </summary>
/// <param name="Flags"><see cref="FlagNeedsChecksum"/>, <see cref="FlagDataValid"/>.</param>
/// <param name="GsoType">The segmentation the frame asks for or went through; bit 0x80 (ECN) is kept in <see cref="Ecn"/>.</param>
/// <param name="HeaderLength">Bytes of headers (link to transport) before the segmented payload (a hint).</param>
/// <param name="GsoSize">The payload size of each segment of a super-frame.</param>
/// <param name="ChecksumStart">Offset in the frame where the checksummed data begins (NEEDS_CSUM).</param>
/// <param name="ChecksumOffset">Offset from <paramref name="ChecksumStart"/> where the checksum is stored.</param>
/// <param name="Ecn">gso_type's ECN bit: the super-frame had CWR set on its first segment.</param>
public readonly record struct VirtioNetHeader(byte Flags, VirtioGsoType GsoType, ushort HeaderLength, ushort GsoSize,
    ushort ChecksumStart, ushort ChecksumOffset, bool Ecn = false)
{
    /// <summary>The header without <c>num_buffers</c>.</summary>
    public const int Length = 10;

    /// <summary>The header with <c>num_buffers</c> (virtio_net_hdr_mrg_rxbuf).</summary>
    public const int MergeableLength = 12;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum at csum_start + csum_offset holds only the pseudo-header sum.</summary>
    public const byte FlagNeedsChecksum = 1;

    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the device verified the checksum.</summary>
    public const byte FlagDataValid = 2;

    private const byte GsoEcn = 0x80;

    /// <summary>A header for a frame with nothing offloaded (what the stack transmits today).</summary>
    public static VirtioNetHeader Plain => default;

    /// <summary>VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum holds only the pseudo-header sum and must be completed.</summary>
    public bool NeedsChecksum => (Flags & FlagNeedsChecksum) != 0;
    /// <summary>VIRTIO_NET_HDR_F_DATA_VALID: the device verified the checksum.</summary>
    public bool DataValid => (Flags & FlagDataValid) != 0;

    /// <summary>Reads a header from the first 10 bytes of <paramref name="buffer"/>; false when it is shorter.</summary>
    public static bool TryRead(ReadOnlySpan<byte> buffer, out VirtioNetHeader header)
    {
        if (buffer.Length < Length) { header = default; return false; }
        byte gso = buffer[1];
        header = new VirtioNetHeader(buffer[0], (VirtioGsoType)(gso & ~GsoEcn),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[2..]), BinaryPrimitives.ReadUInt16LittleEndian(buffer[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buffer[6..]), BinaryPrimitives.ReadUInt16LittleEndian(buffer[8..]),
            (gso & GsoEcn) != 0);
        return true;
    }

    /// <summary>Writes the header into <paramref name="buffer"/> (10 or 12 bytes; num_buffers is written as 0).</summary>
    public void Write(Span<byte> buffer)
    {
        buffer[0] = Flags;
        buffer[1] = (byte)((byte)GsoType | (Ecn ? GsoEcn : 0));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer[8..], ChecksumOffset);
        if (buffer.Length >= MergeableLength) BinaryPrimitives.WriteUInt16LittleEndian(buffer[10..], 0);
    }
}
