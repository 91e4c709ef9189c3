using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>An ICMPv4 Echo or Echo Reply (RFC 792), which can be written in place with its checksum.</summary>
public readonly record struct Icmpv4EchoRepr(Icmpv4Type Type, ushort Identifier, ushort SequenceNumber, int DataLength)
{
    /// <summary>An echo request with <paramref name="identifier"/>, <paramref name="sequence"/> and <paramref name="dataLength"/> bytes of data.</summary>
    public static Icmpv4EchoRepr Request(ushort identifier, ushort sequence, int dataLength) =>
        new(Icmpv4Type.EchoRequest, identifier, sequence, dataLength);

    /// <summary>RFC 792 / RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence number and data.</summary>
    public static Icmpv4EchoRepr ReplyTo(in Icmpv4Packet request) =>
        new(Icmpv4Type.EchoReply, request.Identifier, request.SequenceNumber, request.EchoData.Length);

    /// <summary>Bytes of the ICMP header.</summary>
    public int HeaderLength => Icmpv4Packet.HeaderLength;
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => Icmpv4Packet.HeaderLength + DataLength;

    /// <summary>
    /// Writes the header at the start of <paramref name="buffer"/>, whose data is already in place after it,
    /// computes the checksum over the message and returns <see cref="BufferLength"/>.
    /// </summary>
    public int Write(Span<byte> buffer)
    {
        buffer[0] = (byte)Type;
        buffer[1] = 0;
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], Identifier);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], SequenceNumber);
        int length = BufferLength;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Checksum.Compute(buffer[..length]));
        return length;
    }

    /// <summary>Copies <paramref name="data"/> after the header, then writes as <see cref="Write(Span{byte})"/>.</summary>
    public int Write(Span<byte> buffer, ReadOnlySpan<byte> data)
    {
        data[..DataLength].CopyTo(buffer[Icmpv4Packet.HeaderLength..]);
        return Write(buffer);
    }
}

/// <summary>
/// An ICMPv4 error (Destination Unreachable, Time Exceeded, Parameter Problem, Redirect, Source Quench)
/// quoting <paramref name="QuoteLength"/> bytes of the offending datagram, optionally followed by an
/// RFC 4884 extension with one RFC 4950 MPLS label stack object of <paramref name="MplsLabelCount"/> entries.
/// <paramref name="Parameter"/> is the next-hop MTU (unreachable code 4), the gateway (redirect), the
/// pointer (parameter problem), and is ignored otherwise.
/// </summary>
public readonly record struct Icmpv4ErrorRepr(Icmpv4Type Type, byte Code, uint Parameter, int QuoteLength, int MplsLabelCount = 0)
{
    /// <summary>RFC 1812 §4.3.2.3: an error should not exceed 576 bytes of IP datagram (here: 576 - 20 header).</summary>
    public const int DefaultMaxMessageLength = 576 - Ipv4Packet.MinHeaderLength;

    /// <summary>
    /// An error quoting as much of <paramref name="originalLength"/> bytes as fits in
    /// <paramref name="maxMessageLength"/> (RFC 1812 §4.3.2.3; RFC 792 requires at least the header + 8 bytes).
    /// With MPLS labels the quote is cut at 128 bytes, the RFC 4884 §5 size legacy receivers expect.
    /// </summary>
    public static Icmpv4ErrorRepr ForDatagram(Icmpv4Type type, byte code, uint parameter, int originalLength,
        int mplsLabelCount = 0, int maxMessageLength = DefaultMaxMessageLength)
    {
        int room = maxMessageLength - Icmpv4Packet.HeaderLength;
        if (mplsLabelCount > 0) room = Icmpv4Packet.MinOriginalDatagramWithExtension;
        return new Icmpv4ErrorRepr(type, code, parameter, Math.Clamp(originalLength, 0, Math.Max(0, room)), mplsLabelCount);
    }

    /// <summary>A time exceeded error quoting <paramref name="originalLength"/> bytes of the offending datagram, with an MPLS label stack extension of <paramref name="mplsLabelCount"/> entries (RFC 4950) when not zero.</summary>
    public static Icmpv4ErrorRepr TimeExceeded(Icmpv4TimeExceededCode code, int originalLength, int mplsLabelCount = 0) =>
        ForDatagram(Icmpv4Type.TimeExceeded, (byte)code, 0, originalLength, mplsLabelCount);

    /// <summary>A destination unreachable error quoting <paramref name="originalLength"/> bytes; <paramref name="nextHopMtu"/> for fragmentation needed (RFC 1191 §4).</summary>
    public static Icmpv4ErrorRepr Unreachable(Icmpv4UnreachableCode code, int originalLength, ushort nextHopMtu = 0, int mplsLabelCount = 0) =>
        ForDatagram(Icmpv4Type.DestinationUnreachable, (byte)code, nextHopMtu, originalLength, mplsLabelCount);

    /// <summary>A parameter problem error pointing at byte <paramref name="pointer"/> of the offending datagram.</summary>
    public static Icmpv4ErrorRepr ParameterProblem(byte pointer, int originalLength) =>
        ForDatagram(Icmpv4Type.ParameterProblem, 0, pointer, originalLength);

    /// <summary>A redirect to <paramref name="gateway"/>.</summary>
    public static Icmpv4ErrorRepr Redirect(Icmpv4RedirectCode code, Ipv4Address gateway, int originalLength) =>
        ForDatagram(Icmpv4Type.Redirect, (byte)code, gateway.Value, originalLength);

    /// <summary>True when an RFC 4884 extension follows the quoted datagram.</summary>
    public bool HasExtension => MplsLabelCount > 0;

    /// <summary>RFC 4884 §4.1: with an extension the original datagram field is zero-padded to 32 bits and to at least 128 bytes.</summary>
    public int OriginalFieldLength => HasExtension
        ? Math.Max(Icmpv4Packet.MinOriginalDatagramWithExtension, (QuoteLength + 3) & ~3)
        : QuoteLength;

    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => Icmpv4Packet.HeaderLength + OriginalFieldLength
        + (HasExtension ? IcmpExtension.MplsStackLength(MplsLabelCount) : 0);

    /// <summary>
    /// Writes the message: header, the first <see cref="QuoteLength"/> bytes of <paramref name="original"/>
    /// (padded as RFC 4884 requires), the extension when <paramref name="labels"/> are given, and the checksum.
    /// Returns <see cref="BufferLength"/>.
    /// </summary>
    public int Write(Span<byte> buffer, ReadOnlySpan<byte> original, ReadOnlySpan<MplsLabelEntry> labels = default)
    {
        buffer[0] = (byte)Type;
        buffer[1] = Code;
        buffer[2] = 0;
        buffer[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], 0);
        switch (Type)
        {
            case Icmpv4Type.Redirect:
                BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], Parameter); // RFC 792: gateway internet address
                break;
            case Icmpv4Type.ParameterProblem:
                buffer[4] = (byte)Parameter; // RFC 792: pointer to the octet in error
                break;
            case Icmpv4Type.DestinationUnreachable when Code == (byte)Icmpv4UnreachableCode.FragmentationNeeded:
                BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)Parameter); // RFC 1191 §4: next-hop MTU
                break;
        }
        int originalField = OriginalFieldLength;
        var field = buffer.Slice(Icmpv4Packet.HeaderLength, originalField);
        original[..QuoteLength].CopyTo(field);
        field[QuoteLength..].Clear();
        int length = Icmpv4Packet.HeaderLength + originalField;
        if (HasExtension)
        {
            // RFC 4884 §4.1: the length attribute, in 32-bit words, in the second octet after the checksum.
            buffer[5] = (byte)(originalField / 4);
            length += IcmpExtension.WriteMplsLabelStack(buffer[length..], labels[..MplsLabelCount]);
        }
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], Checksum.Compute(buffer[..length]));
        return length;
    }
}
