using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>ARP operation codes (RFC 826; IANA "ARP operation codes").</summary>
public enum ArpOperation : ushort
{
    /// <summary>An ARP request (RFC 826).</summary>
    Request = 1,
    /// <summary>An ARP reply.</summary>
    Reply = 2,
}

/// <summary>
/// A read-only view of an ARP packet for Ethernet hardware and IPv4 protocol addresses (RFC 826).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the 28-byte body
/// lies inside the buffer, the hardware/protocol types and lengths are Ethernet/IPv4 and the
/// operation is a request or a reply. Trailing Ethernet padding is ignored. The view never copies.
/// </para>
/// </summary>
public readonly ref struct ArpPacket
{
    /// <summary>Length of an Ethernet/IPv4 ARP packet.</summary>
    public const int Length = 28;
    /// <summary>The hardware type of Ethernet.</summary>
    public const ushort HardwareTypeEthernet = 1;

    private readonly ReadOnlySpan<byte> _buffer;

    private ArpPacket(ReadOnlySpan<byte> buffer) => _buffer = buffer;

    /// <summary>Validates length, address types and sizes, and the operation.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out ArpPacket packet, out WireError error)
    {
        packet = default;
        if (buffer.Length < 8) { error = WireError.Truncated; return false; }
        // RFC 826 "Packet Reception": only the (ar$hrd, ar$pro) pair we speak is handled; the
        // lengths must be those of that pair (6 and 4).
        if (BinaryPrimitives.ReadUInt16BigEndian(buffer) != HardwareTypeEthernet
            || BinaryPrimitives.ReadUInt16BigEndian(buffer[2..]) != (ushort)EtherType.Ipv4
            || buffer[4] != MacAddress.Length || buffer[5] != Ipv4Address.Length)
        {
            error = WireError.Unsupported;
            return false;
        }
        ushort op = BinaryPrimitives.ReadUInt16BigEndian(buffer[6..]);
        // RFC 5494 also assigns RARP / InARP codes; this stack answers only plain ARP.
        if (op != (ushort)ArpOperation.Request && op != (ushort)ArpOperation.Reply) { error = WireError.Unsupported; return false; }
        if (buffer.Length < Length) { error = WireError.Truncated; return false; }
        packet = new ArpPacket(buffer[..Length]);
        error = WireError.None;
        return true;
    }

    /// <summary>The hardware type field (1: Ethernet).</summary>
    public ushort HardwareType => BinaryPrimitives.ReadUInt16BigEndian(_buffer);
    /// <summary>The protocol type field (IPv4).</summary>
    public EtherType ProtocolType => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[2..]);
    /// <summary>Request or reply.</summary>
    public ArpOperation Operation => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]);
    /// <summary>The sender's MAC address.</summary>
    public MacAddress SenderHardwareAddress => MacAddress.Read(_buffer[8..]);
    /// <summary>The sender's IPv4 address.</summary>
    public Ipv4Address SenderProtocolAddress => Ipv4Address.Read(_buffer[14..]);
    /// <summary>The target's MAC address (zero in a request).</summary>
    public MacAddress TargetHardwareAddress => MacAddress.Read(_buffer[18..]);
    /// <summary>The target's IPv4 address.</summary>
    public Ipv4Address TargetProtocolAddress => Ipv4Address.Read(_buffer[24..]);

    /// <summary>The 28 bytes of the packet (without Ethernet padding).</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;

    /// <summary>The packet's fields.</summary>
    public ArpRepr ToRepr() => new(Operation, SenderHardwareAddress, SenderProtocolAddress,
        TargetHardwareAddress, TargetProtocolAddress);
}

/// <summary>The meaningful fields of an Ethernet/IPv4 ARP packet, which can be written in place.</summary>
public readonly record struct ArpRepr(
    ArpOperation Operation,
    MacAddress SenderHardwareAddress,
    Ipv4Address SenderProtocolAddress,
    MacAddress TargetHardwareAddress,
    Ipv4Address TargetProtocolAddress)
{
    /// <summary>Bytes the packet takes.</summary>
    public int BufferLength => ArpPacket.Length;

    /// <summary>A request for <paramref name="target"/> (target hardware address zero, RFC 826).</summary>
    public static ArpRepr Request(MacAddress senderMac, Ipv4Address senderIp, Ipv4Address target) =>
        new(ArpOperation.Request, senderMac, senderIp, MacAddress.Zero, target);

    /// <summary>A gratuitous ARP announcement: a request whose sender and target address are both ours (RFC 5227 §3).</summary>
    public static ArpRepr Announcement(MacAddress senderMac, Ipv4Address senderIp) =>
        new(ArpOperation.Request, senderMac, senderIp, MacAddress.Zero, senderIp);

    /// <summary>The reply to <paramref name="request"/> from the owner of its target address (RFC 826 "swap").</summary>
    public static ArpRepr ReplyTo(in ArpRepr request, MacAddress ourMac) =>
        new(ArpOperation.Reply, ourMac, request.TargetProtocolAddress, request.SenderHardwareAddress, request.SenderProtocolAddress);

    /// <summary>Writes the 28-byte packet at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, ArpPacket.HardwareTypeEthernet);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], (ushort)EtherType.Ipv4);
        buffer[4] = MacAddress.Length;
        buffer[5] = Ipv4Address.Length;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], (ushort)Operation);
        SenderHardwareAddress.Write(buffer[8..]);
        SenderProtocolAddress.Write(buffer[14..]);
        TargetHardwareAddress.Write(buffer[18..]);
        TargetProtocolAddress.Write(buffer[24..]);
        return ArpPacket.Length;
    }
}
