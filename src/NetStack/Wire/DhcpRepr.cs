using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// The meaningful fields of a DHCPv4 message (RFC 2131 §2) and the options this stack uses
/// (RFC 2132), which can be written in place. Null options are omitted. Used for
/// DISCOVER / REQUEST / RELEASE / DECLINE by the client, and OFFER / ACK / NAK by tests and simulated servers.
/// </summary>
public readonly record struct DhcpRepr
{
    /// <summary>RFC 1542 §2.1: a BOOTP message is at least 300 octets; shorter ones are padded.</summary>
    public const int MinimumMessageLength = 300;

    /// <summary>Request or reply.</summary>
    public BootpOp Op { get; init; }
    /// <summary>The DHCP message type option.</summary>
    public DhcpMessageType MessageType { get; init; }
    /// <summary>The transaction identifier (xid).</summary>
    public uint TransactionId { get; init; }
    /// <summary>Seconds since the client began acquiring.</summary>
    public ushort Seconds { get; init; }
    /// <summary>Asks the server to broadcast its reply (RFC 2131 §4.1).</summary>
    public bool Broadcast { get; init; }
    /// <summary>The relay hop count.</summary>
    public byte Hops { get; init; }
    /// <summary>ciaddr.</summary>
    public Ipv4Address ClientAddress { get; init; }
    /// <summary>yiaddr.</summary>
    public Ipv4Address YourAddress { get; init; }
    /// <summary>siaddr.</summary>
    public Ipv4Address ServerAddress { get; init; }
    /// <summary>giaddr.</summary>
    public Ipv4Address GatewayAddress { get; init; }
    /// <summary>The client's hardware address (chaddr).</summary>
    public MacAddress ClientMac { get; init; }

    /// <summary>Subnet mask option.</summary>
    public Ipv4Address? SubnetMask { get; init; }
    /// <summary>Routers option.</summary>
    public IReadOnlyList<Ipv4Address>? Routers { get; init; }
    /// <summary>DNS servers option.</summary>
    public IReadOnlyList<Ipv4Address>? DnsServers { get; init; }
    /// <summary>Host name option.</summary>
    public byte[]? HostName { get; init; }
    /// <summary>Domain name option.</summary>
    public byte[]? DomainName { get; init; }
    /// <summary>Interface MTU option.</summary>
    public ushort? InterfaceMtu { get; init; }
    /// <summary>Broadcast address option.</summary>
    public Ipv4Address? BroadcastAddress { get; init; }
    /// <summary>Requested address option.</summary>
    public Ipv4Address? RequestedAddress { get; init; }
    /// <summary>Lease time option, in seconds.</summary>
    public uint? LeaseTime { get; init; }
    /// <summary>Server identifier option.</summary>
    public Ipv4Address? ServerIdentifier { get; init; }
    /// <summary>Parameter request list option.</summary>
    public byte[]? ParameterRequestList { get; init; }
    /// <summary>Renewal (T1) time option, in seconds.</summary>
    public uint? RenewalTime { get; init; }
    /// <summary>Rebinding (T2) time option, in seconds.</summary>
    public uint? RebindingTime { get; init; }
    /// <summary>Client identifier option.</summary>
    public byte[]? ClientIdentifier { get; init; }

    /// <summary>Length of the options area including the cookie and End.</summary>
    private int OptionsLength
    {
        get
        {
            int n = 4 + 1; // cookie + End
            if (MessageType != DhcpMessageType.None) n += 3;
            if (SubnetMask.HasValue) n += 6;
            n += ListLength(Routers) + ListLength(DnsServers);
            n += BytesLength(HostName) + BytesLength(DomainName);
            if (InterfaceMtu.HasValue) n += 4;
            if (BroadcastAddress.HasValue) n += 6;
            if (RequestedAddress.HasValue) n += 6;
            if (LeaseTime.HasValue) n += 6;
            if (ServerIdentifier.HasValue) n += 6;
            n += BytesLength(ParameterRequestList);
            if (RenewalTime.HasValue) n += 6;
            if (RebindingTime.HasValue) n += 6;
            n += BytesLength(ClientIdentifier);
            return n;
        }
    }

    // Option values are at most 255 octets (RFC 2132 §2); longer lists are cut, never split (no RFC 3396 here).
    private static int ListLength(IReadOnlyList<Ipv4Address>? l) => l is null || l.Count == 0 ? 0 : 2 + Math.Min(l.Count, 63) * 4;
    private static int BytesLength(byte[]? b) => b is null || b.Length == 0 ? 0 : 2 + Math.Min(b.Length, 255);

    /// <summary>Octets <see cref="Write"/> emits (at least <see cref="MinimumMessageLength"/>).</summary>
    public int BufferLength => Math.Max(MinimumMessageLength, DhcpPacket.MagicOffset + OptionsLength);

    /// <summary>Writes the whole message at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        int total = BufferLength;
        Span<byte> b = buffer[..total];
        b.Clear();
        b[0] = (byte)Op;
        b[1] = 1;   // htype Ethernet (RFC 1700 ARP hardware types)
        b[2] = 6;   // hlen
        b[3] = Hops;
        BinaryPrimitives.WriteUInt32BigEndian(b[4..], TransactionId);
        BinaryPrimitives.WriteUInt16BigEndian(b[8..], Seconds);
        BinaryPrimitives.WriteUInt16BigEndian(b[10..], Broadcast ? DhcpPacket.BroadcastFlag : (ushort)0);
        ClientAddress.Write(b[12..]);
        YourAddress.Write(b[16..]);
        ServerAddress.Write(b[20..]);
        GatewayAddress.Write(b[24..]);
        ClientMac.Write(b[28..]);
        BinaryPrimitives.WriteUInt32BigEndian(b[DhcpPacket.MagicOffset..], DhcpPacket.MagicCookie);
        int o = DhcpPacket.OptionsOffset;
        // RFC 2131 §4.1 does not fix option order, but message type first is what every client does.
        if (MessageType != DhcpMessageType.None) { b[o] = DhcpOptionCode.MessageType; b[o + 1] = 1; b[o + 2] = (byte)MessageType; o += 3; }
        if (ServerIdentifier is { } sid) o = WriteAddress(b, o, DhcpOptionCode.ServerIdentifier, sid);
        if (RequestedAddress is { } req) o = WriteAddress(b, o, DhcpOptionCode.RequestedAddress, req);
        if (ClientIdentifier is { Length: > 0 } cid) o = WriteBytes(b, o, DhcpOptionCode.ClientIdentifier, cid);
        if (ParameterRequestList is { Length: > 0 } prl) o = WriteBytes(b, o, DhcpOptionCode.ParameterRequestList, prl);
        if (HostName is { Length: > 0 } hn) o = WriteBytes(b, o, DhcpOptionCode.HostName, hn);
        if (LeaseTime is { } lt) o = WriteUInt32(b, o, DhcpOptionCode.LeaseTime, lt);
        if (RenewalTime is { } t1) o = WriteUInt32(b, o, DhcpOptionCode.RenewalTime, t1);
        if (RebindingTime is { } t2) o = WriteUInt32(b, o, DhcpOptionCode.RebindingTime, t2);
        if (SubnetMask is { } mask) o = WriteAddress(b, o, DhcpOptionCode.SubnetMask, mask);
        if (BroadcastAddress is { } bc) o = WriteAddress(b, o, DhcpOptionCode.BroadcastAddress, bc);
        o = WriteList(b, o, DhcpOptionCode.Router, Routers);
        o = WriteList(b, o, DhcpOptionCode.DnsServers, DnsServers);
        if (DomainName is { Length: > 0 } dn) o = WriteBytes(b, o, DhcpOptionCode.DomainName, dn);
        if (InterfaceMtu is { } mtu) { b[o] = DhcpOptionCode.InterfaceMtu; b[o + 1] = 2; BinaryPrimitives.WriteUInt16BigEndian(b[(o + 2)..], mtu); o += 4; }
        b[o] = DhcpOptionCode.End;
        return total;
    }

    private static int WriteAddress(Span<byte> b, int o, byte code, Ipv4Address a)
    {
        b[o] = code; b[o + 1] = 4; a.Write(b[(o + 2)..]);
        return o + 6;
    }

    private static int WriteUInt32(Span<byte> b, int o, byte code, uint v)
    {
        b[o] = code; b[o + 1] = 4; BinaryPrimitives.WriteUInt32BigEndian(b[(o + 2)..], v);
        return o + 6;
    }

    private static int WriteBytes(Span<byte> b, int o, byte code, byte[] v)
    {
        int len = Math.Min(v.Length, 255);
        b[o] = code; b[o + 1] = (byte)len; v.AsSpan(0, len).CopyTo(b[(o + 2)..]);
        return o + 2 + len;
    }

    private static int WriteList(Span<byte> b, int o, byte code, IReadOnlyList<Ipv4Address>? l)
    {
        if (l is null || l.Count == 0) return o;
        int n = Math.Min(l.Count, 63);
        b[o] = code; b[o + 1] = (byte)(n * 4);
        for (int i = 0; i < n; i++) l[i].Write(b[(o + 2 + i * 4)..]);
        return o + 2 + n * 4;
    }
}
