using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an IPv4 datagram (RFC 791).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the version is 4,
/// the header (IHL) and the total length lie inside the buffer, the total length covers the header,
/// and every option is well formed. Bytes past the total length (Ethernet padding) are excluded from
/// <see cref="Payload"/>. The header checksum is NOT checked by <see cref="TryParse"/>: read
/// <see cref="ChecksumValid"/> so the network layer can count bad checksums apart. The view never copies.
/// </para>
/// </summary>
public readonly ref struct Ipv4Packet
{
    /// <summary>Bytes of a header without options.</summary>
    public const int MinHeaderLength = 20;
    /// <summary>Bytes of the longest header.</summary>
    public const int MaxHeaderLength = 60;

    private readonly ReadOnlySpan<byte> _buffer; // exactly TotalLength bytes

    private Ipv4Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates version, IHL, total length and options.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv4Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < MinHeaderLength) { error = WireError.Truncated; return false; }
        if (buffer[0] >> 4 != 4) { error = WireError.BadVersion; return false; }
        // RFC 791 §3.1: IHL counts 32-bit words; "the minimum value for a correct header is 5".
        int headerLength = (buffer[0] & 0x0F) * 4;
        if (headerLength < MinHeaderLength) { error = WireError.BadLength; return false; }
        if (headerLength > buffer.Length) { error = WireError.Truncated; return false; }
        // RFC 791 §3.1: Total Length is the datagram, header and data; it cannot be shorter than the header.
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]);
        if (totalLength < headerLength) { error = WireError.BadLength; return false; }
        if (totalLength > buffer.Length) { error = WireError.Truncated; return false; }
        error = Ipv4Options.Validate(buffer[MinHeaderLength..headerLength]);
        if (error != WireError.None) return false;
        packet = new Ipv4Packet(buffer[..totalLength]);
        return true;
    }

    /// <summary>
    /// Validates the IPv4 header quoted inside an ICMP error, whose payload is usually cut short: as
    /// <see cref="TryParse"/> except that the total length may exceed the quote (RFC 792 quotes "the
    /// internet header + 64 bits of data"). <see cref="Payload"/> is then what was quoted, cut at the
    /// total length (RFC 4884 zero padding excluded); <see cref="TotalLength"/> reads the field.
    /// </summary>
    public static bool TryParseQuoted(ReadOnlySpan<byte> quote, out Ipv4Packet packet, out WireError error)
    {
        packet = default;
        if (quote.Length < MinHeaderLength) { error = WireError.Truncated; return false; }
        if (quote[0] >> 4 != 4) { error = WireError.BadVersion; return false; }
        int headerLength = (quote[0] & 0x0F) * 4;
        if (headerLength < MinHeaderLength) { error = WireError.BadLength; return false; }
        if (headerLength > quote.Length) { error = WireError.Truncated; return false; }
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(quote[2..]);
        if (totalLength < headerLength) { error = WireError.BadLength; return false; }
        error = Ipv4Options.Validate(quote[MinHeaderLength..headerLength]);
        if (error != WireError.None) return false;
        packet = new Ipv4Packet(quote[..Math.Min(totalLength, quote.Length)]);
        return true;
    }

    /// <summary>The version field (4).</summary>
    public int Version => _buffer[0] >> 4;
    /// <summary>Header length in bytes (IHL * 4).</summary>
    public int HeaderLength => (_buffer[0] & 0x0F) * 4;
    /// <summary>The whole Type of Service / Traffic Class byte.</summary>
    public byte Tos => _buffer[1];
    /// <summary>RFC 2474 Differentiated Services code point (upper 6 bits).</summary>
    public int Dscp => _buffer[1] >> 2;
    /// <summary>RFC 3168 ECN field (lower 2 bits).</summary>
    public EcnCodepoint Ecn => (EcnCodepoint)(_buffer[1] & 3);
    /// <summary>The Total Length field: header and data (equal to <see cref="Bytes"/>' length except in quotes).</summary>
    public int TotalLength => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>The identification field.</summary>
    public ushort Identification => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    /// <summary>RFC 791 §3.1 flags bit 0: reserved, must be zero (exposed so callers may count it).</summary>
    public bool ReservedFlag => (_buffer[6] & 0x80) != 0;
    /// <summary>DF: do not fragment.</summary>
    public bool DontFragment => (_buffer[6] & 0x40) != 0;
    /// <summary>MF: more fragments follow.</summary>
    public bool MoreFragments => (_buffer[6] & 0x20) != 0;
    /// <summary>Fragment offset in bytes (the field counts 8-byte units, RFC 791 §3.1).</summary>
    public int FragmentOffset => (BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]) & 0x1FFF) * 8;
    /// <summary>Time to live.</summary>
    public byte Ttl => _buffer[8];
    /// <summary>The payload's protocol.</summary>
    public IpProtocol Protocol => (IpProtocol)_buffer[9];
    /// <summary>The header checksum field.</summary>
    public ushort HeaderChecksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[10..]);
    /// <summary>The source address.</summary>
    public Ipv4Address Source => Ipv4Address.Read(_buffer[12..]);
    /// <summary>The destination address.</summary>
    public Ipv4Address Destination => Ipv4Address.Read(_buffer[16..]);

    /// <summary>RFC 791 §3.1: the header checksum verifies (sums with the field to all ones).</summary>
    public bool ChecksumValid => Checksum.Verify(Header);

    /// <summary>A fragment: more follow, or this is not the first (RFC 791 §2.3).</summary>
    public bool IsFragment => MoreFragments || FragmentOffset != 0;
    /// <summary>The first fragment of a fragmented datagram (offset 0, MF set): it carries the transport header.</summary>
    public bool IsFirstFragment => MoreFragments && FragmentOffset == 0;

    /// <summary>The header, options included.</summary>
    public ReadOnlySpan<byte> Header => _buffer[..HeaderLength];
    /// <summary>The options area (possibly with EOL padding), empty when IHL is 5.</summary>
    public ReadOnlySpan<byte> Options => _buffer[MinHeaderLength..HeaderLength];
    /// <summary>The options, one by one; well formed by construction.</summary>
    public Ipv4OptionEnumerator EnumerateOptions() => new(Options);
    /// <summary>Data after the header, up to Total Length (Ethernet padding excluded).</summary>
    public ReadOnlySpan<byte> Payload => _buffer[HeaderLength..];
    /// <summary>The datagram, header and payload, without trailing padding (what was quoted, for a quote).</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>The header's fields.</summary>
    public Ipv4Repr ToRepr() => new(Source, Destination, Protocol, TotalLength - HeaderLength, Ttl, Tos, Identification,
        DontFragment, MoreFragments, FragmentOffset, Options.Length);
}

/// <summary>RFC 3168 §5 ECN codepoints.</summary>
public enum EcnCodepoint : byte
{
    /// <summary>Not ECN-capable (RFC 3168 §5).</summary>
    NotEct = 0,
    /// <summary>ECN-capable transport, ECT(1).</summary>
    Ect1 = 1,
    /// <summary>ECN-capable transport, ECT(0).</summary>
    Ect0 = 2,
    /// <summary>Congestion experienced.</summary>
    CongestionExperienced = 3,
}

/// <summary>
/// The meaningful fields of an IPv4 header, which can be written in place with its checksum.
/// <paramref name="FragmentOffset"/> is in bytes (a multiple of 8); <paramref name="OptionsLength"/> is the
/// options area length before padding to 4 bytes (at most 40).
/// </summary>
public readonly record struct Ipv4Repr(
    Ipv4Address Source,
    Ipv4Address Destination,
    IpProtocol Protocol,
    int PayloadLength,
    byte Ttl = 64,
    byte Tos = 0,
    ushort Identification = 0,
    bool DontFragment = false,
    bool MoreFragments = false,
    int FragmentOffset = 0,
    int OptionsLength = 0)
{
    /// <summary>Bytes of the header, options and padding included.</summary>
    public int HeaderLength => Ipv4Packet.MinHeaderLength + Ipv4Options.PaddedLength(OptionsLength);
    /// <summary>Bytes the datagram takes.</summary>
    public int BufferLength => HeaderLength + PayloadLength;

    /// <summary>
    /// Writes the header (zero-filled options area) at the start of <paramref name="buffer"/>,
    /// computes the header checksum and returns the header length. The payload is not touched.
    /// </summary>
    public int Write(Span<byte> buffer) => Write(buffer, default);

    /// <summary>
    /// Writes the header with <paramref name="options"/> (padded with End of Option List octets up to
    /// <see cref="HeaderLength"/>), computes the header checksum, and returns the header length.
    /// </summary>
    public int Write(Span<byte> buffer, ReadOnlySpan<byte> options)
    {
        int headerLength = HeaderLength;
        buffer[0] = (byte)(0x40 | (headerLength / 4));
        buffer[1] = Tos;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)(headerLength + PayloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], Identification);
        int flagsOffset = (DontFragment ? 0x4000 : 0) | (MoreFragments ? 0x2000 : 0) | ((FragmentOffset / 8) & 0x1FFF);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)flagsOffset);
        buffer[8] = Ttl;
        buffer[9] = (byte)Protocol;
        buffer[10] = 0;
        buffer[11] = 0;
        Source.Write(buffer[12..]);
        Destination.Write(buffer[16..]);
        var area = buffer[Ipv4Packet.MinHeaderLength..headerLength];
        options.CopyTo(area);
        area[options.Length..].Clear(); // RFC 791 §3.1: padding is zeros (EOL).
        BinaryPrimitives.WriteUInt16BigEndian(buffer[10..], Checksum.Compute(buffer[..headerLength]));
        return headerLength;
    }
}
