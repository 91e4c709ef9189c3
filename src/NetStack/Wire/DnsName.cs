namespace NetStack.Wire;

/// <summary>
/// A domain name inside a DNS message (RFC 1035 §3.1, §4.1.4), possibly compressed. A view: it keeps the
/// whole message so that compression pointers can be followed, and never copies or allocates except in
/// <see cref="ToString"/>.
/// <para>
/// Decoding rules (hostile input is normal input): a label is at most 63 octets (the 01 / 10 label types
/// of RFC 6891 are refused); the name is at most 255 octets in wire form; every compression pointer must
/// point strictly before the previous pointer's target (so pointers can never loop, not even into
/// themselves); at most <see cref="MaxPointerHops"/> pointers. Any breach is <see cref="WireError.BadName"/>,
/// running off the buffer is <see cref="WireError.Truncated"/>.
/// </para>
/// </summary>
public readonly ref struct DnsName
{
    /// <summary>The longest name in wire form, in bytes (RFC 1035 §3.1).</summary>
    public const int MaxLength = 255;
    /// <summary>The longest label, in bytes (RFC 1035 §2.3.4).</summary>
    public const int MaxLabelLength = 63;
    /// <summary>At most this many compression pointers are followed in one name (a loop guard).</summary>
    public const int MaxPointerHops = 64;
    /// <summary>Characters the longest possible name can need in text form (every octet as \DDD).</summary>
    public const int MaxTextLength = MaxLength * 4;

    private readonly ReadOnlySpan<byte> _message;
    private readonly int _offset;

    internal DnsName(ReadOnlySpan<byte> message, int offset)
    {
        _message = message;
        _offset = offset;
    }

    /// <summary>Octets of the uncompressed wire form, including the root label.</summary>
    public int WireLength
    {
        get
        {
            Walk(_message, _offset, out _, out int wire);
            return wire;
        }
    }

    /// <summary>
    /// Validates the name starting at <paramref name="offset"/>. <paramref name="end"/> is the offset just
    /// after the name where it is stored (after its first pointer, if any), <paramref name="wireLength"/>
    /// the octets of its uncompressed form.
    /// </summary>
    public static WireError Walk(ReadOnlySpan<byte> message, int offset, out int end, out int wireLength)
    {
        end = -1;
        wireLength = 0;
        int pos = offset;
        int limit = offset;   // RFC 1035 §4.1.4 says "prior occurrence": targets must strictly decrease.
        int hops = 0;
        int wire = 1;         // the root label
        while (true)
        {
            if ((uint)pos >= (uint)message.Length) return WireError.Truncated;
            byte len = message[pos];
            if (len == 0)
            {
                if (end < 0) end = pos + 1;
                wireLength = wire;
                return WireError.None;
            }
            switch (len & 0xC0)
            {
                case 0xC0:
                    if (pos + 1 >= message.Length) return WireError.Truncated;
                    int target = ((len & 0x3F) << 8) | message[pos + 1];
                    if (end < 0) end = pos + 2;
                    // Forward pointers, pointers into themselves and loops all fail this test.
                    if (target >= limit || ++hops > MaxPointerHops) return WireError.BadName;
                    limit = target;
                    pos = target;
                    continue;
                case 0x00:
                    // RFC 1035 §2.3.4: labels 63 octets or less, names 255 octets or less.
                    wire += len + 1;
                    if (wire > MaxLength) return WireError.BadName;
                    if (pos + 1 + len > message.Length) return WireError.Truncated;
                    pos += len + 1;
                    continue;
                default:
                    // 01 and 10 prefixes: extended label types (RFC 6891 §5) we do not decode.
                    return WireError.BadName;
            }
        }
    }

    /// <summary>Enumerates the labels (no root label). Valid only on a name that passed <see cref="Walk"/>.</summary>
    public LabelEnumerator Labels => new(_message, _offset);

    /// <summary>True for the root name (".").</summary>
    public bool IsRoot
    {
        get
        {
            var e = Labels;
            return !e.MoveNext();
        }
    }

    /// <summary>Writes the uncompressed wire form into <paramref name="destination"/>, lower-cased if asked.</summary>
    public bool TryCopyWire(Span<byte> destination, out int written, bool lowerCase = false)
    {
        written = 0;
        foreach (var label in Labels)
        {
            if (written + 1 + label.Length > destination.Length) return false;
            destination[written++] = (byte)label.Length;
            for (int i = 0; i < label.Length; i++) destination[written++] = lowerCase ? ToLower(label[i]) : label[i];
        }
        if (written + 1 > destination.Length) return false;
        destination[written++] = 0;
        return true;
    }

    /// <summary>
    /// Formats the name as dotted text without a trailing dot ("." for the root). '.' and '\' inside a label
    /// are escaped with '\', octets outside printable ASCII as \DDD (RFC 1035 §5.1).
    /// </summary>
    public bool TryFormat(Span<char> destination, out int written)
    {
        written = 0;
        bool first = true;
        foreach (var label in Labels)
        {
            if (!first)
            {
                if (written >= destination.Length) return false;
                destination[written++] = '.';
            }
            first = false;
            foreach (byte c in label)
            {
                if (c is (byte)'.' or (byte)'\\')
                {
                    if (written + 2 > destination.Length) return false;
                    destination[written++] = '\\';
                    destination[written++] = (char)c;
                }
                else if (c is < 0x21 or > 0x7E)
                {
                    if (written + 4 > destination.Length) return false;
                    destination[written++] = '\\';
                    destination[written++] = (char)('0' + c / 100);
                    destination[written++] = (char)('0' + c / 10 % 10);
                    destination[written++] = (char)('0' + c % 10);
                }
                else
                {
                    if (written >= destination.Length) return false;
                    destination[written++] = (char)c;
                }
            }
        }
        if (first)
        {
            if (destination.Length < 1) return false;
            destination[written++] = '.';
        }
        return true;
    }

    /// <summary>Dotted text form (allocates).</summary>
    public override string ToString()
    {
        Span<char> buf = stackalloc char[MaxTextLength];
        return TryFormat(buf, out int n) ? new string(buf[..n]) : string.Empty;
    }

    /// <summary>Case-insensitive comparison (RFC 4343) with another name, possibly in another message.</summary>
    public bool NameEquals(DnsName other)
    {
        var a = Labels;
        var b = other.Labels;
        while (true)
        {
            bool ma = a.MoveNext(), mb = b.MoveNext();
            if (ma != mb) return false;
            if (!ma) return true;
            if (!LabelEquals(a.Current, b.Current)) return false;
        }
    }

    /// <summary>Case-insensitive comparison with an uncompressed wire-form name.</summary>
    public bool NameEquals(ReadOnlySpan<byte> wireName)
    {
        int p = 0;
        foreach (var label in Labels)
        {
            if (p >= wireName.Length || wireName[p] != label.Length || p + 1 + label.Length > wireName.Length) return false;
            if (!LabelEquals(label, wireName.Slice(p + 1, label.Length))) return false;
            p += 1 + label.Length;
        }
        return p < wireName.Length && wireName[p] == 0;
    }

    internal static bool LabelEquals(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (ToLower(a[i]) != ToLower(b[i])) return false;
        }
        return true;
    }

    internal static byte ToLower(byte c) => c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c;

    /// <summary>
    /// Encodes dotted text (trailing dot optional, "\." and "\DDD" escapes understood) into uncompressed
    /// wire form. False if a label is empty or over 63 octets, the name over 255 octets, or the buffer short.
    /// </summary>
    public static bool TryEncode(ReadOnlySpan<char> text, Span<byte> destination, out int written)
    {
        written = 0;
        if (text.Length == 0 || text is ".")
        {
            if (destination.Length < 1) return false;
            destination[0] = 0;
            written = 1;
            return true;
        }
        int o = 0;
        int i = 0;
        while (i < text.Length)
        {
            int lenPos = o++;
            int labelLen = 0;
            while (i < text.Length && text[i] != '.')
            {
                int c = text[i++];
                if (c == '\\')
                {
                    if (i >= text.Length) return false;
                    if (char.IsAsciiDigit(text[i]))
                    {
                        if (i + 3 > text.Length || !char.IsAsciiDigit(text[i + 1]) || !char.IsAsciiDigit(text[i + 2])) return false;
                        c = (text[i] - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
                        if (c > 255) return false;
                        i += 3;
                    }
                    else
                    {
                        c = text[i++];
                    }
                }
                if (c > 255) return false;
                if (o >= destination.Length || o + 1 > MaxLength) return false;
                destination[o++] = (byte)c;
                labelLen++;
            }
            if (labelLen == 0 || labelLen > MaxLabelLength) return false;
            destination[lenPos] = (byte)labelLen;
            if (i < text.Length) i++; // the dot; a trailing dot ends the loop
        }
        if (o >= destination.Length || o + 1 > MaxLength) return false;
        destination[o++] = 0;
        written = o;
        return true;
    }

    /// <summary>Labels of a validated name, following compression pointers.</summary>
    public ref struct LabelEnumerator
    {
        private readonly ReadOnlySpan<byte> _message;
        private int _pos;
        private int _hops;
        private ReadOnlySpan<byte> _current;

        internal LabelEnumerator(ReadOnlySpan<byte> message, int offset)
        {
            _message = message;
            _pos = offset;
            _hops = 0;
            _current = default;
        }

        /// <summary>The current label.</summary>
        public readonly ReadOnlySpan<byte> Current => _current;
        /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
        public readonly LabelEnumerator GetEnumerator() => this;

        /// <summary>Moves to the next label; false at the end of the name.</summary>
        public bool MoveNext()
        {
            // Bounds re-checked so the enumerator cannot throw even on an unvalidated name.
            while ((uint)_pos < (uint)_message.Length)
            {
                byte len = _message[_pos];
                if (len == 0) return false;
                if ((len & 0xC0) == 0xC0)
                {
                    if (_pos + 1 >= _message.Length || ++_hops > MaxPointerHops) return false;
                    _pos = ((len & 0x3F) << 8) | _message[_pos + 1];
                    continue;
                }
                if ((len & 0xC0) != 0 || _pos + 1 + len > _message.Length) return false;
                _current = _message.Slice(_pos + 1, len);
                _pos += 1 + len;
                return true;
            }
            return false;
        }
    }
}
