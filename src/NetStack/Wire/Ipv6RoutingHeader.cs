namespace NetStack.Wire;

/// <summary>
/// A read-only view of a generic IPv6 Routing header (RFC 8200 §4.4): next header, length in 8-octet
/// units (not counting the first 8), routing type, segments left, type-specific data.
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, the whole header is in the buffer.</para>
/// </summary>
public readonly ref struct Ipv6RoutingHeader
{
    /// <summary>Bytes of the shortest routing header.</summary>
    public const int MinimumLength = 8;
    /// <summary>Offset of the Routing Type field (RFC 8200 §4.4: Parameter Problem code 0 points here for an
    /// unrecognized type with segments left non-zero).</summary>
    public const int RoutingTypeFieldOffset = 2;
    private readonly ReadOnlySpan<byte> _buffer;

    private Ipv6RoutingHeader(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6RoutingHeader header, out WireError error)
    {
        header = default;
        if (buffer.Length < MinimumLength) { error = WireError.Truncated; return false; }
        int length = (buffer[1] + 1) * 8;
        if (length > buffer.Length) { error = WireError.Truncated; return false; }
        header = new Ipv6RoutingHeader(buffer[..length]);
        error = WireError.None;
        return true;
    }

    /// <summary>The header that follows.</summary>
    public IpProtocol NextHeader => (IpProtocol)_buffer[0];
    /// <summary>Bytes of the header.</summary>
    public int Length => _buffer.Length;
    /// <summary>The routing type.</summary>
    public byte RoutingType => _buffer[2];
    /// <summary>Route segments still to visit.</summary>
    public byte SegmentsLeft => _buffer[3];
    /// <summary>Everything after the first four octets (RFC 8200 §4.4 "type-specific data").</summary>
    public ReadOnlySpan<byte> TypeSpecificData => _buffer[4..];
    /// <summary>The whole header.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>The header's fields.</summary>
    public Ipv6RoutingRepr ToRepr() => new(NextHeader, RoutingType, SegmentsLeft, TypeSpecificData.ToArray());
}

/// <summary>A generic Routing header to write; the data is zero-padded to a multiple of 8 octets overall.</summary>
public readonly record struct Ipv6RoutingRepr(IpProtocol NextHeader, byte RoutingType, byte SegmentsLeft, ReadOnlyMemory<byte> TypeSpecificData)
{
    /// <summary>Bytes of the header, padded to a multiple of 8.</summary>
    public int HeaderLength => (4 + TypeSpecificData.Length + 7) & ~7;
    /// <summary>Bytes the header takes.</summary>
    public int BufferLength => HeaderLength;

    /// <summary>Writes the header; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        int length = HeaderLength;
        buffer[0] = (byte)NextHeader;
        buffer[1] = (byte)(length / 8 - 1);
        buffer[2] = RoutingType;
        buffer[3] = SegmentsLeft;
        TypeSpecificData.Span.CopyTo(buffer[4..]);
        buffer[(4 + TypeSpecificData.Length)..length].Clear();
        return length;
    }
}
