using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of a UDP datagram (RFC 768).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the 8-byte header
/// lies inside the buffer and the length field is at least 8 and within the buffer. Bytes past the
/// length field are excluded from <see cref="Payload"/>. The checksum is verified on request
/// (<see cref="VerifyChecksum"/>) because it needs the IP addresses. The view never copies.
/// </para>
/// </summary>
public readonly ref struct UdpDatagram
{
    /// <summary>Bytes of the UDP header.</summary>
    public const int HeaderLength = 8;

    private readonly ReadOnlySpan<byte> _buffer; // exactly Length bytes

    private UdpDatagram(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the header and the length field.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out UdpDatagram datagram, out WireError error)
    {
        datagram = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        // RFC 768: "Length is the length in octets of this user datagram including this header ...
        // the minimum value of the length is eight."
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[4..]);
        if (length < HeaderLength) { error = WireError.BadLength; return false; }
        if (length > buffer.Length) { error = WireError.Truncated; return false; }
        datagram = new UdpDatagram(buffer[..length]);
        error = WireError.None;
        return true;
    }

    /// <summary>The source port.</summary>
    public ushort SourcePort => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    /// <summary>The destination port.</summary>
    public ushort DestinationPort => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>The length field: header and payload.</summary>
    public int Length => _buffer.Length;
    /// <summary>The checksum field.</summary>
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>The payload, up to the length field.</summary>
    public ReadOnlySpan<byte> Payload => _buffer[HeaderLength..];
    /// <summary>Header and payload, without whatever followed the length in the IP payload.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>
    /// Checks the checksum with the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>.
    /// RFC 768: over IPv4 a zero field means "no checksum" and is accepted; RFC 8200 §8.1: over IPv6 the
    /// checksum is mandatory and a zero field is refused.
    /// </summary>
    public bool VerifyChecksum(IpAddress source, IpAddress destination)
    {
        if (ChecksumField == 0) return source.IsV4;
        ulong pseudo = Checksum.PseudoHeader(source, destination, (byte)IpProtocol.Udp, _buffer.Length);
        return Checksum.Verify(_buffer, pseudo);
    }

    /// <summary>The header's fields.</summary>
    public UdpRepr ToRepr() => new(SourcePort, DestinationPort, Payload.Length);
}

/// <summary>The meaningful fields of a UDP header, which can be written in place with its checksum.</summary>
public readonly record struct UdpRepr(ushort SourcePort, ushort DestinationPort, int PayloadLength)
{
    /// <summary>Bytes of the UDP header.</summary>
    public int HeaderLength => UdpDatagram.HeaderLength;
    /// <summary>Bytes the datagram takes.</summary>
    public int BufferLength => UdpDatagram.HeaderLength + PayloadLength;

    /// <summary>
    /// Writes the header at the start of <paramref name="buffer"/>, whose payload is already in place at
    /// [8..8+PayloadLength], computes the checksum over pseudo-header, header and payload, and returns the
    /// header length.
    /// </summary>
    public int Write(Span<byte> buffer, IpAddress source, IpAddress destination)
    {
        WriteWithoutChecksum(buffer);
        int length = BufferLength;
        ulong pseudo = Checksum.PseudoHeader(source, destination, (byte)IpProtocol.Udp, length);
        ushort checksum = Checksum.Compute(buffer[..length], pseudo);
        // RFC 768: "If the computed checksum is zero, it is transmitted as all ones"
        // (zero means "not computed" over IPv4; RFC 8200 §8.1 keeps the rule for IPv6).
        if (checksum == 0) checksum = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], checksum);
        return UdpDatagram.HeaderLength;
    }

    /// <summary>Copies <paramref name="payload"/> after the header, then writes the header as <see cref="Write(Span{byte}, IpAddress, IpAddress)"/>.</summary>
    public int Write(Span<byte> buffer, IpAddress source, IpAddress destination, ReadOnlySpan<byte> payload)
    {
        payload[..PayloadLength].CopyTo(buffer[UdpDatagram.HeaderLength..]);
        return Write(buffer, source, destination);
    }

    /// <summary>
    /// Writes the header with a zero checksum field and returns the header length. Over IPv4 that means
    /// "no checksum" (RFC 768); it is also the starting point for checksum offload.
    /// </summary>
    public int WriteWithoutChecksum(Span<byte> buffer)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], DestinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], (ushort)BufferLength);
        buffer[6] = 0;
        buffer[7] = 0;
        return UdpDatagram.HeaderLength;
    }
}
