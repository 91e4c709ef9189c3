using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>EtherType values the stack knows.</summary>
public enum EtherType : ushort
{
    /// <summary>IPv4.</summary>
    Ipv4 = 0x0800,
    /// <summary>ARP.</summary>
    Arp = 0x0806,
    /// <summary>IEEE 802.1Q customer VLAN tag (C-tag).</summary>
    Vlan = 0x8100,
    /// <summary>IPv6.</summary>
    Ipv6 = 0x86DD,
    /// <summary>IEEE 802.1ad service VLAN tag (S-tag, "QinQ").</summary>
    QinQ = 0x88A8,
}

/// <summary>One 802.1Q / 802.1ad tag: its TPID and the 16-bit TCI (PCP, DEI, VID).</summary>
public readonly record struct VlanTag(ushort Tpid, ushort Tci)
{
    /// <summary>The priority code point.</summary>
    public int Pcp => Tci >> 13;
    /// <summary>The drop eligible indicator.</summary>
    public bool Dei => (Tci & 0x1000) != 0;
    /// <summary>The VLAN identifier.</summary>
    public int Vid => Tci & 0x0FFF;

    /// <summary>A tag with protocol identifier <paramref name="tpid"/>, VLAN <paramref name="vid"/>, priority <paramref name="pcp"/> and drop eligibility <paramref name="dei"/>.</summary>
    public static VlanTag Create(EtherType tpid, int vid, int pcp = 0, bool dei = false) =>
        new((ushort)tpid, (ushort)((pcp & 7) << 13 | (dei ? 0x1000 : 0) | (vid & 0xFFF)));
}

/// <summary>
/// A read-only view of an Ethernet II frame, with up to two VLAN tags (802.1ad S-tag then 802.1Q
/// C-tag, or a single 802.1Q tag).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw; the header,
/// all tags and the payload lie inside the buffer. The view never copies.
/// </para>
/// </summary>
public readonly ref struct EthernetFrame
{
    /// <summary>Bytes in an untagged Ethernet header.</summary>
    public const int HeaderLength = 14;
    /// <summary>Bytes in one VLAN tag.</summary>
    public const int TagLength = 4;
    /// <summary>Tags accepted before a frame is refused (QinQ is two).</summary>
    public const int MaxTags = 2;

    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _tags;

    private EthernetFrame(ReadOnlySpan<byte> buffer, int tags)
    {
        _buffer = buffer;
        _tags = tags;
    }

    /// <summary>Validates the fixed header and the tag chain. Trailing padding stays in <see cref="Payload"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out EthernetFrame frame, out WireError error)
    {
        frame = default;
        if (buffer.Length < HeaderLength) { error = WireError.Truncated; return false; }
        int tags = 0;
        int typeOffset = 12;
        while (true)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(buffer[typeOffset..]);
            if (type != (ushort)EtherType.Vlan && type != (ushort)EtherType.QinQ) break;
            if (tags == MaxTags) { error = WireError.TooLong; return false; }
            tags++;
            typeOffset += TagLength;
            if (buffer.Length < typeOffset + 2) { error = WireError.Truncated; return false; }
        }
        // A length (802.3) rather than an EtherType: not Ethernet II.
        if (BinaryPrimitives.ReadUInt16BigEndian(buffer[typeOffset..]) < 0x0600) { error = WireError.Unsupported; return false; }
        frame = new EthernetFrame(buffer, tags);
        error = WireError.None;
        return true;
    }

    /// <summary>The destination MAC address.</summary>
    public MacAddress Destination => MacAddress.Read(_buffer);
    /// <summary>The source MAC address.</summary>
    public MacAddress Source => MacAddress.Read(_buffer[6..]);
    /// <summary>VLAN tags between the source address and the EtherType.</summary>
    public int TagCount => _tags;

    /// <summary>The i-th tag, outermost first.</summary>
    public VlanTag Tag(int i) => (uint)i < (uint)_tags
        ? new VlanTag(BinaryPrimitives.ReadUInt16BigEndian(_buffer[(12 + i * TagLength)..]), BinaryPrimitives.ReadUInt16BigEndian(_buffer[(14 + i * TagLength)..]))
        : default;

    /// <summary>The EtherType after all tags.</summary>
    public EtherType EtherType => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[(12 + _tags * TagLength)..]);
    /// <summary>Bytes of the header, tags included.</summary>
    public int HeaderSize => HeaderLength + _tags * TagLength;
    /// <summary>The bytes after the header.</summary>
    public ReadOnlySpan<byte> Payload => _buffer[HeaderSize..];

    /// <summary>The header's fields.</summary>
    public EthernetRepr ToRepr() => new(Source, Destination, EtherType,
        _tags > 0 ? Tag(0) : null, _tags > 1 ? Tag(1) : null);
}

/// <summary>The meaningful fields of an Ethernet header, which can be written in place.</summary>
public readonly record struct EthernetRepr(MacAddress Source, MacAddress Destination, EtherType EtherType,
    VlanTag? OuterTag = null, VlanTag? InnerTag = null)
{
    /// <summary>Bytes of the header, tags included.</summary>
    public int HeaderLength => EthernetFrame.HeaderLength
        + (OuterTag.HasValue ? EthernetFrame.TagLength : 0) + (InnerTag.HasValue ? EthernetFrame.TagLength : 0);

    /// <summary>Writes the header at the start of <paramref name="buffer"/> and returns its length.</summary>
    public int Write(Span<byte> buffer)
    {
        Destination.Write(buffer);
        Source.Write(buffer[6..]);
        int o = 12;
        if (OuterTag is { } t1) { WriteTag(buffer[o..], t1); o += 4; }
        if (InnerTag is { } t2) { WriteTag(buffer[o..], t2); o += 4; }
        BinaryPrimitives.WriteUInt16BigEndian(buffer[o..], (ushort)EtherType);
        return o + 2;
    }

    private static void WriteTag(Span<byte> b, VlanTag t)
    {
        BinaryPrimitives.WriteUInt16BigEndian(b, t.Tpid);
        BinaryPrimitives.WriteUInt16BigEndian(b[2..], t.Tci);
    }
}
