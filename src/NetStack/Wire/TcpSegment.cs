using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>TCP control bits (RFC 9293 §3.1, RFC 3168 ECE/CWR, RFC 3540 NS).</summary>
[Flags]
public enum TcpFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary>FIN: no more data from the sender.</summary>
    Fin = 0x001,
    /// <summary>SYN: synchronize sequence numbers.</summary>
    Syn = 0x002,
    /// <summary>RST: reset the connection.</summary>
    Rst = 0x004,
    /// <summary>PSH: push.</summary>
    Psh = 0x008,
    /// <summary>ACK: the acknowledgement field is significant.</summary>
    Ack = 0x010,
    /// <summary>URG: the urgent pointer is significant.</summary>
    Urg = 0x020,
    /// <summary>ECE: ECN echo (RFC 3168).</summary>
    Ece = 0x040,
    /// <summary>CWR: congestion window reduced (RFC 3168).</summary>
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
    /// <summary>Bytes of a header without options.</summary>
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

    /// <summary>The source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    /// <summary>The destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>The sequence number.</summary>
    public SeqNumber SequenceNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]));
    /// <summary>The acknowledgement number.</summary>
    public SeqNumber AckNumber => new(BinaryPrimitives.ReadUInt32BigEndian(_buffer[8..]));
    /// <summary>The data offset field, in 32-bit words.</summary>
    public int DataOffset => _buffer[12] >> 4;
    /// <summary>Bytes of the header, options included.</summary>
    public int HeaderSize => DataOffset * 4;
    /// <summary>The control flags.</summary>
    public TcpFlags Flags => (TcpFlags)(((_buffer[12] & 1) << 8) | _buffer[13]);
    /// <summary>The SYN flag.</summary>
    public bool Syn => (_buffer[13] & 0x02) != 0;
    /// <summary>The FIN flag.</summary>
    public bool Fin => (_buffer[13] & 0x01) != 0;
    /// <summary>The RST flag.</summary>
    public bool Rst => (_buffer[13] & 0x04) != 0;
    /// <summary>The ACK flag.</summary>
    public bool Ack => (_buffer[13] & 0x10) != 0;
    /// <summary>The URG flag.</summary>
    public bool Urg => (_buffer[13] & 0x20) != 0;
    /// <summary>The raw (unscaled) window field.</summary>
    public ushort Window => BinaryPrimitives.ReadUInt16BigEndian(_buffer[14..]);
    /// <summary>The checksum field.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[16..]);
    /// <summary>The urgent pointer.</summary>
    public ushort UrgentPointer => BinaryPrimitives.ReadUInt16BigEndian(_buffer[18..]);
    /// <summary>The options' bytes.</summary>
    public ReadOnlySpan<byte> Options => _buffer[HeaderLength..HeaderSize];
    /// <summary>The data after the header.</summary>
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

    /// <summary>The header's fields, options parsed.</summary>
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
    /// <summary>The source port.</summary>
    public ushort SourcePort { get; set; }
    /// <summary>The destination port.</summary>
    public ushort DestinationPort { get; set; }
    /// <summary>The sequence number.</summary>
    public SeqNumber SequenceNumber { get; set; }
    /// <summary>The acknowledgement number.</summary>
    public SeqNumber AckNumber { get; set; }
    /// <summary>The control flags.</summary>
    public TcpFlags Flags { get; set; }
    /// <summary>The window field as sent (already scaled down).</summary>
    public ushort Window { get; set; }
    /// <summary>The urgent pointer.</summary>
    public ushort UrgentPointer { get; set; }
    /// <summary>The MSS option (RFC 9293 §3.7.1), when sent.</summary>
    public ushort? Mss { get; set; }
    /// <summary>The window scale option's shift (RFC 7323 §2), when sent.</summary>
    public byte? WindowScale { get; set; }
    /// <summary>The SACK-permitted option (RFC 2018).</summary>
    public bool SackPermitted { get; set; }
    /// <summary>The timestamps option (RFC 7323 §3), when sent.</summary>
    public TcpTimestamps? Timestamps { get; set; }
    /// <summary>The SACK blocks to send (RFC 2018).</summary>
    public TcpSackBlocks SackBlocks { get; set; }

    /// <summary>Options bytes before padding.</summary>
    public readonly int RawOptionsLength =>
        (Mss.HasValue ? 4 : 0) + (WindowScale.HasValue ? 3 : 0) + (SackPermitted ? 2 : 0)
        + (Timestamps.HasValue ? 10 : 0) + (SackBlocks.Count > 0 ? 2 + 8 * SackBlocks.Count : 0);

    /// <summary>Header length including options padded to 4 bytes (at most 60).</summary>
    public readonly int HeaderLength => TcpSegment.HeaderLength + ((RawOptionsLength + 3) & ~3);

    /// <summary>Bytes the segment takes with <paramref name="payloadLength"/> bytes of data.</summary>
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
