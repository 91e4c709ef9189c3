using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>ICMPv4 message types (RFC 792, IANA "ICMP Type Numbers").</summary>
public enum Icmpv4Type : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    SourceQuench = 4,
    Redirect = 5,
    EchoRequest = 8,
    RouterAdvertisement = 9,
    RouterSolicitation = 10,
    TimeExceeded = 11,
    ParameterProblem = 12,
    Timestamp = 13,
    TimestampReply = 14,
}

/// <summary>Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).</summary>
public enum Icmpv4UnreachableCode : byte
{
    NetUnreachable = 0,
    HostUnreachable = 1,
    ProtocolUnreachable = 2,
    PortUnreachable = 3,
    /// <summary>Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4).</summary>
    FragmentationNeeded = 4,
    SourceRouteFailed = 5,
    DestinationNetworkUnknown = 6,
    DestinationHostUnknown = 7,
    SourceHostIsolated = 8,
    NetworkAdministrativelyProhibited = 9,
    HostAdministrativelyProhibited = 10,
    NetworkUnreachableForTos = 11,
    HostUnreachableForTos = 12,
    CommunicationAdministrativelyProhibited = 13,
    HostPrecedenceViolation = 14,
    PrecedenceCutoffInEffect = 15,
}

/// <summary>Time Exceeded codes (RFC 792).</summary>
public enum Icmpv4TimeExceededCode : byte
{
    TtlExceededInTransit = 0,
    FragmentReassemblyTimeExceeded = 1,
}

/// <summary>Redirect codes (RFC 792).</summary>
public enum Icmpv4RedirectCode : byte
{
    Network = 0,
    Host = 1,
    TosAndNetwork = 2,
    TosAndHost = 3,
}

/// <summary>
/// A read-only view of an ICMPv4 message (RFC 792), the whole IPv4 payload.
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the 8-byte common
/// header lies inside the buffer. Type-specific accessors read the second word as that type defines it
/// and are meaningful only for that type. The checksum is not checked by <see cref="TryParse"/>: read
/// <see cref="ChecksumValid"/>. The view never copies.
/// </para>
/// </summary>
public readonly ref struct Icmpv4Packet
{
    public const int HeaderLength = 8;
    /// <summary>RFC 4884 §4.1: with extensions, the original datagram field is at least 128 octets.</summary>
    public const int MinOriginalDatagramWithExtension = 128;

    private readonly ReadOnlySpan<byte> _buffer;

    private Icmpv4Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates that the common header is present.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Icmpv4Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        packet = new Icmpv4Packet(buffer);
        error = WireError.None;
        return true;
    }

    public Icmpv4Type Type => (Icmpv4Type)_buffer[0];
    public byte Code => _buffer[1];
    public ushort ChecksumField => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>RFC 792: the checksum covers the whole ICMP message.</summary>
    public bool ChecksumValid => Checksum.Verify(_buffer);

    /// <summary>The message is an error (it quotes an offending datagram).</summary>
    public bool IsError => Type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.SourceQuench or Icmpv4Type.Redirect
        or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem;

    /// <summary>Echo / echo reply / timestamp: identifier (RFC 792).</summary>
    public ushort Identifier => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    /// <summary>Echo / echo reply / timestamp: sequence number (RFC 792).</summary>
    public ushort SequenceNumber => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>Echo / echo reply: the data after the 8-byte header.</summary>
    public ReadOnlySpan<byte> EchoData => _buffer[HeaderLength..];

    /// <summary>Destination Unreachable code 4: the next-hop MTU (RFC 1191 §4), 0 from pre-RFC 1191 routers.</summary>
    public ushort NextHopMtu => BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>Redirect: the gateway to use (RFC 792).</summary>
    public Ipv4Address Gateway => Ipv4Address.Read(_buffer[4..]);
    /// <summary>Parameter Problem: the octet of the original header where the error was found (RFC 792).</summary>
    public byte Pointer => _buffer[4];
    /// <summary>The second 32-bit word, raw (for types this view does not name).</summary>
    public uint RestOfHeader => BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]);

    /// <summary>
    /// RFC 4884 §4.1: the length of the original datagram field in 32-bit words (Destination Unreachable,
    /// Time Exceeded and Parameter Problem; octet 5). Zero for non-compliant senders and for other types.
    /// </summary>
    public int OriginalDatagramLengthWords => HasLengthAttribute ? _buffer[5] : 0;

    private bool HasLengthAttribute => Type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem;

    /// <summary>
    /// True when the message carries an RFC 4884 extension structure: a length attribute is set, the
    /// original datagram field it announces is at least 128 bytes (§4.1) and ends inside the message, and
    /// some bytes follow it.
    /// </summary>
    public bool HasExtension
    {
        get
        {
            int words = OriginalDatagramLengthWords;
            int end = HeaderLength + words * 4;
            return words * 4 >= MinOriginalDatagramWithExtension && end < _buffer.Length;
        }
    }

    /// <summary>
    /// The quoted original datagram (the invoking IPv4 header and at least 8 bytes of its data, RFC 792):
    /// up to the RFC 4884 length when an extension is present (it may end in zero padding), else all
    /// the bytes after the header.
    /// </summary>
    public ReadOnlySpan<byte> OriginalDatagram => HasExtension
        ? _buffer.Slice(HeaderLength, OriginalDatagramLengthWords * 4)
        : _buffer[HeaderLength..];

    /// <summary>The bytes of the RFC 4884 extension structure, empty when <see cref="HasExtension"/> is false.</summary>
    public ReadOnlySpan<byte> ExtensionBytes => HasExtension ? _buffer[(HeaderLength + OriginalDatagramLengthWords * 4)..] : default;

    /// <summary>Parses the RFC 4884 extension structure; false (with the reason) when there is none or it is malformed.</summary>
    public bool TryGetExtension(out IcmpExtension extension, out WireError error)
    {
        if (!HasExtension) { extension = default; error = WireError.Truncated; return false; }
        return IcmpExtension.TryParse(ExtensionBytes, out extension, out error);
    }

    /// <summary>Views the quoted datagram (its payload cut short, as quotes are), see <see cref="Ipv4Packet.TryParseQuoted"/>.</summary>
    public bool TryGetQuotedDatagram(out Ipv4Packet quoted, out WireError error) =>
        Ipv4Packet.TryParseQuoted(OriginalDatagram, out quoted, out error);

    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
}
