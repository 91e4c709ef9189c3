using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>Why the walk of an IPv6 extension-header chain stopped.</summary>
public enum Ipv6ChainEnd : byte
{
    /// <summary>An upper-layer header this stack speaks (TCP, UDP, ICMPv6) begins at <see cref="Ipv6HeaderChain.ProtocolOffset"/>.</summary>
    UpperLayer,
    /// <summary>Next Header 59 (RFC 8200 §4.7): nothing follows.</summary>
    NoNextHeader,
    /// <summary>An ESP header (RFC 4303); not processed here.</summary>
    Esp,
    /// <summary>An Authentication Header (RFC 4302); not processed here.</summary>
    Ah,
    /// <summary>A Fragment header with a non-zero offset: what follows is fragment data, for reassembly.</summary>
    NonFirstFragment,
    /// <summary>
    /// A next-header value that is neither an extension header nor a known upper layer. RFC 8200 §4:
    /// discard and send Parameter Problem code 1 pointing at <see cref="Ipv6HeaderChain.NextHeaderFieldOffset"/>.
    /// </summary>
    UnknownHeader,
    /// <summary>
    /// A Hop-by-Hop header anywhere but immediately after the IPv6 header (RFC 8200 §4.3): treated as an
    /// unrecognized next header, Parameter Problem code 1 pointing at <see cref="Ipv6HeaderChain.NextHeaderFieldOffset"/>.
    /// </summary>
    MisplacedHopByHop,
    /// <summary>The first fragment of several ends inside the header chain (see <see cref="Ipv6HeaderChain.IncompleteFirstFragment"/>).</summary>
    Cut,
}

/// <summary>
/// The shape of an IPv6 packet's extension-header chain (RFC 8200 §4), found by one validated walk.
/// All offsets count from the first octet of the IPv6 header, so they can serve directly as ICMPv6
/// Parameter Problem pointers (RFC 4443 §3.4). An offset of -1 means "absent".
/// </summary>
public readonly record struct Ipv6HeaderChain(
    Ipv6ChainEnd End,
    IpProtocol Protocol,
    int ProtocolOffset,
    int NextHeaderFieldOffset,
    int HeaderCount,
    int HopByHopOffset,
    int RoutingOffset,
    int FragmentHeaderOffset,
    int UnfragmentablePartLength,
    bool IncompleteFirstFragment)
{
    /// <summary>Extension headers accepted before a chain is refused as <see cref="WireError.TooLong"/>.</summary>
    public const int DefaultMaxHeaders = 12;

    /// <summary>True when the chain holds a fragment header.</summary>
    public bool HasFragmentHeader => FragmentHeaderOffset >= 0;

    /// <summary>Walks the chain of a parsed packet.</summary>
    public static bool TryParse(Ipv6Packet packet, out Ipv6HeaderChain chain, out WireError error, int maxHeaders = DefaultMaxHeaders) =>
        TryParse(packet.Bytes, out chain, out error, maxHeaders);

    /// <summary>
    /// Walks the chain of <paramref name="packet"/> (the IPv6 header and its payload, nothing after).
    /// Every header length is checked against the buffer: a header running past it is
    /// <see cref="WireError.Truncated"/>, except in a first fragment, where it is reported as
    /// <see cref="Ipv6ChainEnd.Cut"/> with <see cref="IncompleteFirstFragment"/> set (RFC 7112 §5: the
    /// receiver decides, normally discarding with Parameter Problem code 3).
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out Ipv6HeaderChain chain, out WireError error, int maxHeaders = DefaultMaxHeaders)
    {
        chain = default;
        if (packet.Length < Ipv6Packet.HeaderLength) { error = WireError.Truncated; return false; }
        int offset = Ipv6Packet.HeaderLength;
        int nhField = Ipv6Packet.NextHeaderFieldOffset;
        var next = (IpProtocol)packet[nhField];
        int count = 0, hbh = -1, routing = -1, fragment = -1;
        int unfragmentable = Ipv6Packet.HeaderLength;
        bool firstFragment = false;
        Ipv6ChainEnd end;
        while (true)
        {
            switch (next)
            {
                case IpProtocol.HopByHop when offset != Ipv6Packet.HeaderLength:
                    end = Ipv6ChainEnd.MisplacedHopByHop;
                    goto done;
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6Routing:
                case IpProtocol.Ipv6DestinationOptions:
                case IpProtocol.Ipv6Fragment:
                    break;
                case IpProtocol.Ipv6NoNextHeader: end = Ipv6ChainEnd.NoNextHeader; goto done;
                case IpProtocol.Esp: end = Ipv6ChainEnd.Esp; goto done;
                case IpProtocol.Ah: end = Ipv6ChainEnd.Ah; goto done;
                case IpProtocol.Tcp:
                case IpProtocol.Udp:
                case IpProtocol.Icmpv6:
                    end = Ipv6ChainEnd.UpperLayer;
                    goto done;
                default: end = Ipv6ChainEnd.UnknownHeader; goto done;
            }
            if (count == maxHeaders) { error = WireError.TooLong; return false; }
            int length;
            if (next == IpProtocol.Ipv6Fragment)
            {
                length = Ipv6FragmentHeader.HeaderLength;
            }
            else
            {
                // RFC 8200 §4.3/4.4/4.6: Hdr Ext Len counts 8-octet units beyond the first 8.
                if (offset + 2 > packet.Length) { end = Ipv6ChainEnd.Cut; goto cut; }
                length = (packet[offset + 1] + 1) * 8;
            }
            if (offset + length > packet.Length) { end = Ipv6ChainEnd.Cut; goto cut; }
            switch (next)
            {
                case IpProtocol.HopByHop:
                    hbh = offset;
                    unfragmentable = offset + length;
                    break;
                case IpProtocol.Ipv6Routing:
                    if (routing < 0) routing = offset;
                    // RFC 8200 §4.5: the unfragmentable part runs up to and including the Routing header.
                    unfragmentable = offset + length;
                    break;
                case IpProtocol.Ipv6Fragment:
                    if (fragment < 0) fragment = offset;
                    int fo = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) & 0xFFF8;
                    bool more = (packet[offset + 3] & 1) != 0;
                    if (fo != 0)
                    {
                        count++;
                        nhField = offset;
                        next = (IpProtocol)packet[offset];
                        offset += length;
                        end = Ipv6ChainEnd.NonFirstFragment;
                        goto done;
                    }
                    firstFragment |= more;
                    break;
            }
            count++;
            nhField = offset;
            next = (IpProtocol)packet[offset];
            offset += length;
        }
    cut:
        if (!firstFragment) { error = WireError.Truncated; return false; }
        chain = new Ipv6HeaderChain(end, next, offset, nhField, count, hbh, routing, fragment,
            fragment >= 0 ? fragment : unfragmentable, IncompleteFirstFragment: true);
        error = WireError.None;
        return true;
    done:
        // RFC 7112 §5: a first fragment must hold the whole chain up to and including the upper-layer header.
        bool incomplete = firstFragment && end == Ipv6ChainEnd.UpperLayer
            && packet.Length - offset < UpperLayerHeaderLength(next, packet[offset..]);
        chain = new Ipv6HeaderChain(end, next, offset, nhField, count, hbh, routing, fragment,
            fragment >= 0 ? fragment : unfragmentable, incomplete);
        error = WireError.None;
        return true;
    }

    /// <summary>The header length of a known upper layer, as far as the bytes present tell it.</summary>
    private static int UpperLayerHeaderLength(IpProtocol protocol, ReadOnlySpan<byte> rest) => protocol switch
    {
        IpProtocol.Tcp => rest.Length > 12 ? Math.Max(20, (rest[12] >> 4) * 4) : 20,
        IpProtocol.Udp => 8,
        IpProtocol.Icmpv6 => 4,
        _ => 0,
    };

    /// <summary>The extension headers of the chain, in order (only those counted in <see cref="HeaderCount"/>).</summary>
    public Ipv6ExtensionHeaderEnumerator Headers(ReadOnlySpan<byte> packet) => new(packet, HeaderCount);
}

/// <summary>One extension header found by the chain walk.</summary>
public readonly ref struct Ipv6ExtensionHeader
{
    internal Ipv6ExtensionHeader(IpProtocol type, int offset, ReadOnlySpan<byte> bytes)
    {
        Type = type;
        Offset = offset;
        Bytes = bytes;
    }

    /// <summary>Which header this is (the next-header value that named it).</summary>
    public IpProtocol Type { get; }
    /// <summary>Offset of the header from the start of the IPv6 header.</summary>
    public int Offset { get; }
    /// <summary>The extension header's bytes.</summary>
    public ReadOnlySpan<byte> Bytes { get; }
    /// <summary>The header that follows.</summary>
    public IpProtocol NextHeader => (IpProtocol)Bytes[0];
}

/// <summary>Enumerates the headers of a chain already validated by <see cref="Ipv6HeaderChain.TryParse(ReadOnlySpan{byte}, out Ipv6HeaderChain, out WireError, int)"/>.</summary>
public ref struct Ipv6ExtensionHeaderEnumerator
{
    private readonly ReadOnlySpan<byte> _packet;
    private readonly int _count;
    private int _index;
    private int _offset;
    private IpProtocol _next;
    private Ipv6ExtensionHeader _current;

    internal Ipv6ExtensionHeaderEnumerator(ReadOnlySpan<byte> packet, int count)
    {
        _packet = packet;
        _count = packet.Length >= Ipv6Packet.HeaderLength ? count : 0;
        _index = 0;
        _offset = Ipv6Packet.HeaderLength;
        _next = _count > 0 ? (IpProtocol)packet[Ipv6Packet.NextHeaderFieldOffset] : default;
        _current = default;
    }

    /// <summary>The current extension header.</summary>
    public readonly Ipv6ExtensionHeader Current => _current;
    /// <summary>Returns this enumerator (for <c>foreach</c>).</summary>
    public readonly Ipv6ExtensionHeaderEnumerator GetEnumerator() => this;

    /// <summary>Moves to the next extension header; false at the upper-layer header or a malformed one.</summary>
    public bool MoveNext()
    {
        if (_index >= _count || _offset + 2 > _packet.Length) return false;
        int length = _next == IpProtocol.Ipv6Fragment ? Ipv6FragmentHeader.HeaderLength : (_packet[_offset + 1] + 1) * 8;
        if (_offset + length > _packet.Length) return false;
        _current = new Ipv6ExtensionHeader(_next, _offset, _packet.Slice(_offset, length));
        _next = (IpProtocol)_packet[_offset];
        _offset += length;
        _index++;
        return true;
    }
}
