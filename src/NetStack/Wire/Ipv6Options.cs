using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// What a node must do with an option it does not recognize: the two high-order bits of the option
/// type (RFC 8200 §4.2).
/// </summary>
public enum Ipv6OptionAction : byte
{
    /// <summary>00: skip over this option and continue processing the header.</summary>
    Skip = 0,
    /// <summary>01: discard the packet.</summary>
    Discard = 1,
    /// <summary>10: discard the packet and send ICMPv6 Parameter Problem, code 2, pointing to the option type.</summary>
    DiscardAndReport = 2,
    /// <summary>11: discard and send Parameter Problem code 2 only if the destination was not multicast.</summary>
    DiscardAndReportIfUnicast = 3,
}

/// <summary>Option types with a meaning of their own in Hop-by-Hop and Destination Options headers.</summary>
public static class Ipv6OptionType
{
    /// <summary>RFC 8200 §4.2: a single octet of padding.</summary>
    public const byte Pad1 = 0;
    /// <summary>RFC 8200 §4.2: N octets of padding (type, length, length zeros).</summary>
    public const byte PadN = 1;
    /// <summary>RFC 2711: Router Alert (Hop-by-Hop).</summary>
    public const byte RouterAlert = 5;
    /// <summary>RFC 2675: Jumbo Payload (Hop-by-Hop).</summary>
    public const byte JumboPayload = 0xC2;
}

/// <summary>One TLV option inside a Hop-by-Hop or Destination Options header.</summary>
public readonly ref struct Ipv6Option
{
    private readonly ReadOnlySpan<byte> _data;

    internal Ipv6Option(byte type, ReadOnlySpan<byte> data, int offset)
    {
        Type = type;
        _data = data;
        Offset = offset;
    }

    /// <summary>The option type byte.</summary>
    public byte Type { get; }
    /// <summary>The option data (empty for Pad1).</summary>
    public ReadOnlySpan<byte> Data => _data;
    /// <summary>Offset of the option type octet from the start of its extension header (add the header's
    /// own offset for an ICMPv6 Parameter Problem pointer, RFC 4443 §3.4).</summary>
    public int Offset { get; }
    /// <summary>RFC 8200 §4.2: the two high-order bits of the type.</summary>
    public Ipv6OptionAction Action => (Ipv6OptionAction)(Type >> 6);
    /// <summary>RFC 8200 §4.2: third-highest bit set = the option data may change en route.</summary>
    public bool MayChangeEnRoute => (Type & 0x20) != 0;
    /// <summary>True for Pad1 and PadN.</summary>
    public bool IsPadding => Type is Ipv6OptionType.Pad1 or Ipv6OptionType.PadN;
}

/// <summary>Walks the options of an options area already validated by <see cref="Ipv6OptionsHeader.TryParse"/>.</summary>
public ref struct Ipv6OptionEnumerator
{
    private readonly ReadOnlySpan<byte> _header;
    private int _next;
    private Ipv6Option _current;

    internal Ipv6OptionEnumerator(ReadOnlySpan<byte> header)
    {
        _header = header;
        _next = 2;
        _current = default;
    }

    /// <summary>The current option.</summary>
    public readonly Ipv6Option Current => _current;
    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly Ipv6OptionEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next option; false at the end or at a malformed option.</summary>
    public bool MoveNext()
    {
        if (_next >= _header.Length) return false;
        int at = _next;
        byte type = _header[at];
        if (type == Ipv6OptionType.Pad1)
        {
            _current = new Ipv6Option(type, default, at);
            _next = at + 1;
            return true;
        }
        // Lengths were validated once in TryParse; a malformed area ends the walk rather than throwing.
        if (at + 2 > _header.Length || at + 2 + _header[at + 1] > _header.Length) { _next = _header.Length; return false; }
        int len = _header[at + 1];
        _current = new Ipv6Option(type, _header.Slice(at + 2, len), at);
        _next = at + 2 + len;
        return true;
    }
}

/// <summary>
/// A read-only view of a Hop-by-Hop Options or Destination Options header (RFC 8200 §4.3, §4.6).
/// <para>Guarantee: once <see cref="TryParse"/> has returned true, the header lies in the buffer and
/// every option's length stays inside the header, so enumeration cannot fail.</para>
/// </summary>
public readonly ref struct Ipv6OptionsHeader
{
    /// <summary>Bytes of the shortest options header.</summary>
    public const int MinimumLength = 8;
    private readonly ReadOnlySpan<byte> _buffer;

    private Ipv6OptionsHeader(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates the header length (in 8-octet units, not counting the first 8) and every option's length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out Ipv6OptionsHeader header, out WireError error)
    {
        header = default;
        if (buffer.Length < MinimumLength) { error = WireError.Truncated; return false; }
        int length = (buffer[1] + 1) * 8;
        if (length > buffer.Length) { error = WireError.Truncated; return false; }
        var h = buffer[..length];
        for (int i = 2; i < length;)
        {
            if (h[i] == Ipv6OptionType.Pad1) { i++; continue; }
            // RFC 8200 §4.2: each TLV is type, length, data; a length running past the header is malformed.
            if (i + 2 > length || i + 2 + h[i + 1] > length) { error = WireError.BadOption; return false; }
            i += 2 + h[i + 1];
        }
        header = new Ipv6OptionsHeader(h);
        error = WireError.None;
        return true;
    }

    /// <summary>The header that follows.</summary>
    public IpProtocol NextHeader => (IpProtocol)_buffer[0];
    /// <summary>The whole header length in octets.</summary>
    public int Length => _buffer.Length;
    /// <summary>The whole options header.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>The options.</summary>
    public Ipv6OptionEnumerator Options => new(_buffer);
}

/// <summary>An option to write: its type and data (at most 255 octets).</summary>
public readonly record struct Ipv6OptionRepr(byte Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes of the option, type and length included.</summary>
    public int Length => Type == Ipv6OptionType.Pad1 ? 1 : 2 + Data.Length;

    /// <summary>A Router Alert option (RFC 2711) with the given value (0 = MLD).</summary>
    public static Ipv6OptionRepr RouterAlert(ushort value)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, value);
        return new Ipv6OptionRepr(Ipv6OptionType.RouterAlert, data);
    }
}

/// <summary>
/// A Hop-by-Hop or Destination Options header to write: options in order, then padding (Pad1 or PadN)
/// up to a multiple of 8 octets (RFC 8200 §4.3).
/// </summary>
public readonly record struct Ipv6OptionsRepr(IpProtocol NextHeader, ReadOnlyMemory<Ipv6OptionRepr> Options)
{
    /// <summary>Bytes of the header, padded to a multiple of 8.</summary>
    public int HeaderLength
    {
        get
        {
            int n = 2;
            foreach (var o in Options.Span) n += o.Length;
            return (n + 7) & ~7;
        }
    }

    /// <summary>Bytes the header takes.</summary>
    public int BufferLength => HeaderLength;

    /// <summary>Writes the header at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        int length = HeaderLength;
        buffer[0] = (byte)NextHeader;
        buffer[1] = (byte)(length / 8 - 1);
        int o = 2;
        foreach (var opt in Options.Span)
        {
            buffer[o++] = opt.Type;
            if (opt.Type == Ipv6OptionType.Pad1) continue;
            buffer[o++] = (byte)opt.Data.Length;
            opt.Data.Span.CopyTo(buffer[o..]);
            o += opt.Data.Length;
        }
        int pad = length - o;
        if (pad == 1) buffer[o] = Ipv6OptionType.Pad1;
        else if (pad > 1)
        {
            // RFC 8200 §4.2: PadN, length N-2, zero data.
            buffer[o] = Ipv6OptionType.PadN;
            buffer[o + 1] = (byte)(pad - 2);
            buffer.Slice(o + 2, pad - 2).Clear();
        }
        return length;
    }
}
