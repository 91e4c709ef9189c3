using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of an MLD query, report or done message: MLDv1 (RFC 2710 §3) or the MLDv2 query
/// (RFC 3810 §5.1), over the whole ICMPv6 message. MLDv2 reports (type 143) are read with <see cref="Mldv2Report"/>.
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; for an MLDv2 query
/// the whole source list announced by Number of Sources is in the buffer.
/// </para>
/// </summary>
public readonly ref struct MldMessage
{
    /// <summary>Bytes of an MLDv1 message (RFC 2710 §3).</summary>
    public const int Mldv1Length = 24;
    /// <summary>Bytes of the shortest MLDv2 query (RFC 3810 §5.1).</summary>
    public const int Mldv2QueryMinimumLength = 28;
    private readonly ReadOnlySpan<byte> _buffer;

    private MldMessage(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the type and the length (the checksum is checked separately).</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out MldMessage message, out WireError error)
    {
        message = default;
        if (buffer.Length < Icmpv6Packet.HeaderLength) { error = WireError.Truncated; return false; }
        var type = (Icmpv6Type)buffer[0];
        if (type is not (Icmpv6Type.MulticastListenerQuery or Icmpv6Type.MulticastListenerReport or Icmpv6Type.MulticastListenerDone))
        {
            error = WireError.Unsupported;
            return false;
        }
        if (buffer.Length < Mldv1Length) { error = WireError.Truncated; return false; }
        if (type == Icmpv6Type.MulticastListenerQuery && buffer.Length > Mldv1Length)
        {
            // RFC 3810 §8.1: a query of 24 octets is MLDv1, of 28 or more MLDv2; anything else is ignored.
            if (buffer.Length < Mldv2QueryMinimumLength) { error = WireError.BadLength; return false; }
            int sources = BinaryPrimitives.ReadUInt16BigEndian(buffer[26..]);
            // RFC 3810 §5.1.10: Number of Sources must fit in the message.
            if (buffer.Length < Mldv2QueryMinimumLength + 16 * sources) { error = WireError.BadLength; return false; }
            buffer = buffer[..(Mldv2QueryMinimumLength + 16 * sources)];
        }
        else
        {
            buffer = buffer[..Mldv1Length];
        }
        message = new MldMessage(buffer);
        error = WireError.None;
        return true;
    }

    /// <summary>The message type.</summary>
    public Icmpv6Type Type => (Icmpv6Type)_buffer[0];
    /// <summary>The message code.</summary>
    public byte Code => _buffer[1];
    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>True for a query long enough to be MLDv2 (RFC 3810 §8.1).</summary>
    public bool IsVersion2Query => _buffer.Length >= Mldv2QueryMinimumLength;

    /// <summary>The raw Maximum Response Code (MLDv2) or Maximum Response Delay in ms (MLDv1).</summary>
    public ushort MaxResponseCode => BinaryPrimitives.ReadUInt16BigEndian(_buffer[4..]);
    /// <summary>The maximum response delay in milliseconds (RFC 3810 §5.1.3 decoding for MLDv2 queries).</summary>
    public int MaxResponseDelayMilliseconds => IsVersion2Query ? Mldv2Codes.DecodeMaxResponseCode(MaxResponseCode) : MaxResponseCode;
    /// <summary>The multicast address field.</summary>
    public Ipv6Address MulticastAddress => Ipv6Address.Read(_buffer[8..]);

    // RFC 3810 §5.1.7-§5.1.9.
    /// <summary>S flag: routers suppress timer updates on hearing this query.</summary>
    public bool SuppressRouterSideProcessing => IsVersion2Query && (_buffer[24] & 0x08) != 0;
    /// <summary>Querier's Robustness Variable (0 = beyond 7, RFC 3810 §5.1.8).</summary>
    public int Qrv => IsVersion2Query ? _buffer[24] & 7 : 0;
    /// <summary>The querier's query interval code (MLDv2).</summary>
    public byte Qqic => IsVersion2Query ? _buffer[25] : (byte)0;
    /// <summary>The querier's query interval in seconds (RFC 3810 §5.1.9 decoding).</summary>
    public int QueryIntervalSeconds => Mldv2Codes.DecodeQqic(Qqic);
    /// <summary>Sources listed in an MLDv2 query (0 otherwise).</summary>
    public int SourceCount => IsVersion2Query ? BinaryPrimitives.ReadUInt16BigEndian(_buffer[26..]) : 0;
    /// <summary>The source at <paramref name="i"/> (default when out of range).</summary>
    public Ipv6Address Source(int i) => (uint)i < (uint)SourceCount ? Ipv6Address.Read(_buffer[(28 + 16 * i)..]) : default;
}

/// <summary>The exponential encodings of MLDv2 (RFC 3810 §5.1.3 and §5.1.9).</summary>
public static class Mldv2Codes
{
    /// <summary>RFC 3810 §5.1.3: codes below 32768 are milliseconds; above, 1|exp(3)|mant(12) = (mant | 0x1000) &lt;&lt; (exp + 3).</summary>
    public static int DecodeMaxResponseCode(ushort code) =>
        code < 0x8000 ? code : ((code & 0xFFF) | 0x1000) << (((code >> 12) & 7) + 3);

    /// <summary>RFC 3810 §5.1.9: codes below 128 are seconds; above, 1|exp(3)|mant(4) = (mant | 0x10) &lt;&lt; (exp + 3).</summary>
    public static int DecodeQqic(byte code) =>
        code < 0x80 ? code : ((code & 0xF) | 0x10) << (((code >> 4) & 7) + 3);

    /// <summary>The largest code whose decoded value does not exceed <paramref name="milliseconds"/> (clamped to the range).</summary>
    public static ushort EncodeMaxResponseCode(int milliseconds)
    {
        if (milliseconds < 0x8000) return (ushort)Math.Max(0, milliseconds);
        for (int exp = 7; exp >= 0; exp--)
        {
            int mant = (milliseconds >> (exp + 3)) - 0x1000;
            if (mant >= 0) return (ushort)(0x8000 | exp << 12 | Math.Min(mant, 0xFFF));
        }
        return 0x7FFF;
    }

    /// <summary>The largest QQIC whose decoded value does not exceed <paramref name="seconds"/> (clamped to the range).</summary>
    public static byte EncodeQqic(int seconds)
    {
        if (seconds < 0x80) return (byte)Math.Max(0, seconds);
        for (int exp = 7; exp >= 0; exp--)
        {
            int mant = (seconds >> (exp + 3)) - 0x10;
            if (mant >= 0) return (byte)(0x80 | exp << 4 | Math.Min(mant, 0xF));
        }
        return 0x7F;
    }
}

/// <summary>An MLDv1 query, report or done to write (RFC 2710 §3); the delay is in milliseconds.</summary>
public readonly record struct Mldv1Repr(Icmpv6Type Type, ushort MaxResponseDelay, Ipv6Address MulticastAddress)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => MldMessage.Mldv1Length;

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[..MldMessage.Mldv1Length].Clear();
        buffer[0] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], MaxResponseDelay);
        MulticastAddress.Write(buffer[8..]);
        Icmpv6Packet.FillChecksum(buffer[..MldMessage.Mldv1Length], source, destination);
        return MldMessage.Mldv1Length;
    }
}

/// <summary>An MLDv2 query to write (RFC 3810 §5.1); codes are already encoded (see <see cref="Mldv2Codes"/>).</summary>
public readonly record struct Mldv2QueryRepr(ushort MaxResponseCode, Ipv6Address MulticastAddress, bool SuppressRouterSideProcessing,
    byte Qrv, byte Qqic, ReadOnlyMemory<Ipv6Address> Sources)
{
    /// <summary>Bytes the query takes.</summary>
    public int BufferLength => MldMessage.Mldv2QueryMinimumLength + 16 * Sources.Length;

    /// <summary>Writes the query with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        int length = BufferLength;
        buffer[..length].Clear();
        buffer[0] = (byte)Icmpv6Type.MulticastListenerQuery;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], MaxResponseCode);
        MulticastAddress.Write(buffer[8..]);
        buffer[24] = (byte)((SuppressRouterSideProcessing ? 0x08 : 0) | (Qrv & 7));
        buffer[25] = Qqic;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[26..], (ushort)Sources.Length);
        var s = Sources.Span;
        for (int i = 0; i < s.Length; i++) s[i].Write(buffer[(28 + 16 * i)..]);
        Icmpv6Packet.FillChecksum(buffer[..length], source, destination);
        return length;
    }
}
