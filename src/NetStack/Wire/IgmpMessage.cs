using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>IGMP message types (RFC 3376 §4 and Appendix; RFC 2236 §2; RFC 1112 Appendix I).</summary>
public enum IgmpType : byte
{
    /// <summary>Membership Query, all versions (the version follows from the length and Max Resp Code, RFC 3376 §7.1).</summary>
    MembershipQuery = 0x11,
    /// <summary>IGMPv1 Membership Report (RFC 1112).</summary>
    V1MembershipReport = 0x12,
    /// <summary>IGMPv2 Membership Report (RFC 2236).</summary>
    V2MembershipReport = 0x16,
    /// <summary>IGMPv2 Leave Group (RFC 2236).</summary>
    V2LeaveGroup = 0x17,
    /// <summary>IGMPv3 Membership Report (RFC 3376 §4.2); read with <see cref="Igmpv3Report"/>.</summary>
    V3MembershipReport = 0x22,
}

/// <summary>The IGMP version of a Membership Query (RFC 3376 §7.1).</summary>
public enum IgmpQueryVersion : byte
{
    /// <summary>Not a query.</summary>
    None = 0,
    /// <summary>IGMPv1 (RFC 1112).</summary>
    V1 = 1,
    /// <summary>IGMPv2 (RFC 2236).</summary>
    V2 = 2,
    /// <summary>IGMPv3 (RFC 3376).</summary>
    V3 = 3,
}

/// <summary>
/// A read-only view of an IGMP Membership Query (v1, v2 or v3: RFC 1112, RFC 2236 §2, RFC 3376 §4.1), IGMPv1/v2
/// Membership Report or IGMPv2 Leave Group, over the whole IP payload. IGMPv3 reports are read with <see cref="Igmpv3Report"/>.
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; for an IGMPv3 query the whole
/// source list announced by Number of Sources is in the buffer. The checksum is not judged by the parse:
/// <see cref="ChecksumValid"/> covers the whole payload (RFC 3376 §4.1.10: octets after the sources count in it).
/// </para>
/// </summary>
public readonly ref struct IgmpMessage
{
    /// <summary>IGMPv1/v2 messages and the fixed part of the v1/v2 query (RFC 2236 §2).</summary>
    public const int Length = 8;
    /// <summary>The fixed part of an IGMPv3 query (RFC 3376 §4.1).</summary>
    public const int V3QueryMinimumLength = 12;
    private readonly ReadOnlySpan<byte> _payload;
    private readonly int _length;

    private IgmpMessage(ReadOnlySpan<byte> payload, int length)
    {
        _payload = payload;
        _length = length;
    }

    /// <summary>Validates the type and the length for it (the checksum is checked separately).</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out IgmpMessage message, out WireError error)
    {
        message = default;
        if (payload.Length < Length) { error = WireError.Truncated; return false; }
        var type = (IgmpType)payload[0];
        if (type is not (IgmpType.MembershipQuery or IgmpType.V1MembershipReport or IgmpType.V2MembershipReport or IgmpType.V2LeaveGroup))
        {
            error = WireError.Unsupported;
            return false;
        }
        int length = Length;
        if (type == IgmpType.MembershipQuery && payload.Length > Length)
        {
            // RFC 3376 §7.1: a query of 8 octets is v1 or v2, of 12 or more v3; "Query messages that do not match any of
            // the above conditions (e.g., a Query of length 10 octets) MUST be silently ignored."
            if (payload.Length < V3QueryMinimumLength) { error = WireError.BadLength; return false; }
            int sources = BinaryPrimitives.ReadUInt16BigEndian(payload[10..]);
            // RFC 3376 §4.1.8: Number of Sources must fit in the message.
            length = V3QueryMinimumLength + 4 * sources;
            if (payload.Length < length) { error = WireError.BadLength; return false; }
        }
        message = new IgmpMessage(payload, length);
        error = WireError.None;
        return true;
    }

    /// <summary>The message type.</summary>
    public IgmpType Type => (IgmpType)_payload[0];

    /// <summary>The message up to its last field (a v3 query's additional octets left out, RFC 3376 §4.1.10).</summary>
    public ReadOnlySpan<byte> Bytes => _payload[.._length];

    /// <summary>RFC 3376 §4.1.2 / RFC 2236 §2.3: the checksum over the whole IGMP message (the entire IP payload).</summary>
    public bool ChecksumValid => Checksum.Verify(_payload);

    /// <summary>RFC 3376 §7.1: 8 octets with Max Resp Code 0 = v1, 8 octets otherwise = v2, 12 or more = v3.</summary>
    public IgmpQueryVersion QueryVersion => Type != IgmpType.MembershipQuery ? IgmpQueryVersion.None
        : _length >= V3QueryMinimumLength ? IgmpQueryVersion.V3
        : MaxResponseCode == 0 ? IgmpQueryVersion.V1 : IgmpQueryVersion.V2;

    /// <summary>The raw Max Resp Code (v3) or Max Response Time (v2) field, in tenths of a second; unused (0) in IGMPv1.</summary>
    public byte MaxResponseCode => _payload[1];

    /// <summary>
    /// The maximum response time in tenths of a second: RFC 3376 §4.1.1 exponential decoding for v3 queries, the linear
    /// field for v2 (RFC 3376 §7.3.1), and 100 (10 s) for an IGMPv1 query (RFC 3376 §7.3.1 / RFC 2236 §4).
    /// </summary>
    public int MaxResponseTenths => QueryVersion switch
    {
        IgmpQueryVersion.V3 => IgmpCodes.Decode(MaxResponseCode),
        IgmpQueryVersion.V1 => 100,
        _ => MaxResponseCode,
    };

    /// <summary>The checksum field.</summary>
    public ushort StoredChecksum => BinaryPrimitives.ReadUInt16BigEndian(_payload[2..]);

    /// <summary>Group Address (0.0.0.0 in a general query).</summary>
    public Ipv4Address Group => Ipv4Address.Read(_payload[4..]);

    // RFC 3376 §4.1.5-§4.1.8: the fields of a v3 query (zero for v1/v2).
    private bool IsV3 => _length >= V3QueryMinimumLength;
    /// <summary>S flag: routers suppress timer updates on hearing this query (RFC 3376 §4.1.5).</summary>
    public bool SuppressRouterSideProcessing => IsV3 && (_payload[8] & 0x08) != 0;
    /// <summary>Querier's Robustness Variable (0 = beyond 7, RFC 3376 §4.1.6).</summary>
    public int Qrv => IsV3 ? _payload[8] & 7 : 0;
    /// <summary>Querier's Query Interval Code (RFC 3376 §4.1.7).</summary>
    public byte Qqic => IsV3 ? _payload[9] : (byte)0;
    /// <summary>The querier's query interval in seconds (RFC 3376 §4.1.7 decoding).</summary>
    public int QueryIntervalSeconds => IgmpCodes.Decode(Qqic);
    /// <summary>Sources listed in an IGMPv3 query (0 otherwise).</summary>
    public int SourceCount => IsV3 ? BinaryPrimitives.ReadUInt16BigEndian(_payload[10..]) : 0;
    /// <summary>The source at <paramref name="i"/> (default when out of range).</summary>
    public Ipv4Address Source(int i) => (uint)i < (uint)SourceCount ? Ipv4Address.Read(_payload[(12 + 4 * i)..]) : default;

    /// <summary>Writes the checksum of <paramref name="message"/> (the whole IGMP message) into its bytes 2-3.</summary>
    public static void FillChecksum(Span<byte> message)
    {
        message[2] = 0;
        message[3] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], Checksum.Compute(message));
    }

    /// <summary>RFC 3376 §4.1.2: true when <paramref name="message"/> (the whole IP payload) sums to all ones.</summary>
    public static bool VerifyChecksum(ReadOnlySpan<byte> message) => Checksum.Verify(message);
}

/// <summary>The floating-point encoding of IGMPv3's Max Resp Code and QQIC (RFC 3376 §4.1.1 and §4.1.7).</summary>
public static class IgmpCodes
{
    /// <summary>RFC 3376 §4.1.1 / §4.1.7: codes below 128 are the value; above, 1|exp(3)|mant(4) = (mant | 0x10) &lt;&lt; (exp + 3).</summary>
    public static int Decode(byte code) => code < 0x80 ? code : ((code & 0xF) | 0x10) << (((code >> 4) & 7) + 3);

    /// <summary>The largest code whose decoded value does not exceed <paramref name="value"/> (clamped to the range 0..31744).</summary>
    public static byte Encode(int value)
    {
        if (value < 0x80) return (byte)Math.Max(0, value);
        for (int exp = 7; exp >= 0; exp--)
        {
            int mant = (value >> (exp + 3)) - 0x10;
            if (mant >= 0) return (byte)(0x80 | exp << 4 | Math.Min(mant, 0xF));
        }
        return 0x7F;
    }
}

/// <summary>An IGMPv1/v2 message to write (RFC 2236 §2): a v1 or v2 query, a v1 or v2 report, or a leave.
/// <paramref name="MaxResponseTime"/> is in tenths of a second (0 for everything but a v2 query).</summary>
public readonly record struct IgmpRepr(IgmpType Type, byte MaxResponseTime, Ipv4Address Group)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => IgmpMessage.Length;

    /// <summary>Writes the message with its checksum; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        var b = buffer[..IgmpMessage.Length];
        b[0] = (byte)Type;
        b[1] = MaxResponseTime;
        Group.Write(b[4..]);
        IgmpMessage.FillChecksum(b);
        return IgmpMessage.Length;
    }
}

/// <summary>An IGMPv3 Membership Query to write (RFC 3376 §4.1); codes are already encoded (see <see cref="IgmpCodes"/>).</summary>
public readonly record struct Igmpv3QueryRepr(byte MaxResponseCode, Ipv4Address Group, bool SuppressRouterSideProcessing,
    byte Qrv, byte Qqic, ReadOnlyMemory<Ipv4Address> Sources)
{
    /// <summary>Bytes the query takes.</summary>
    public int BufferLength => IgmpMessage.V3QueryMinimumLength + 4 * Sources.Length;

    /// <summary>Writes the query with its checksum; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        var b = buffer[..BufferLength];
        b[0] = (byte)IgmpType.MembershipQuery;
        b[1] = MaxResponseCode;
        Group.Write(b[4..]);
        // RFC 3376 §4.1.4: the Resv bits are sent as zero.
        b[8] = (byte)((SuppressRouterSideProcessing ? 0x08 : 0) | (Qrv & 7));
        b[9] = Qqic;
        BinaryPrimitives.WriteUInt16BigEndian(b[10..], (ushort)Sources.Length);
        var s = Sources.Span;
        for (int i = 0; i < s.Length; i++) s[i].Write(b[(12 + 4 * i)..]);
        IgmpMessage.FillChecksum(b);
        return b.Length;
    }
}
