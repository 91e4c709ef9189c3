using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an IPv6 packet: the fixed header (RFC 8200 §3) and the payload it announces.
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the 40-byte header
/// lies inside the buffer and so does the payload (trailing link-layer padding is excluded from
/// <see cref="Payload"/>). <see cref="TryParseQuoted"/> accepts a packet cut short (as quoted in an
/// ICMPv6 error), in which case <see cref="Payload"/> holds what is present. The view never copies.
/// </para>
/// </summary>
public readonly ref struct Ipv6Packet
{
    /// <summary>Bytes of the fixed header.</summary>
    public const int HeaderLength = 40;
    /// <summary>Offset of the Next Header field in the fixed header (a Parameter Problem pointer target).</summary>
    public const int NextHeaderFieldOffset = 6;
    /// <summary>RFC 8200 §5: every link carries packets of at least this size.</summary>
    public const int MinimumMtu = 1280;

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _length;

    private Ipv6Packet(ReadOnlySpan<byte> buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    /// <summary>Validates the version and the payload length against the buffer.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6Packet packet, out WireError error) =>
        ParseCore(buffer, allowTruncated: false, out packet, out error);

    /// <summary>As <see cref="TryParse"/>, but a payload cut short by the buffer is accepted (<see cref="IsTruncated"/>).</summary>
    public static bool TryParseQuoted(ReadOnlySpan<byte> buffer, out Ipv6Packet packet, out WireError error) =>
        ParseCore(buffer, allowTruncated: true, out packet, out error);

    private static bool ParseCore(ReadOnlySpan<byte> buffer, bool allowTruncated, out Ipv6Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        // RFC 8200 §3: Version = 6.
        if (buffer[0] >> 4 != 6) { error = WireError.BadVersion; return false; }
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        // RFC 2675: payload length 0 with a Hop-by-Hop header announces a jumbogram, which we do not accept.
        if (payloadLength == 0 && buffer[6] == (byte)IpProtocol.HopByHop) { error = WireError.Unsupported; return false; }
        int total = HeaderLength + payloadLength;
        if (total > buffer.Length)
        {
            if (!allowTruncated) { error = WireError.Truncated; return false; }
            total = buffer.Length;
        }
        packet = new Ipv6Packet(buffer[..total], payloadLength);
        error = WireError.None;
        return true;
    }

    /// <summary>The version field (6).</summary>
    public int Version => _buffer[0] >> 4;
    /// <summary>The traffic class octet (DSCP in the high six bits, ECN in the low two; RFC 2474, RFC 3168).</summary>
    public byte TrafficClass => (byte)((_buffer[0] << 4) | (_buffer[1] >> 4));
    /// <summary>The DSCP, the upper six bits of the traffic class.</summary>
    public int Dscp => TrafficClass >> 2;
    /// <summary>The ECN field, the lower two bits of the traffic class.</summary>
    public int Ecn => TrafficClass & 3;
    /// <summary>The 20-bit flow label (RFC 6437).</summary>
    public uint FlowLabel => BinaryPrimitives.ReadUInt32BigEndian(_buffer) & 0xFFFFF;
    /// <summary>The payload length field as announced (may exceed the buffer for a quoted packet).</summary>
    public int PayloadLength => _length;
    /// <summary>The header that follows the fixed header.</summary>
    public IpProtocol NextHeader => (IpProtocol)_buffer[6];
    /// <summary>The hop limit.</summary>
    public byte HopLimit => _buffer[7];
    /// <summary>The source address.</summary>
    public Ipv6Address Source => Ipv6Address.Read(_buffer[8..]);
    /// <summary>The destination address.</summary>
    public Ipv6Address Destination => Ipv6Address.Read(_buffer[24..]);
    /// <summary>True when the buffer ended before the announced payload (only from <see cref="TryParseQuoted"/>).</summary>
    public bool IsTruncated => _buffer.Length < HeaderLength + _length;
    /// <summary>The header and payload (without trailing bytes beyond the payload length).</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>The bytes after the fixed header, up to the payload length.</summary>
    public ReadOnlySpan<byte> Payload => _buffer[HeaderLength..];

    /// <summary>The header's fields.</summary>
    public Ipv6Repr ToRepr() => new(Source, Destination, NextHeader, _length, HopLimit, TrafficClass, FlowLabel);
}

/// <summary>The meaningful fields of an IPv6 fixed header, which can be written in place. PayloadLength counts
/// the octets after the fixed header (extension headers included), at most 65535.</summary>
public readonly record struct Ipv6Repr(Ipv6Address Source, Ipv6Address Destination, IpProtocol NextHeader,
    int PayloadLength, byte HopLimit, byte TrafficClass = 0, uint FlowLabel = 0)
{
    /// <summary>Bytes of the fixed header.</summary>
    public int HeaderLength => Ipv6Packet.HeaderLength;
    /// <summary>Bytes the packet takes.</summary>
    public int BufferLength => Ipv6Packet.HeaderLength + PayloadLength;

    /// <summary>Writes the 40-byte header at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer, 6u << 28 | (uint)TrafficClass << 20 | (FlowLabel & 0xFFFFF));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)PayloadLength);
        buffer[6] = (byte)NextHeader;
        buffer[7] = HopLimit;
        Source.Write(buffer[8..]);
        Destination.Write(buffer[24..]);
        return Ipv6Packet.HeaderLength;
    }
}
