using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>ICMPv6 message types (RFC 4443 §2.1, RFC 4861 §4, RFC 2710, RFC 3810).</summary>
public enum Icmpv6Type : byte
{
    /// <summary>Destination unreachable (RFC 4443 §3.1).</summary>
    DestinationUnreachable = 1,
    /// <summary>Packet too big (RFC 4443 §3.2).</summary>
    PacketTooBig = 2,
    /// <summary>Time exceeded (RFC 4443 §3.3).</summary>
    TimeExceeded = 3,
    /// <summary>Parameter problem (RFC 4443 §3.4).</summary>
    ParameterProblem = 4,
    /// <summary>Echo request (RFC 4443 §4.1).</summary>
    EchoRequest = 128,
    /// <summary>Echo reply (RFC 4443 §4.2).</summary>
    EchoReply = 129,
    /// <summary>Multicast listener query (RFC 2710, RFC 3810).</summary>
    MulticastListenerQuery = 130,
    /// <summary>MLDv1 report (RFC 2710).</summary>
    MulticastListenerReport = 131,
    /// <summary>MLDv1 done (RFC 2710).</summary>
    MulticastListenerDone = 132,
    /// <summary>Router solicitation (RFC 4861 §4.1).</summary>
    RouterSolicitation = 133,
    /// <summary>Router advertisement (RFC 4861 §4.2).</summary>
    RouterAdvertisement = 134,
    /// <summary>Neighbour solicitation (RFC 4861 §4.3).</summary>
    NeighborSolicitation = 135,
    /// <summary>Neighbour advertisement (RFC 4861 §4.4).</summary>
    NeighborAdvertisement = 136,
    /// <summary>Redirect (RFC 4861 §4.5).</summary>
    Redirect = 137,
    /// <summary>MLDv2 report (RFC 3810 §5.2).</summary>
    Mldv2Report = 143,
}

/// <summary>Destination Unreachable codes (RFC 4443 §3.1).</summary>
public enum Icmpv6UnreachableCode : byte
{
    /// <summary>No route to destination.</summary>
    NoRoute = 0,
    /// <summary>Communication with the destination administratively prohibited.</summary>
    AdministrativelyProhibited = 1,
    /// <summary>Beyond the scope of the source address.</summary>
    BeyondScopeOfSource = 2,
    /// <summary>Address unreachable.</summary>
    AddressUnreachable = 3,
    /// <summary>Port unreachable.</summary>
    PortUnreachable = 4,
    /// <summary>Source address failed ingress/egress policy.</summary>
    SourceAddressFailedPolicy = 5,
    /// <summary>Reject route to destination.</summary>
    RejectRoute = 6,
    /// <summary>Code 7, assigned by RFC 6550 (ICMPv6 parameters registry).</summary>
    ErrorInSourceRoutingHeader = 7,
}

/// <summary>Time Exceeded codes (RFC 4443 §3.3).</summary>
public enum Icmpv6TimeExceededCode : byte
{
    /// <summary>Hop limit exceeded in transit.</summary>
    HopLimitExceeded = 0,
    /// <summary>Fragment reassembly time exceeded.</summary>
    ReassemblyTimeExceeded = 1,
}

/// <summary>Parameter Problem codes (RFC 4443 §3.4, RFC 7112 §4 for code 3).</summary>
public enum Icmpv6ParameterProblemCode : byte
{
    /// <summary>Erroneous header field encountered.</summary>
    ErroneousHeaderField = 0,
    /// <summary>Unrecognized Next Header type encountered.</summary>
    UnrecognizedNextHeader = 1,
    /// <summary>Unrecognized IPv6 option encountered.</summary>
    UnrecognizedOption = 2,
    /// <summary>IPv6 first fragment has an incomplete header chain (RFC 7112).</summary>
    IncompleteHeaderChain = 3,
}

/// <summary>
/// A read-only view of an ICMPv6 message (RFC 4443 §2.1): type, code, checksum, and the
/// type-specific body. The buffer is exactly the upper-layer payload (its length is the
/// pseudo-header's upper-layer length).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw: the 4-octet header
/// is present, and for error and echo messages the 8-octet header (identifier/sequence, MTU, pointer,
/// RFC 4884 length) is present too. The checksum is not verified by parsing; call <see cref="VerifyChecksum(Ipv6Address, Ipv6Address)"/>.
/// </para>
/// </summary>
public readonly ref struct Icmpv6Packet
{
    /// <summary>Bytes of type, code and checksum.</summary>
    public const int HeaderLength = 4;
    /// <summary>Length of the fixed header of error and echo messages.</summary>
    public const int ErrorHeaderLength = 8;
    /// <summary>RFC 4443 §2.4(c): an error message must not make the IPv6 packet exceed the minimum MTU.</summary>
    public const int MaxInvokingPacketLength = Ipv6Packet.MinimumMtu - Ipv6Packet.HeaderLength - ErrorHeaderLength;

    private readonly ReadOnlySpan<byte> _buffer;

    private Icmpv6Packet(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the length for the type; the checksum is checked separately, as it needs the addresses.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Icmpv6Packet packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        var type = (Icmpv6Type)buffer[0];
        if ((IsErrorType(buffer[0]) || type is Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply) && buffer.Length < ErrorHeaderLength)
        {
            error = WireError.Truncated;
            return false;
        }
        packet = new Icmpv6Packet(buffer);
        error = WireError.None;
        return true;
    }

    /// <summary>RFC 4443 §2.1: types 0-127 are error messages, 128-255 informational.</summary>
    public static bool IsErrorType(byte type) => type < 128;

    /// <summary>The message type.</summary>
    public Icmpv6Type Type => (Icmpv6Type)_buffer[0];
    /// <summary>The message code.</summary>
    public byte Code => _buffer[1];
    /// <summary>The checksum field.</summary>
    public ushort Checksum => BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>True for an error message (type below 128, RFC 4443 §2.1).</summary>
    public bool IsError => IsErrorType(_buffer[0]);
    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>Everything after type, code and checksum.</summary>
    public ReadOnlySpan<byte> Body => _buffer[HeaderLength..];

    /// <summary>Echo identifier (RFC 4443 §4.1); 0 for other types with a short header.</summary>
    public ushort Identifier => _buffer.Length >= 6 ? BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]) : (ushort)0;
    /// <summary>The echo sequence number (0 when the message is too short).</summary>
    public ushort SequenceNumber => _buffer.Length >= 8 ? BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]) : (ushort)0;
    /// <summary>Echo data, or for other messages the octets after the first 8.</summary>
    public ReadOnlySpan<byte> Data => _buffer.Length >= 8 ? _buffer[8..] : default;
    /// <summary>Packet Too Big MTU (RFC 4443 §3.2).</summary>
    public uint Mtu => _buffer.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]) : 0;
    /// <summary>Parameter Problem pointer (RFC 4443 §3.4): offset in the invoking packet of the error.</summary>
    public uint Pointer => Mtu;

    /// <summary>
    /// RFC 4884 §3 (ICMPv6: first octet after the checksum of Destination Unreachable and Time Exceeded):
    /// the length of the original-datagram field in 64-bit words, 0 when the sender uses no extensions.
    /// </summary>
    public int Rfc4884Length => HasRfc4884Length && _buffer.Length >= 5 ? _buffer[4] : 0;

    private bool HasRfc4884Length => Type is Icmpv6Type.DestinationUnreachable or Icmpv6Type.TimeExceeded;

    /// <summary>
    /// The quoted invoking packet of an error message (as much as was sent, RFC 4443 §2.4(c)). With a
    /// valid RFC 4884 length only the original-datagram field is returned (its padding included).
    /// </summary>
    public ReadOnlySpan<byte> InvokingPacket
    {
        get
        {
            if (!IsError || _buffer.Length < ErrorHeaderLength) return default;
            var rest = _buffer[ErrorHeaderLength..];
            int len = Rfc4884Length * 8;
            // RFC 4884 §5: a length that overruns the message is not trusted; the whole remainder is the quote.
            return len > 0 && len <= rest.Length ? rest[..len] : rest;
        }
    }

    /// <summary>
    /// The RFC 4884 extension structure after the original datagram, when the length field is set and the
    /// structure parses (RFC 4884 §5: the original datagram field is then at least 128 octets).
    /// </summary>
    public bool TryGetExtension(out IcmpExtension extension, out WireError error)
    {
        extension = default;
        int len = Rfc4884Length * 8;
        if (len == 0 || _buffer.Length < ErrorHeaderLength + len) { error = WireError.Unsupported; return false; }
        // RFC 4884 §5: the original datagram field is at least 128 octets when an extension follows.
        if (len < IcmpExtension.MinimumOriginalDatagramLength) { error = WireError.BadLength; return false; }
        return IcmpExtension.TryParse(_buffer[(ErrorHeaderLength + len)..], out extension, out error);
    }

    /// <summary>True when the checksum over the IPv6 pseudo-header and the message verifies (RFC 4443 §2.3).</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) => VerifyChecksum(_buffer, source, destination);

    /// <summary>RFC 4443 §2.3: the checksum covers the IPv6 pseudo-header (next header 58) and the whole message.</summary>
    public static bool VerifyChecksum(ReadOnlySpan<byte> message, Ipv6Address source, Ipv6Address destination) =>
        Wire.Checksum.Verify(message, Wire.Checksum.PseudoHeaderV6(source, destination, (byte)IpProtocol.Icmpv6, message.Length));

    /// <summary>Computes the checksum of <paramref name="message"/> (whose checksum field is ignored) and stores it in place.</summary>
    public static void FillChecksum(Span<byte> message, Ipv6Address source, Ipv6Address destination)
    {
        message[2] = 0;
        message[3] = 0;
        ushort c = Wire.Checksum.Compute(message, Wire.Checksum.PseudoHeaderV6(source, destination, (byte)IpProtocol.Icmpv6, message.Length));
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], c);
    }

    /// <summary>The message's fields.</summary>
    public Icmpv6Repr ToRepr() => new(Type, Code,
        _buffer.Length >= 8 ? BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]) : 0,
        _buffer.Length >= 8 ? _buffer[8..].ToArray() : Array.Empty<byte>());
}

/// <summary>
/// An echo or error ICMPv6 message to write: type, code, the 32-bit field after the checksum
/// (identifier and sequence, MTU, pointer, RFC 4884 length), and the data or quoted packet.
/// <see cref="Write"/> fills in the checksum over the IPv6 pseudo-header.
/// </summary>
public readonly record struct Icmpv6Repr(Icmpv6Type Type, byte Code, uint HeaderData, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Bytes before the payload.</summary>
    public int HeaderLength => Icmpv6Packet.ErrorHeaderLength;
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => Icmpv6Packet.ErrorHeaderLength + Payload.Length;

    /// <summary>The echo identifier (the upper half of the header data).</summary>
    public ushort Identifier => (ushort)(HeaderData >> 16);
    /// <summary>The echo sequence number (the lower half of the header data).</summary>
    public ushort SequenceNumber => (ushort)HeaderData;

    /// <summary>An echo request carrying <paramref name="data"/>.</summary>
    public static Icmpv6Repr EchoRequest(ushort identifier, ushort sequence, ReadOnlyMemory<byte> data) =>
        new(Icmpv6Type.EchoRequest, 0, (uint)identifier << 16 | sequence, data);

    /// <summary>An echo reply carrying <paramref name="data"/>.</summary>
    public static Icmpv6Repr EchoReply(ushort identifier, ushort sequence, ReadOnlyMemory<byte> data) =>
        new(Icmpv6Type.EchoReply, 0, (uint)identifier << 16 | sequence, data);

    /// <summary>RFC 4443 §3.1. The invoking packet is cut to keep the error within the minimum MTU (§2.4(c)).</summary>
    public static Icmpv6Repr DestinationUnreachable(Icmpv6UnreachableCode code, ReadOnlyMemory<byte> invokingPacket) =>
        new(Icmpv6Type.DestinationUnreachable, (byte)code, 0, Cut(invokingPacket));

    /// <summary>RFC 4443 §3.2.</summary>
    public static Icmpv6Repr PacketTooBig(uint mtu, ReadOnlyMemory<byte> invokingPacket) =>
        new(Icmpv6Type.PacketTooBig, 0, mtu, Cut(invokingPacket));

    /// <summary>RFC 4443 §3.3.</summary>
    public static Icmpv6Repr TimeExceeded(Icmpv6TimeExceededCode code, ReadOnlyMemory<byte> invokingPacket) =>
        new(Icmpv6Type.TimeExceeded, (byte)code, 0, Cut(invokingPacket));

    /// <summary>RFC 4443 §3.4: <paramref name="pointer"/> is the offset of the error in the invoking packet.</summary>
    public static Icmpv6Repr ParameterProblem(Icmpv6ParameterProblemCode code, uint pointer, ReadOnlyMemory<byte> invokingPacket) =>
        new(Icmpv6Type.ParameterProblem, (byte)code, pointer, Cut(invokingPacket));

    /// <summary>
    /// A Destination Unreachable or Time Exceeded message carrying an RFC 4884 extension structure: the
    /// quoted packet is zero-padded to a multiple of 8 and at least 128 octets (RFC 4884 §5), cut so
    /// the whole error fits the minimum MTU, and the length field set (§3). Allocates the new payload:
    /// meant for the rare errors that carry extensions.
    /// </summary>
    public static Icmpv6Repr WithExtension(Icmpv6Repr error, IcmpExtensionRepr extension)
    {
        int ext = extension.BufferLength;
        int original = Math.Max(IcmpExtension.MinimumOriginalDatagramLength, (error.Payload.Length + 7) & ~7);
        original = Math.Min(original, (Icmpv6Packet.MaxInvokingPacketLength - ext) & ~7);
        var payload = new byte[original + ext];
        error.Payload.Span[..Math.Min(original, error.Payload.Length)].CopyTo(payload);
        extension.Write(payload.AsSpan(original));
        return error with { HeaderData = (uint)(original / 8) << 24 | (error.HeaderData & 0xFFFFFF), Payload = payload };
    }

    private static ReadOnlyMemory<byte> Cut(ReadOnlyMemory<byte> p) =>
        p.Length > Icmpv6Packet.MaxInvokingPacketLength ? p[..Icmpv6Packet.MaxInvokingPacketLength] : p;

    /// <summary>Writes the message with its checksum (RFC 4443 §2.3) and returns its length.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        int length = BufferLength;
        buffer[0] = (byte)Type;
        buffer[1] = Code;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], HeaderData);
        Payload.Span.CopyTo(buffer[8..]);
        Icmpv6Packet.FillChecksum(buffer[..length], source, destination);
        return length;
    }
}
