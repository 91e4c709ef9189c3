namespace NetStack.Wire;

/// <summary>DHCP message types carried in option 53 (RFC 2132 §9.6).</summary>
public enum DhcpMessageType : byte
{
    None = 0,
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

/// <summary>BOOTP operation codes (RFC 2131 §2, 'op').</summary>
public enum BootpOp : byte
{
    Request = 1,
    Reply = 2,
}

/// <summary>DHCP option codes this stack reads or writes (RFC 2132).</summary>
public static class DhcpOptionCode
{
    public const byte Pad = 0;
    public const byte SubnetMask = 1;
    public const byte Router = 3;
    public const byte DnsServers = 6;
    public const byte HostName = 12;
    public const byte DomainName = 15;
    public const byte InterfaceMtu = 26;
    public const byte BroadcastAddress = 28;
    public const byte RequestedAddress = 50;
    public const byte LeaseTime = 51;
    public const byte Overload = 52;
    public const byte MessageType = 53;
    public const byte ServerIdentifier = 54;
    public const byte ParameterRequestList = 55;
    public const byte Message = 56;
    public const byte MaxMessageSize = 57;
    public const byte RenewalTime = 58;
    public const byte RebindingTime = 59;
    public const byte ClientIdentifier = 61;
    public const byte End = 255;
}

/// <summary>One option found by <see cref="DhcpOptionEnumerator"/>: its code and value bytes.</summary>
public readonly ref struct DhcpOption
{
    public DhcpOption(byte code, ReadOnlySpan<byte> value)
    {
        Code = code;
        Value = value;
    }

    public byte Code { get; }
    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// A list of IPv4 addresses stored back to back in an option value (router, DNS servers).
/// Never copies; <see cref="Count"/> is the value length divided by four.
/// </summary>
public readonly ref struct Ipv4AddressList
{
    private readonly ReadOnlySpan<byte> _bytes;

    public Ipv4AddressList(ReadOnlySpan<byte> bytes) => _bytes = bytes[..(bytes.Length / 4 * 4)];

    public int Count => _bytes.Length / 4;
    public bool IsEmpty => _bytes.IsEmpty;

    public Ipv4Address this[int index] => Ipv4Address.Read(_bytes.Slice(index * 4, 4));

    /// <summary>Copies the addresses into a new array (for lease records; not on a hot path).</summary>
    public Ipv4Address[] ToArray()
    {
        var result = new Ipv4Address[Count];
        for (int i = 0; i < result.Length; i++) result[i] = this[i];
        return result;
    }
}

/// <summary>
/// Walks the DHCP options of a validated message: the options field, then (RFC 2131 §4.1, option
/// overload 52) the 'file' field, then the 'sname' field when the overload option says they hold options.
/// Pad is skipped; End ends the current area.
/// </summary>
public ref struct DhcpOptionEnumerator
{
    private readonly ReadOnlySpan<byte> _packet;
    private readonly byte _overload;
    private int _area;          // 0 options, 1 file, 2 sname, 3 done
    private ReadOnlySpan<byte> _rest;
    private DhcpOption _current;

    internal DhcpOptionEnumerator(ReadOnlySpan<byte> packet, byte overload)
    {
        _packet = packet;
        _overload = overload;
        _area = 0;
        _rest = packet[DhcpPacket.OptionsOffset..];
        _current = default;
    }

    public readonly DhcpOption Current => _current;

    public readonly DhcpOptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        while (true)
        {
            while (!_rest.IsEmpty)
            {
                byte code = _rest[0];
                if (code == DhcpOptionCode.Pad) { _rest = _rest[1..]; continue; }
                if (code == DhcpOptionCode.End) { _rest = default; break; }
                // Lengths were validated by TryParse; guard anyway so the enumerator can never throw.
                if (_rest.Length < 2 || _rest.Length < 2 + _rest[1]) { _rest = default; break; }
                int len = _rest[1];
                _current = new DhcpOption(code, _rest.Slice(2, len));
                _rest = _rest[(2 + len)..];
                return true;
            }
            if (!NextArea()) return false;
        }
    }

    private bool NextArea()
    {
        while (_area < 3)
        {
            _area++;
            // RFC 2131 §4.1: 'file' is read before 'sname'. Overload 1 = file, 2 = sname, 3 = both.
            if (_area == 1 && (_overload & 1) != 0) { _rest = _packet.Slice(DhcpPacket.FileOffset, DhcpPacket.FileLength); return true; }
            if (_area == 2 && (_overload & 2) != 0) { _rest = _packet.Slice(DhcpPacket.SnameOffset, DhcpPacket.SnameLength); return true; }
        }
        return false;
    }
}
