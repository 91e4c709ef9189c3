namespace NetStack.Wire;

/// <summary>DHCP message types carried in option 53 (RFC 2132 §9.6).</summary>
public enum DhcpMessageType : byte
{
    /// <summary>No message type option.</summary>
    None = 0,
    /// <summary>DHCPDISCOVER (RFC 2131 §3.1).</summary>
    Discover = 1,
    /// <summary>DHCPOFFER.</summary>
    Offer = 2,
    /// <summary>DHCPREQUEST.</summary>
    Request = 3,
    /// <summary>DHCPDECLINE.</summary>
    Decline = 4,
    /// <summary>DHCPACK.</summary>
    Ack = 5,
    /// <summary>DHCPNAK.</summary>
    Nak = 6,
    /// <summary>DHCPRELEASE.</summary>
    Release = 7,
    /// <summary>DHCPINFORM.</summary>
    Inform = 8,
}

/// <summary>BOOTP operation codes (RFC 2131 §2, 'op').</summary>
public enum BootpOp : byte
{
    /// <summary>BOOTREQUEST (client to server).</summary>
    Request = 1,
    /// <summary>BOOTREPLY (server to client).</summary>
    Reply = 2,
}

/// <summary>DHCP option codes this stack reads or writes (RFC 2132).</summary>
public static class DhcpOptionCode
{
    /// <summary>Pad (RFC 2132 §3.1).</summary>
    public const byte Pad = 0;
    /// <summary>Subnet mask (RFC 2132 §3.3).</summary>
    public const byte SubnetMask = 1;
    /// <summary>Routers (RFC 2132 §3.5).</summary>
    public const byte Router = 3;
    /// <summary>Domain name servers (RFC 2132 §3.8).</summary>
    public const byte DnsServers = 6;
    /// <summary>Host name (RFC 2132 §3.14).</summary>
    public const byte HostName = 12;
    /// <summary>Domain name (RFC 2132 §3.17).</summary>
    public const byte DomainName = 15;
    /// <summary>Interface MTU (RFC 2132 §5.1).</summary>
    public const byte InterfaceMtu = 26;
    /// <summary>Broadcast address (RFC 2132 §5.3).</summary>
    public const byte BroadcastAddress = 28;
    /// <summary>Requested IP address (RFC 2132 §9.1).</summary>
    public const byte RequestedAddress = 50;
    /// <summary>IP address lease time (RFC 2132 §9.2).</summary>
    public const byte LeaseTime = 51;
    /// <summary>Option overload: options continue in the sname and/or file fields (RFC 2132 §9.3).</summary>
    public const byte Overload = 52;
    /// <summary>DHCP message type (RFC 2132 §9.6).</summary>
    public const byte MessageType = 53;
    /// <summary>Server identifier (RFC 2132 §9.7).</summary>
    public const byte ServerIdentifier = 54;
    /// <summary>Parameter request list (RFC 2132 §9.8).</summary>
    public const byte ParameterRequestList = 55;
    /// <summary>Message (RFC 2132 §9.9).</summary>
    public const byte Message = 56;
    /// <summary>Maximum DHCP message size (RFC 2132 §9.10).</summary>
    public const byte MaxMessageSize = 57;
    /// <summary>Renewal (T1) time (RFC 2132 §9.11).</summary>
    public const byte RenewalTime = 58;
    /// <summary>Rebinding (T2) time (RFC 2132 §9.12).</summary>
    public const byte RebindingTime = 59;
    /// <summary>Client identifier (RFC 2132 §9.14).</summary>
    public const byte ClientIdentifier = 61;
    /// <summary>End (RFC 2132 §3.2).</summary>
    public const byte End = 255;
}

/// <summary>One option found by <see cref="DhcpOptionEnumerator"/>: its code and value bytes.</summary>
public readonly ref struct DhcpOption
{
    /// <summary>An option with <paramref name="code"/> and <paramref name="value"/>.</summary>
    public DhcpOption(byte code, ReadOnlySpan<byte> value)
    {
        Code = code;
        Value = value;
    }

    /// <summary>The option code.</summary>
    public byte Code { get; }
    /// <summary>The option's value bytes.</summary>
    public ReadOnlySpan<byte> Value { get; }
}

/// <summary>
/// A list of IPv4 addresses stored back to back in an option value (router, DNS servers).
/// Never copies; <see cref="Count"/> is the value length divided by four.
/// </summary>
public readonly ref struct Ipv4AddressList
{
    private readonly ReadOnlySpan<byte> _bytes;

    /// <summary>The addresses in <paramref name="bytes"/> (a trailing partial address is ignored).</summary>
    public Ipv4AddressList(ReadOnlySpan<byte> bytes) => _bytes = bytes[..(bytes.Length / 4 * 4)];

    /// <summary>Addresses in the list.</summary>
    public int Count => _bytes.Length / 4;
    /// <summary>True when the list is empty.</summary>
    public bool IsEmpty => _bytes.IsEmpty;

    /// <summary>The address at <paramref name="index"/>.</summary>
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

    /// <summary>The current option.</summary>
    public readonly DhcpOption Current => _current;

    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly DhcpOptionEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next option; false at the end or at a malformed option.</summary>
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
