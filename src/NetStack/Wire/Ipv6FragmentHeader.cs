using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an IPv6 Fragment header (RFC 8200 §4.5): next header, reserved octet,
/// 13-bit offset in 8-octet units, two reserved bits, M flag, 32-bit identification.
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, the 8 octets are in the buffer.</para>
/// </summary>
public readonly ref struct Ipv6FragmentHeader
{
    /// <summary>Bytes of the fragment header.</summary>
    public const int HeaderLength = 8;
    private readonly ReadOnlySpan<byte> _buffer;

    private Ipv6FragmentHeader(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6FragmentHeader header, out WireError error)
    {
        header = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        header = new Ipv6FragmentHeader(buffer[..HeaderLength]);
        error = WireError.None;
        return true;
    }

    /// <summary>The header that follows in the fragmentable part.</summary>
    public IpProtocol NextHeader => (IpProtocol)_buffer[0];
    /// <summary>The reserved octet (RFC 8200 §4.5: zero on transmit, ignored on receipt).</summary>
    public byte Reserved => _buffer[1];
    /// <summary>The fragment offset in octets (the field counts 8-octet units).</summary>
    public int FragmentOffset => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]) & 0xFFF8;
    /// <summary>The two reserved bits ("Res", RFC 8200 §4.5: zero on transmit, ignored on receipt).</summary>
    public int ReservedBits => (_buffer[3] >> 1) & 3;
    /// <summary>M flag: more fragments follow.</summary>
    public bool MoreFragments => (_buffer[3] & 1) != 0;
    /// <summary>The identification.</summary>
    public uint Identification => BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]);
    /// <summary>RFC 6946: offset 0 and M = 0, a whole packet carrying a Fragment header; processed in isolation.</summary>
    public bool IsAtomic => FragmentOffset == 0 && !MoreFragments;
    /// <summary>Offset 0 with M = 1: the first of several fragments (RFC 7112 constrains its content).</summary>
    public bool IsFirstFragment => FragmentOffset == 0 && MoreFragments;

    /// <summary>The header's fields.</summary>
    public Ipv6FragmentRepr ToRepr() => new(NextHeader, FragmentOffset, MoreFragments, Identification);
}

/// <summary>The meaningful fields of a Fragment header, which can be written in place. FragmentOffset is in
/// octets: a multiple of 8 below 65536.</summary>
public readonly record struct Ipv6FragmentRepr(IpProtocol NextHeader, int FragmentOffset, bool MoreFragments, uint Identification)
{
    /// <summary>Bytes of the fragment header.</summary>
    public int HeaderLength => Ipv6FragmentHeader.HeaderLength;
    /// <summary>Bytes the header takes.</summary>
    public int BufferLength => Ipv6FragmentHeader.HeaderLength;

    /// <summary>Writes the 8-octet header (reserved fields zero) and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        buffer[0] = (byte)NextHeader;
        buffer[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)((FragmentOffset & 0xFFF8) | (MoreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], Identification);
        return Ipv6FragmentHeader.HeaderLength;
    }
}
