using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>Neighbor Discovery option types (RFC 4861 §4.6, RFC 3971, RFC 8106).</summary>
public enum NdpOptionType : byte
{
    /// <summary>Source link-layer address (RFC 4861 §4.6.1).</summary>
    SourceLinkLayerAddress = 1,
    /// <summary>Target link-layer address (RFC 4861 §4.6.1).</summary>
    TargetLinkLayerAddress = 2,
    /// <summary>Prefix information (RFC 4861 §4.6.2).</summary>
    PrefixInformation = 3,
    /// <summary>Redirected header (RFC 4861 §4.6.3).</summary>
    RedirectedHeader = 4,
    /// <summary>MTU (RFC 4861 §4.6.4).</summary>
    Mtu = 5,
    /// <summary>RFC 3971 §5.3.2 (used without SEND by RFC 7527 enhanced DAD).</summary>
    Nonce = 14,
    /// <summary>RFC 4191 §2.3.</summary>
    RouteInformation = 24,
    /// <summary>RFC 8106 §5.1.</summary>
    RecursiveDnsServer = 25,
    /// <summary>RFC 8106 §5.2.</summary>
    DnsSearchList = 31,
}

/// <summary>
/// One ND option (type, length in 8-octet units, data). Known options were length-checked by the
/// message parser, so their typed accessors cannot throw; on other types they return defaults.
/// </summary>
public readonly ref struct NdpOption
{
    private readonly ReadOnlySpan<byte> _bytes;

    internal NdpOption(ReadOnlySpan<byte> bytes) => _bytes = bytes;

    /// <summary>The option type.</summary>
    public NdpOptionType Type => (NdpOptionType)_bytes[0];
    /// <summary>The whole option length in octets (8 × the length field).</summary>
    public int Length => _bytes.Length;
    /// <summary>The whole option, type and length octets included.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Source/Target Link-Layer Address (RFC 4861 §4.6.1): the address octets (padding included).</summary>
    public ReadOnlySpan<byte> LinkLayerAddress => _bytes[2..];
    /// <summary>The link-layer address as an Ethernet MAC (RFC 2464 §6: length 1, six octets).</summary>
    public MacAddress MacAddress => MacAddress.Read(_bytes[2..]);

    // RFC 4861 §4.6.2 Prefix Information.
    /// <summary>A prefix information option's prefix length (0 for other types).</summary>
    public int PrefixLength => IsPrefix ? _bytes[2] : 0;
    /// <summary>L flag: the prefix is on-link.</summary>
    public bool OnLink => IsPrefix && (_bytes[3] & 0x80) != 0;
    /// <summary>A flag: the prefix may be used for stateless autoconfiguration (RFC 4862).</summary>
    public bool Autonomous => IsPrefix && (_bytes[3] & 0x40) != 0;
    /// <summary>Seconds; 0xFFFFFFFF is infinity.</summary>
    public uint ValidLifetime => IsPrefix ? BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]) : 0;
    /// <summary>A prefix information option's preferred lifetime in seconds (0 for other types).</summary>
    public uint PreferredLifetime => IsPrefix ? BinaryPrimitives.ReadUInt32BigEndian(_bytes[8..]) : 0;
    /// <summary>A prefix information option's prefix (default for other types).</summary>
    public Ipv6Address Prefix => IsPrefix ? Ipv6Address.Read(_bytes[16..]) : default;
    private bool IsPrefix => Type == NdpOptionType.PrefixInformation;

    /// <summary>RFC 4861 §4.6.3: the start of the redirected packet (after six reserved octets).</summary>
    public ReadOnlySpan<byte> RedirectedPacket => Type == NdpOptionType.RedirectedHeader ? _bytes[8..] : default;

    /// <summary>RFC 4861 §4.6.4: the recommended MTU.</summary>
    public uint Mtu => Type == NdpOptionType.Mtu ? BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]) : 0;

    /// <summary>RFC 3971 §5.3.2: the nonce octets (everything after type and length).</summary>
    public ReadOnlySpan<byte> Nonce => Type == NdpOptionType.Nonce ? _bytes[2..] : default;

    // RFC 8106 §5.1 RDNSS: reserved(2), lifetime(4), addresses.
    private bool IsRdnss => Type == NdpOptionType.RecursiveDnsServer;
    /// <summary>RDNSS lifetime in seconds (0xFFFFFFFF infinity, 0 = stop using).</summary>
    public uint RdnssLifetime => IsRdnss ? BinaryPrimitives.ReadUInt32BigEndian(_bytes[4..]) : 0;
    /// <summary>DNS servers in an RDNSS option (0 for other types).</summary>
    public int RdnssAddressCount => IsRdnss ? (_bytes.Length - 8) / 16 : 0;
    /// <summary>The i-th recursive DNS server address, or unspecified when out of range.</summary>
    public Ipv6Address RdnssAddress(int i) => (uint)i < (uint)RdnssAddressCount ? Ipv6Address.Read(_bytes[(8 + 16 * i)..]) : default;

    /// <summary>RFC 4861 §4.6 / RFC 8106: the length (in 8-octet units) a known option must have; unknown options pass.</summary>
    internal static bool HasValidLength(byte type, int units) => (NdpOptionType)type switch
    {
        NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress => units >= 1,
        NdpOptionType.PrefixInformation => units == 4,
        NdpOptionType.RedirectedHeader => units >= 1,
        NdpOptionType.Mtu => units == 1,
        NdpOptionType.Nonce => units >= 1,
        // RFC 8106 §5.1: length is 1 + 2 × addresses: at least 3 and odd.
        NdpOptionType.RecursiveDnsServer => units >= 3 && (units & 1) == 1,
        _ => true,
    };
}

/// <summary>Enumerates ND options already validated by the message parser.</summary>
public ref struct NdpOptionEnumerator
{
    private readonly ReadOnlySpan<byte> _options;
    private int _next;
    private NdpOption _current;

    internal NdpOptionEnumerator(ReadOnlySpan<byte> options)
    {
        _options = options;
        _next = 0;
        _current = default;
    }

    /// <summary>The current option.</summary>
    public readonly NdpOption Current => _current;
    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly NdpOptionEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next option; false at the end or at a malformed option.</summary>
    public bool MoveNext()
    {
        if (_next + 2 > _options.Length) return false;
        int len = _options[_next + 1] * 8;
        if (len == 0 || _next + len > _options.Length) return false;
        _current = new NdpOption(_options.Slice(_next, len));
        _next += len;
        return true;
    }

    /// <summary>
    /// RFC 4861 §4.6: every option length must be non-zero ("nodes MUST silently discard an ND packet
    /// that contains an option with length zero") and options must not overrun the message; known
    /// options must have their defined length. Unknown options are accepted (and skipped by users, §4.6).
    /// </summary>
    internal static WireError Validate(ReadOnlySpan<byte> options)
    {
        for (int i = 0; i < options.Length;)
        {
            if (i + 2 > options.Length) return WireError.BadOption;
            int units = options[i + 1];
            if (units == 0) return WireError.BadOption;
            if (i + units * 8 > options.Length) return WireError.BadOption;
            if (!NdpOption.HasValidLength(options[i], units)) return WireError.BadOption;
            i += units * 8;
        }
        return WireError.None;
    }
}

/// <summary>Fields of a Prefix Information option (RFC 4861 §4.6.2).</summary>
public readonly record struct NdpPrefixInformation(byte PrefixLength, bool OnLink, bool Autonomous,
    uint ValidLifetime, uint PreferredLifetime, Ipv6Address Prefix);

/// <summary>
/// An ND option to write. Build one with the static factories; <see cref="Write"/> emits it padded to
/// a multiple of 8 octets.
/// </summary>
public readonly record struct NdpOptionRepr(NdpOptionType Type, MacAddress Mac, NdpPrefixInformation Prefix,
    uint Value, ReadOnlyMemory<byte> Data, ReadOnlyMemory<Ipv6Address> Addresses)
{
    /// <summary>A source link-layer address option.</summary>
    public static NdpOptionRepr SourceLinkLayer(MacAddress mac) => new(NdpOptionType.SourceLinkLayerAddress, mac, default, 0, default, default);
    /// <summary>A target link-layer address option.</summary>
    public static NdpOptionRepr TargetLinkLayer(MacAddress mac) => new(NdpOptionType.TargetLinkLayerAddress, mac, default, 0, default, default);
    /// <summary>A prefix information option.</summary>
    public static NdpOptionRepr PrefixInfo(NdpPrefixInformation prefix) => new(NdpOptionType.PrefixInformation, default, prefix, 0, default, default);
    /// <summary>An MTU option.</summary>
    public static NdpOptionRepr MtuOption(uint mtu) => new(NdpOptionType.Mtu, default, default, mtu, default, default);
    /// <summary>RFC 4861 §4.6.3: the invoking packet; the caller cuts it so the Redirect fits the minimum MTU.</summary>
    public static NdpOptionRepr RedirectedHeader(ReadOnlyMemory<byte> packet) => new(NdpOptionType.RedirectedHeader, default, default, 0, packet, default);
    /// <summary>RFC 3971 §5.3.2: nonce of 6 + 8k octets (RFC 7527 uses 6).</summary>
    public static NdpOptionRepr NonceOption(ReadOnlyMemory<byte> nonce) => new(NdpOptionType.Nonce, default, default, 0, nonce, default);
    /// <summary>A recursive DNS server option (RFC 8106 §5.1).</summary>
    public static NdpOptionRepr Rdnss(uint lifetime, ReadOnlyMemory<Ipv6Address> servers) => new(NdpOptionType.RecursiveDnsServer, default, default, lifetime, default, servers);

    /// <summary>Bytes the option takes.</summary>
    public int Length => Type switch
    {
        NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress => 8,
        NdpOptionType.PrefixInformation => 32,
        NdpOptionType.Mtu => 8,
        NdpOptionType.RedirectedHeader => (8 + Data.Length + 7) & ~7,
        NdpOptionType.RecursiveDnsServer => 8 + 16 * Addresses.Length,
        _ => (2 + Data.Length + 7) & ~7,
    };

    /// <summary>Writes the option; returns the bytes written.</summary>
    public int Write(Span<byte> buffer)
    {
        int length = Length;
        var b = buffer[..length];
        b.Clear();
        b[0] = (byte)Type;
        b[1] = (byte)(length / 8);
        switch (Type)
        {
            case NdpOptionType.SourceLinkLayerAddress or NdpOptionType.TargetLinkLayerAddress:
                Mac.Write(b[2..]);
                break;
            case NdpOptionType.PrefixInformation:
                b[2] = Prefix.PrefixLength;
                b[3] = (byte)((Prefix.OnLink ? 0x80 : 0) | (Prefix.Autonomous ? 0x40 : 0));
                BinaryPrimitives.WriteUInt32BigEndian(b[4..], Prefix.ValidLifetime);
                BinaryPrimitives.WriteUInt32BigEndian(b[8..], Prefix.PreferredLifetime);
                Prefix.Prefix.Write(b[16..]);
                break;
            case NdpOptionType.Mtu:
                BinaryPrimitives.WriteUInt32BigEndian(b[4..], Value);
                break;
            case NdpOptionType.RedirectedHeader:
                Data.Span.CopyTo(b[8..]);
                break;
            case NdpOptionType.RecursiveDnsServer:
                BinaryPrimitives.WriteUInt32BigEndian(b[4..], Value);
                var a = Addresses.Span;
                for (int i = 0; i < a.Length; i++) a[i].Write(b[(8 + 16 * i)..]);
                break;
            default:
                Data.Span.CopyTo(b[2..]);
                break;
        }
        return length;
    }

    internal static int TotalLength(ReadOnlySpan<NdpOptionRepr> options)
    {
        int n = 0;
        foreach (var o in options) n += o.Length;
        return n;
    }

    internal static int WriteAll(ReadOnlySpan<NdpOptionRepr> options, Span<byte> buffer)
    {
        int n = 0;
        foreach (var o in options) n += o.Write(buffer[n..]);
        return n;
    }
}
