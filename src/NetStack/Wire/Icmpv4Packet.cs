using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>ICMPv4 message types (RFC 792, IANA "ICMP Type Numbers").</summary>
public enum Icmpv4Type : byte
{
    /// <summary>Echo reply (RFC 792).</summary>
    EchoReply = 0,
    /// <summary>Destination unreachable.</summary>
    DestinationUnreachable = 3,
    /// <summary>Source quench (deprecated, RFC 6633).</summary>
    SourceQuench = 4,
    /// <summary>Redirect.</summary>
    Redirect = 5,
    /// <summary>Echo request.</summary>
    EchoRequest = 8,
    /// <summary>Router advertisement (RFC 1256).</summary>
    RouterAdvertisement = 9,
    /// <summary>Router solicitation (RFC 1256).</summary>
    RouterSolicitation = 10,
    /// <summary>Time exceeded.</summary>
    TimeExceeded = 11,
    /// <summary>Parameter problem.</summary>
    ParameterProblem = 12,
    /// <summary>Timestamp request.</summary>
    Timestamp = 13,
    /// <summary>Timestamp reply.</summary>
    TimestampReply = 14,
}

/// <summary>Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1).</summary>
public enum Icmpv4UnreachableCode : byte
{
    /// <summary>Net unreachable.</summary>
    NetUnreachable = 0,
    /// <summary>Host unreachable.</summary>
    HostUnreachable = 1,
    /// <summary>Protocol unreachable.</summary>
    ProtocolUnreachable = 2,
    /// <summary>Port unreachable.</summary>
    PortUnreachable = 3,
    /// <summary>Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 §4).</summary>
    FragmentationNeeded = 4,
    /// <summary>Source route failed.</summary>
    SourceRouteFailed = 5,
    /// <summary>Destination network unknown (RFC 1122 §3.2.2.1).</summary>
    DestinationNetworkUnknown = 6,
    /// <summary>Destination host unknown.</summary>
    DestinationHostUnknown = 7,
    /// <summary>Source host isolated.</summary>
    SourceHostIsolated = 8,
    /// <summary>Communication with the destination network administratively prohibited.</summary>
    NetworkAdministrativelyProhibited = 9,
    /// <summary>Communication with the destination host administratively prohibited.</summary>
    HostAdministrativelyProhibited = 10,
    /// <summary>Network unreachable for the type of service.</summary>
    NetworkUnreachableForTos = 11,
    /// <summary>Host unreachable for the type of service.</summary>
    HostUnreachableForTos = 12,
    /// <summary>Communication administratively prohibited (RFC 1812 §5.2.7.1).</summary>
    CommunicationAdministrativelyProhibited = 13,
    /// <summary>Host precedence violation.</summary>
    HostPrecedenceViolation = 14,
    /// <summary>Precedence cutoff in effect.</summary>
    PrecedenceCutoffInEffect = 15,
}

/// <summary>Time Exceeded codes (RFC 792).</summary>
public enum Icmpv4TimeExceededCode : byte
{
    /// <summary>TTL exceeded in transit.</summary>
    TtlExceededInTransit = 0,
    /// <summary>Fragment reassembly time exceeded.</summary>
    FragmentReassemblyTimeExceeded = 1,
}

/// <summary>Redirect codes (RFC 792).</summary>
public enum Icmpv4RedirectCode : byte
{
    /// <summary>Redirect datagrams for the network.</summary>
    Network = 0,
    /// <summary>Redirect datagrams for the host.</summary>
    Host = 1,
    /// <summary>Redirect datagrams for the type of service and network.</summary>
    TosAndNetwork = 2,
    /// <summary>Redirect datagrams for the type of service and host.</summary>
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
    /// <summary>Bytes in the ICMP header.</summary>
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

    /// <summary>The message type.</summary>
    public Icmpv4Type Type => (Icmpv4Type)_buffer[0];
    /// <summary>The message code.</summary>
    public byte Code => _buffer[1];
    /// <summary>The checksum field.</summary>
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
