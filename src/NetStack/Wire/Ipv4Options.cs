namespace NetStack.Wire;

/// <summary>IPv4 option types (RFC 791 §3.1; IANA "IP Option Numbers"): copy flag, class and number in one byte.</summary>
public enum Ipv4OptionType : byte
{
    /// <summary>End of option list (RFC 791).</summary>
    EndOfList = 0,
    /// <summary>No operation.</summary>
    NoOperation = 1,
    /// <summary>RFC 791 / RFC 1108 Security (basic security option).</summary>
    Security = 130,
    /// <summary>Loose source and record route.</summary>
    LooseSourceRoute = 131,
    /// <summary>Internet timestamp.</summary>
    Timestamp = 68,
    /// <summary>Record route.</summary>
    RecordRoute = 7,
    /// <summary>Strict source and record route.</summary>
    StrictSourceRoute = 137,
    /// <summary>RFC 2113 Router Alert.</summary>
    RouterAlert = 148,
}

/// <summary>One option inside an IPv4 header: its type, its whole length, and its data after type and length.</summary>
public readonly ref struct Ipv4Option
{
    /// <summary>An option of <paramref name="type"/> and total <paramref name="length"/> with <paramref name="data"/>.</summary>
    public Ipv4Option(Ipv4OptionType type, int length, ReadOnlySpan<byte> data)
    {
        Type = type;
        Length = length;
        Data = data;
    }

    /// <summary>The option type.</summary>
    public Ipv4OptionType Type { get; }
    /// <summary>Bytes the option occupies (1 for NOP and EOL).</summary>
    public int Length { get; }
    /// <summary>The bytes after the type and length octets (empty for single-byte options).</summary>
    public ReadOnlySpan<byte> Data { get; }
    /// <summary>RFC 791 §3.1: the copied flag (copy into all fragments).</summary>
    public bool Copied => ((byte)Type & 0x80) != 0;
}

/// <summary>
/// Walks the options area of an IPv4 header. Use on a validated header (<see cref="Ipv4Packet.Options"/>),
/// where it cannot fail; on raw bytes it stops at the first malformed option.
/// </summary>
public ref struct Ipv4OptionEnumerator
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;
    private Ipv4Option _current;

    /// <summary>Enumerates the options in <paramref name="options"/>.</summary>
    public Ipv4OptionEnumerator(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        _current = default;
    }

    /// <summary>The current option.</summary>
    public readonly Ipv4Option Current => _current;

    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly Ipv4OptionEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next option; false at the end of the list or at a malformed option.</summary>
    public bool MoveNext()
    {
        if (_offset >= _options.Length) return false;
        var type = (Ipv4OptionType)_options[_offset];
        // RFC 791 §3.1: End of Option List ends the options; whatever follows is padding.
        if (type == Ipv4OptionType.EndOfList) { _offset = _options.Length; return false; }
        if (type == Ipv4OptionType.NoOperation)
        {
            _current = new Ipv4Option(type, 1, default);
            _offset++;
            return true;
        }
        if (Ipv4Options.MeasureOne(_options[_offset..]) is not (> 0 and var length)) { _offset = _options.Length; return false; }
        _current = new Ipv4Option(type, length, _options.Slice(_offset + 2, length - 2));
        _offset += length;
        return true;
    }
}

/// <summary>Validation and writing of IPv4 options (RFC 791 §3.1, RFC 2113).</summary>
public static class Ipv4Options
{
    /// <summary>Largest options area (IHL 15 => 60-byte header).</summary>
    public const int MaxLength = 40;

    /// <summary>Checks every option of an options area: <see cref="WireError.BadOption"/> when one is malformed.</summary>
    public static WireError Validate(ReadOnlySpan<byte> options)
    {
        int i = 0;
        while (i < options.Length)
        {
            var type = (Ipv4OptionType)options[i];
            if (type == Ipv4OptionType.EndOfList) return WireError.None;
            if (type == Ipv4OptionType.NoOperation) { i++; continue; }
            int length = MeasureOne(options[i..]);
            if (length <= 0) return WireError.BadOption;
            i += length;
        }
        return WireError.None;
    }

    /// <summary>
    /// The length of the multi-byte option at the start of <paramref name="option"/>, or -1 when it
    /// is malformed: no length octet, length below 2, length past the end of the header, or below the
    /// minimum of a known type.
    /// </summary>
    internal static int MeasureOne(ReadOnlySpan<byte> option)
    {
        // RFC 791 §3.1: "the option-length octet counts the option-type octet and the option-length octet".
        if (option.Length < 2) return -1;
        int length = option[1];
        if (length < 2 || length > option.Length) return -1;
        var min = (Ipv4OptionType)option[0] switch
        {
            // RFC 791 §3.1: route options carry a pointer octet (length >= 3, pointer >= 4).
            Ipv4OptionType.RecordRoute or Ipv4OptionType.LooseSourceRoute or Ipv4OptionType.StrictSourceRoute => 3,
            // RFC 791 §3.1: Timestamp has pointer and overflow/flags octets.
            Ipv4OptionType.Timestamp => 4,
            // RFC 2113 §2.1: Router Alert is exactly 4 octets.
            Ipv4OptionType.RouterAlert => 4,
            _ => 2,
        };
        if (length < min) return -1;
        if ((Ipv4OptionType)option[0] == Ipv4OptionType.RouterAlert && length != 4) return -1;
        return length;
    }

    /// <summary>Writes a type/length/data option and returns its length (2 + data).</summary>
    public static int Write(Span<byte> buffer, Ipv4OptionType type, ReadOnlySpan<byte> data)
    {
        buffer[0] = (byte)type;
        buffer[1] = (byte)(data.Length + 2);
        data.CopyTo(buffer[2..]);
        return data.Length + 2;
    }

    /// <summary>Writes a Router Alert option (RFC 2113 §2.1, value 0: "router shall examine packet") and returns 4.</summary>
    public static int WriteRouterAlert(Span<byte> buffer, ushort value = 0)
    {
        buffer[0] = (byte)Ipv4OptionType.RouterAlert;
        buffer[1] = 4;
        buffer[2] = (byte)(value >> 8);
        buffer[3] = (byte)value;
        return 4;
    }

    /// <summary>Options area length after padding to a 32-bit boundary (RFC 791 §3.1 "padding").</summary>
    public static int PaddedLength(int optionsLength) => (optionsLength + 3) & ~3;
}
