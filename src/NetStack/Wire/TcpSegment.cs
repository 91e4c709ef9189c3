using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>TCP control bits (RFC 9293 §3.1, RFC 3168 ECE/CWR, RFC 3540 NS).</summary>
[Flags]
public enum TcpFlags : ushort
{
    None = 0,
    Fin = 0x001,
    Syn = 0x002,
    Rst = 0x004,
    Psh = 0x008,
    Ack = 0x010,
    Urg = 0x020,
    Ece = 0x040,
    Cwr = 0x080,
    /// <summary>RFC 3540 ECN nonce sum (historic), the low bit of the reserved nibble.</summary>
    Ns = 0x100,
}

/// <summary>
/// A read-only view of a TCP segment (RFC 9293 §3.1): header, options and payload.
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the data offset
/// is between 5 and the buffer, and every option length was checked. The view never copies.
/// The checksum is not checked by <see cref="TryParse"/> (it needs the pseudo-header): call <see cref="VerifyChecksum(ulong)"/>.
/// </para>
/// </summary>
public readonly ref struct TcpSegment
{
    public const int HeaderLength = 20;
    /// <summary>The largest header: data offset 15 (60 bytes, 40 of options).</summary>
    public const int MaxHeaderLength = 60;

    private readonly ReadOnlySpan<byte> _buffer;

    private TcpSegment(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the fixed header, the data offset and the options.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out TcpSegment segment, out WireError error)
    {
        segment = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        int headerSize = (buffer[12] >> 4) * 4;
        // RFC 9293 §3.1: the data offset counts 32-bit words and is at least 5.
        if (headerSize < HeaderLength || headerSize > buffer.Length) { error = WireError.BadLength; return false; }
        error = TcpOptionReader.Validate(buffer[HeaderLength..headerSize]);
        if (error != WireError.None) return false;
        segment = new TcpSegment(buffer);
        return true;
    }

    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    public SeqNumber SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]));
    public SeqNumber AckNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[8..]));
    /// <summary>The data offset field, in 32-bit words.</summary>
    public int DataOffset => _buffer[12] >> 4;
    public int HeaderSize => DataOffset * 4;
    public TcpFlags Flags => (TcpFlags)(((_buffer[12] & 1) << 8) | _buffer[13]);
    public bool Syn => (_buffer[13] & 0x02) != 0;
    public bool Fin => (_buffer[13] & 0x01) != 0;
    public bool Rst => (_buffer[13] & 0x04) != 0;
    public bool Ack => (_buffer[13] & 0x10) != 0;
    public bool Urg => (_buffer[13] & 0x20) != 0;
    /// <summary>The raw (unscaled) window field.</summary>
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_buffer[14..]);
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[16..]);
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_buffer[18..]);
    public ReadOnlySpan<byte> Options => _buffer[HeaderLength..HeaderSize];
    public ReadOnlySpan<byte> Payload => _buffer[HeaderSize..];
    /// <summary>The whole segment, header and payload.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>SEG.LEN (RFC 9293 §3.4): payload octets plus one each for SYN and FIN.</summary>
    public int SegmentLength => Payload.Length + (Syn ? 1 : 0) + (Fin ? 1 : 0);

    /// <summary>The walker over <see cref="Options"/> (already validated: never reports an error).</summary>
    public TcpOptionReader ReadOptions() => new(Options);

    /// <summary>True when the checksum verifies given the pseudo-header sum (<see cref="Wire.Checksum.PseudoHeader"/> with the segment length).</summary>
    public bool VerifyChecksum(ulong pseudoHeaderSum) => Wire.Checksum.Verify(_buffer, pseudoHeaderSum);

    /// <summary>Verifies against the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>.</summary>
    public bool VerifyChecksum(IpAddress source, IpAddress destination) =>
        VerifyChecksum(Wire.Checksum.PseudoHeader(source, destination, (byte)IpProtocol.Tcp, _buffer.Length));

    public TcpRepr ToRepr()
    {
        var repr = new TcpRepr
        {
            SourcePort = SourcePort,
            DestinationPort = DestinationPort,
            SequenceNumber = SequenceNumber,
            AckNumber = AckNumber,
            Flags = Flags,
            Window = Window,
            UrgentPointer = UrgentPointer,
        };
        var r = ReadOptions();
        while (r.TryNext(out var kind, out var data, out _))
        {
            switch (kind)
            {
                case TcpOptionKind.MaxSegmentSize: repr.Mss = BinaryPrimitives.ReadUInt16BigEndian(data); break;
                case TcpOptionKind.WindowScale: repr.WindowScale = data[0]; break;
                case TcpOptionKind.SackPermitted: repr.SackPermitted = true; break;
                case TcpOptionKind.Timestamps:
                    repr.Timestamps = new TcpTimestamps(BinaryPrimitives.ReadUInt32BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    break;
                case TcpOptionKind.Sack:
                    var blocks = new TcpSackBlocks();
                    for (int i = 0; i + 8 <= data.Length; i += 8)
                        blocks.TryAdd(new SackBlock(new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(data[i..])),
                            new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(data[(i + 4)..]))));
                    repr.SackBlocks = blocks;
                    break;
            }
        }
        return repr;
    }
}

/// <summary>
/// The meaningful fields of a TCP header, options as fields, which can be written in place
/// with the payload and checksum. Options are emitted in the order MSS, window scale, SACK-permitted,
/// timestamps, SACK, NOP-padded to a 32-bit boundary (RFC 9293 §3.1: the header ends on a 32-bit boundary).
/// </summary>
public record struct TcpRepr
{
    public ushort SourcePort { get; set; }
    public ushort DestinationPort { get; set; }
    public SeqNumber SequenceNumber { get; set; }
    public SeqNumber AckNumber { get; set; }
    public TcpFlags Flags { get; set; }
    /// <summary>The window field as sent (already scaled down).</summary>
    public ushort Window { get; set; }
    public ushort UrgentPointer { get; set; }
    public ushort? Mss { get; set; }
    public byte? WindowScale { get; set; }
    public bool SackPermitted { get; set; }
    public TcpTimestamps? Timestamps { get; set; }
    public TcpSackBlocks SackBlocks { get; set; }

    /// <summary>Options bytes before padding.</summary>
    public readonly int RawOptionsLength =>
        (Mss.HasValue ? 4 : 0) + (WindowScale.HasValue ? 3 : 0) + (SackPermitted ? 2 : 0)
        + (Timestamps.HasValue ? 10 : 0) + (SackBlocks.Count > 0 ? 2 + 8 * SackBlocks.Count : 0);

    /// <summary>Header length including options padded to 4 bytes (at most 60).</summary>
    public readonly int HeaderLength => TcpSegment.HeaderLength + ((RawOptionsLength + 3) & ~3);

    public readonly int BufferLength(int payloadLength) => HeaderLength + payloadLength;

    /// <summary>
    /// Writes header, options and <paramref name="payload"/> at the start of <paramref name="buffer"/>,
    /// computes the checksum with <paramref name="pseudoHeaderSum"/> (the pseudo-header for the total length)
    /// and returns the total length. The payload may already be in place (same span), in which case it is not copied.
    /// </summary>
    public readonly int Write(Span<byte> buffer, ReadOnlySpan<byte> payload, ulong pseudoHeaderSum) =>
        Write(buffer, payload, pseudoHeaderSum, partialChecksum: false);

    /// <summary>
    /// <see cref="Write(Span{byte}, ReadOnlySpan{byte}, ulong)"/>, or with <paramref name="partialChecksum"/> a checksum
    /// field holding only the folded pseudo-header sum (Linux CHECKSUM_PARTIAL, virtio NEEDS_CSUM) for the device, or the
    /// network layer, to complete: the payload is not summed here.
    /// </summary>
    public readonly int Write(Span<byte> buffer, ReadOnlySpan<byte> payload, ulong pseudoHeaderSum, bool partialChecksum)
    {
        int h = HeaderLength;
        int total = h + payload.Length;
        if (!payload.IsEmpty && !payload.Overlaps(buffer[h..]))
            payload.CopyTo(buffer[h..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], SequenceNumber.Value);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], AckNumber.Value);
        buffer[12] = (byte)((h / 4) << 4 | ((int)Flags >> 8 & 1));
        buffer[13] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[14..], Window);
        buffer[16] = 0; buffer[17] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[18..], UrgentPointer);
        int o = TcpSegment.HeaderLength;
        if (Mss is { } mss)
        {
            buffer[o] = 2; buffer[o + 1] = 4; BinaryPrimitives.WriteUInt16BigEndian(buffer[(o + 2)..], mss); o += 4;
        }
        if (WindowScale is { } ws) { buffer[o] = 3; buffer[o + 1] = 3; buffer[o + 2] = ws; o += 3; }
        if (SackPermitted) { buffer[o] = 4; buffer[o + 1] = 2; o += 2; }
        if (Timestamps is { } ts)
        {
            buffer[o] = 8; buffer[o + 1] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(o + 2)..], ts.Value);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(o + 6)..], ts.Echo);
            o += 10;
        }
        if (SackBlocks.Count > 0)
        {
            buffer[o] = 5; buffer[o + 1] = (byte)(2 + 8 * SackBlocks.Count); o += 2;
            for (int i = 0; i < SackBlocks.Count; i++)
            {
                BinaryPrimitives.WriteUInt32BigEndian(buffer[o..], SackBlocks[i].Left.Value);
                BinaryPrimitives.WriteUInt32BigEndian(buffer[(o + 4)..], SackBlocks[i].Right.Value);
                o += 8;
            }
        }
        while (o < h) buffer[o++] = (byte)TcpOptionKind.NoOperation;
        ushort sum = partialChecksum ? Checksum.Fold(pseudoHeaderSum) : Checksum.Compute(buffer[..total], pseudoHeaderSum);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[16..], sum);
        return total;
    }

    /// <summary>Writes with the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>.</summary>
    public readonly int Write(Span<byte> buffer, ReadOnlySpan<byte> payload, IpAddress source, IpAddress destination) =>
        Write(buffer, payload, Checksum.PseudoHeader(source, destination, (byte)IpProtocol.Tcp, HeaderLength + payload.Length));
}
