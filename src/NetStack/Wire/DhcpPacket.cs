using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of a DHCPv4 / BOOTP message (RFC 2131 §2, options RFC 2132).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw. The fixed
/// 236-octet header and the magic cookie are present, every option in every option area (options,
/// and 'file' / 'sname' when option 52 overloads them) lies inside its area, and the options this
/// stack reads have the lengths RFC 2132 requires. The view never copies.
/// </para>
/// </summary>
public readonly ref struct DhcpPacket
{
    /// <summary>Offset of the server host name field.</summary>
    public const int SnameOffset = 44;
    /// <summary>Length of the server host name field.</summary>
    public const int SnameLength = 64;
    /// <summary>Offset of the boot file name field.</summary>
    public const int FileOffset = 108;
    /// <summary>Length of the boot file name field.</summary>
    public const int FileLength = 128;
    /// <summary>Offset of the magic cookie (RFC 2131 §3).</summary>
    public const int MagicOffset = 236;
    /// <summary>Offset of the options, after the magic cookie.</summary>
    public const int OptionsOffset = 240;
    /// <summary>The fixed BOOTP header plus the magic cookie.</summary>
    public const int MinLength = OptionsOffset;
    /// <summary>RFC 2132 §3 / RFC 1542 §2.1: 99.130.83.99.</summary>
    public const uint MagicCookie = 0x63825363;
    /// <summary>The broadcast bit of the flags field (RFC 2131 §2).</summary>
    public const ushort BroadcastFlag = 0x8000;

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly byte _overload;

    private DhcpPacket(ReadOnlySpan<byte> buffer, byte overload)
    {
        _buffer = buffer;
        _overload = overload;
    }

    /// <summary>Validates the header, the cookie and every option length.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out DhcpPacket packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < MinLength) { error = WireError.Truncated; return false; }
        // RFC 2131 §2: op is BOOTREQUEST (1) or BOOTREPLY (2).
        if (buffer[0] is not (1 or 2)) { error = WireError.BadField; return false; }
        // chaddr is 16 octets; hlen cannot exceed it.
        if (buffer[2] > 16) { error = WireError.BadField; return false; }
        // RFC 2131 §3: the options field starts with the magic cookie 99.130.83.99; without it this is plain BOOTP.
        if (BinaryPrimitives.ReadUInt32BigEndian(buffer[MagicOffset..]) != MagicCookie) { error = WireError.BadField; return false; }

        byte overload = 0;
        if (!ValidateArea(buffer[OptionsOffset..], ref overload, allowOverload: true)) { error = WireError.BadOption; return false; }
        // RFC 2131 §4.1 / RFC 2132 §9.3: option 52 value 1 = 'file' holds options, 2 = 'sname', 3 = both.
        if ((overload & 1) != 0 && !ValidateArea(buffer.Slice(FileOffset, FileLength), ref overload, allowOverload: false)) { error = WireError.BadOption; return false; }
        if ((overload & 2) != 0 && !ValidateArea(buffer.Slice(SnameOffset, SnameLength), ref overload, allowOverload: false)) { error = WireError.BadOption; return false; }

        packet = new DhcpPacket(buffer, overload);
        error = WireError.None;
        return true;
    }

    private static bool ValidateArea(ReadOnlySpan<byte> area, ref byte overload, bool allowOverload)
    {
        int i = 0;
        while (i < area.Length)
        {
            byte code = area[i];
            if (code == DhcpOptionCode.Pad) { i++; continue; }
            if (code == DhcpOptionCode.End) return true;
            // RFC 2132 §2: every option but Pad and End is code, length, value.
            if (i + 2 > area.Length) return false;
            int len = area[i + 1];
            if (i + 2 + len > area.Length) return false;
            ReadOnlySpan<byte> value = area.Slice(i + 2, len);
            if (!ValidateKnownLength(code, len)) return false;
            if (code == DhcpOptionCode.Overload)
            {
                // RFC 2132 §9.3: only meaningful in the options field, values 1..3.
                if (!allowOverload || value[0] is < 1 or > 3) return false;
                overload = value[0];
            }
            i += 2 + len;
        }
        // A missing End option at the very end of the buffer is tolerated (many servers pad exactly).
        return true;
    }

    private static bool ValidateKnownLength(byte code, int len) => code switch
    {
        // RFC 2132: fixed lengths.
        DhcpOptionCode.SubnetMask or DhcpOptionCode.BroadcastAddress or DhcpOptionCode.RequestedAddress
            or DhcpOptionCode.LeaseTime or DhcpOptionCode.ServerIdentifier
            or DhcpOptionCode.RenewalTime or DhcpOptionCode.RebindingTime => len == 4,
        DhcpOptionCode.InterfaceMtu or DhcpOptionCode.MaxMessageSize => len == 2,
        DhcpOptionCode.MessageType or DhcpOptionCode.Overload => len == 1,
        // RFC 2132 §3.5, §3.8: address lists, minimum one address, multiples of four.
        DhcpOptionCode.Router or DhcpOptionCode.DnsServers => len >= 4 && len % 4 == 0,
        // RFC 2132 §3.14, §3.17, §9.8, §9.14: minimum length one (client id two).
        DhcpOptionCode.HostName or DhcpOptionCode.DomainName or DhcpOptionCode.ParameterRequestList => len >= 1,
        DhcpOptionCode.ClientIdentifier => len >= 2,
        _ => true,
    };

    /// <summary>The op field: request or reply.</summary>
    public BootpOp Op => (BootpOp)_buffer[0];
    /// <summary>The hardware type (1: Ethernet).</summary>
    public byte HardwareType => _buffer[1];
    /// <summary>The hardware address length.</summary>
    public byte HardwareLength => _buffer[2];
    /// <summary>The relay hop count.</summary>
    public byte Hops => _buffer[3];
    /// <summary>The transaction identifier (xid).</summary>
    public uint TransactionId => BinaryPrimitives.ReadUInt32BigEndian(_buffer[4..]);
    /// <summary>Seconds since the client began acquiring.</summary>
    public ushort Seconds => BinaryPrimitives.ReadUInt16BigEndian(_buffer[8..]);
    /// <summary>The flags field.</summary>
    public ushort Flags => BinaryPrimitives.ReadUInt16BigEndian(_buffer[10..]);
    /// <summary>RFC 2131 §2: the leftmost bit of 'flags' asks for a broadcast reply.</summary>
    public bool IsBroadcast => (Flags & BroadcastFlag) != 0;
    /// <summary>ciaddr: the client's address when it already has one.</summary>
    public Ipv4Address ClientAddress => Ipv4Address.Read(_buffer[12..]);
    /// <summary>yiaddr: the address offered or assigned.</summary>
    public Ipv4Address YourAddress => Ipv4Address.Read(_buffer[16..]);
    /// <summary>siaddr: the next server's address.</summary>
    public Ipv4Address ServerAddress => Ipv4Address.Read(_buffer[20..]);
    /// <summary>giaddr: the relay agent's address.</summary>
    public Ipv4Address GatewayAddress => Ipv4Address.Read(_buffer[24..]);
    /// <summary>The first 'hlen' octets of chaddr.</summary>
    public ReadOnlySpan<byte> ClientHardwareAddress => _buffer.Slice(28, HardwareLength);
    /// <summary>chaddr as an Ethernet address (meaningful when htype = 1, hlen = 6).</summary>
    public MacAddress ClientMac => MacAddress.Read(_buffer[28..]);
    /// <summary>'sname' up to its first NUL; empty when the field is overloaded with options.</summary>
    public ReadOnlySpan<byte> ServerName => (_overload & 2) != 0 ? default : UpToNul(_buffer.Slice(SnameOffset, SnameLength));
    /// <summary>'file' up to its first NUL; empty when the field is overloaded with options.</summary>
    public ReadOnlySpan<byte> BootFile => (_overload & 1) != 0 ? default : UpToNul(_buffer.Slice(FileOffset, FileLength));
    /// <summary>The option-overload value (RFC 2132 §9.3), 0 when absent.</summary>
    public byte Overload => _overload;
    /// <summary>Bytes in the packet.</summary>
    public int Length => _buffer.Length;

    private static ReadOnlySpan<byte> UpToNul(ReadOnlySpan<byte> s)
    {
        int n = s.IndexOf((byte)0);
        return n < 0 ? s : s[..n];
    }

    /// <summary>All options in RFC 2131 §4.1 order (options, then file, then sname when overloaded).</summary>
    public DhcpOptionEnumerator Options => new(_buffer, _overload);

    /// <summary>The first occurrence of option <paramref name="code"/>.</summary>
    public bool TryGetOption(byte code, out ReadOnlySpan<byte> value)
    {
        foreach (var o in Options)
        {
            if (o.Code == code) { value = o.Value; return true; }
        }
        value = default;
        return false;
    }

    private Ipv4Address? AddressOption(byte code) => TryGetOption(code, out var v) ? Ipv4Address.Read(v) : null;
    private uint? UInt32Option(byte code) => TryGetOption(code, out var v) ? BinaryPrimitives.ReadUInt32BigEndian(v) : null;
    private ReadOnlySpan<byte> BytesOption(byte code) => TryGetOption(code, out var v) ? v : default;

    /// <summary>Option 53; <see cref="DhcpMessageType.None"/> for plain BOOTP.</summary>
    public DhcpMessageType MessageType => TryGetOption(DhcpOptionCode.MessageType, out var v) ? (DhcpMessageType)v[0] : DhcpMessageType.None;
    /// <summary>The subnet mask option, if present.</summary>
    public Ipv4Address? SubnetMask => AddressOption(DhcpOptionCode.SubnetMask);
    /// <summary>The routers option (empty when absent).</summary>
    public Ipv4AddressList Routers => new(BytesOption(DhcpOptionCode.Router));
    /// <summary>The DNS servers option (empty when absent).</summary>
    public Ipv4AddressList DnsServers => new(BytesOption(DhcpOptionCode.DnsServers));
    /// <summary>The host name option (empty when absent).</summary>
    public ReadOnlySpan<byte> HostName => BytesOption(DhcpOptionCode.HostName);
    /// <summary>The domain name option (empty when absent).</summary>
    public ReadOnlySpan<byte> DomainName => BytesOption(DhcpOptionCode.DomainName);
    /// <summary>The interface MTU option, if present.</summary>
    public ushort? InterfaceMtu => TryGetOption(DhcpOptionCode.InterfaceMtu, out var v) ? BinaryPrimitives.ReadUInt16BigEndian(v) : null;
    /// <summary>The broadcast address option, if present.</summary>
    public Ipv4Address? BroadcastAddress => AddressOption(DhcpOptionCode.BroadcastAddress);
    /// <summary>The requested address option, if present.</summary>
    public Ipv4Address? RequestedAddress => AddressOption(DhcpOptionCode.RequestedAddress);
    /// <summary>Option 51, seconds (0xFFFFFFFF = infinite, RFC 2131 §3.3).</summary>
    public uint? LeaseTime => UInt32Option(DhcpOptionCode.LeaseTime);
    /// <summary>The server identifier option, if present.</summary>
    public Ipv4Address? ServerIdentifier => AddressOption(DhcpOptionCode.ServerIdentifier);
    /// <summary>The parameter request list option (empty when absent).</summary>
    public ReadOnlySpan<byte> ParameterRequestList => BytesOption(DhcpOptionCode.ParameterRequestList);
    /// <summary>Option 58 (T1), seconds.</summary>
    public uint? RenewalTime => UInt32Option(DhcpOptionCode.RenewalTime);
    /// <summary>Option 59 (T2), seconds.</summary>
    public uint? RebindingTime => UInt32Option(DhcpOptionCode.RebindingTime);
    /// <summary>The client identifier option (empty when absent).</summary>
    public ReadOnlySpan<byte> ClientIdentifier => BytesOption(DhcpOptionCode.ClientIdentifier);

    /// <summary>The meaningful fields, copied out (allocates the lists; not for hot paths).</summary>
    public DhcpRepr ToRepr() => new()
    {
        Op = Op,
        MessageType = MessageType,
        TransactionId = TransactionId,
        Seconds = Seconds,
        Broadcast = IsBroadcast,
        Hops = Hops,
        ClientAddress = ClientAddress,
        YourAddress = YourAddress,
        ServerAddress = ServerAddress,
        GatewayAddress = GatewayAddress,
        ClientMac = ClientMac,
        SubnetMask = SubnetMask,
        Routers = Routers.IsEmpty ? null : Routers.ToArray(),
        DnsServers = DnsServers.IsEmpty ? null : DnsServers.ToArray(),
        HostName = HostName.IsEmpty ? null : HostName.ToArray(),
        DomainName = DomainName.IsEmpty ? null : DomainName.ToArray(),
        InterfaceMtu = InterfaceMtu,
        BroadcastAddress = BroadcastAddress,
        RequestedAddress = RequestedAddress,
        LeaseTime = LeaseTime,
        ServerIdentifier = ServerIdentifier,
        ParameterRequestList = ParameterRequestList.IsEmpty ? null : ParameterRequestList.ToArray(),
        RenewalTime = RenewalTime,
        RebindingTime = RebindingTime,
        ClientIdentifier = ClientIdentifier.IsEmpty ? null : ClientIdentifier.ToArray(),
    };
}
