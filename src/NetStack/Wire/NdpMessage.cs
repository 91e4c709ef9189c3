using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// A read-only view of a Neighbor Discovery message (RFC 4861 §4): Router Solicitation,
/// Router Advertisement, Neighbor Solicitation, Neighbor Advertisement or Redirect, over the whole
/// ICMPv6 message (from the type octet).
/// <para>
/// Guarantee: once <see cref="TryParse"/> has returned true, no accessor can throw: the fixed part of
/// the message type is present and every option has a non-zero length inside the message (known options
/// with their defined length). Accessors for fields another type does not have return defaults.
/// Checks that belong to the receiver (hop limit 255, code 0, checksum; RFC 4861 §6.1, §7.1) are not made here.
/// </para>
/// </summary>
public readonly ref struct NdpMessage
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _optionsOffset;

    private NdpMessage(ReadOnlySpan<byte> buffer, int optionsOffset)
    {
        _buffer = buffer;
        _optionsOffset = optionsOffset;
    }

    /// <summary>Length of the fixed part of each message, where its options begin (RFC 4861 §4.1-§4.5).</summary>
    public static int FixedLength(Icmpv6Type type) => type switch
    {
        Icmpv6Type.RouterSolicitation => 8,
        Icmpv6Type.RouterAdvertisement => 16,
        Icmpv6Type.NeighborSolicitation => 24,
        Icmpv6Type.NeighborAdvertisement => 24,
        Icmpv6Type.Redirect => 40,
        _ => -1,
    };

    /// <summary>Validates the message's length for its type and its options' lengths.</summary>
    public static bool TryParse(ReadOnlySpan<byte> buffer, out NdpMessage message, out WireError error)
    {
        message = default;
        if (buffer.Length < Icmpv6Packet.HeaderLength) { error = WireError.Truncated; return false; }
        int fixedLength = FixedLength((Icmpv6Type)buffer[0]);
        if (fixedLength < 0) { error = WireError.Unsupported; return false; }
        // RFC 4861 §6.1.1 etc.: "ICMP length (derived from the IP length) is N or more octets".
        if (buffer.Length < fixedLength) { error = WireError.Truncated; return false; }
        error = NdpOptionEnumerator.Validate(buffer[fixedLength..]);
        if (error != WireError.None) return false;
        message = new NdpMessage(buffer, fixedLength);
        return true;
    }

    /// <summary>The message type.</summary>
    public Icmpv6Type Type => (Icmpv6Type)_buffer[0];
    /// <summary>The message code.</summary>
    public byte Code => _buffer[1];
    /// <summary>The whole message.</summary>
    public ReadOnlySpan<byte> Bytes => _buffer;
    /// <summary>The options.</summary>
    public NdpOptionEnumerator Options => new(_buffer[_optionsOffset..]);
    /// <summary>The options' bytes.</summary>
    public ReadOnlySpan<byte> OptionBytes => _buffer[_optionsOffset..];

    private bool IsRa => Type == Icmpv6Type.RouterAdvertisement;

    // RFC 4861 §4.2 Router Advertisement.
    /// <summary>A router advertisement's Cur Hop Limit (0 for other types).</summary>
    public byte CurHopLimit => IsRa ? _buffer[4] : (byte)0;
    /// <summary>M flag: addresses are available via DHCPv6.</summary>
    public bool ManagedFlag => IsRa && (_buffer[5] & 0x80) != 0;
    /// <summary>O flag: other configuration is available via DHCPv6.</summary>
    public bool OtherFlag => IsRa && (_buffer[5] & 0x40) != 0;
    /// <summary>RFC 4191 §2.2: default router preference (2-bit signed: 01 high, 00 medium, 11 low, 10 reserved).</summary>
    public int RouterPreference => IsRa ? (_buffer[5] >> 3) & 3 : 0;
    /// <summary>Seconds; 0 = not a default router.</summary>
    public ushort RouterLifetime => IsRa ? BinaryPrimitives.ReadUInt16BigEndian(_buffer[6..]) : (ushort)0;
    /// <summary>Milliseconds; 0 = unspecified.</summary>
    public uint ReachableTime => IsRa ? BinaryPrimitives.ReadUInt32BigEndian(_buffer[8..]) : 0;
    /// <summary>Milliseconds; 0 = unspecified.</summary>
    public uint RetransTimer => IsRa ? BinaryPrimitives.ReadUInt32BigEndian(_buffer[12..]) : 0;

    /// <summary>NS/NA/Redirect target address (RFC 4861 §4.3-§4.5).</summary>
    public Ipv6Address TargetAddress => _optionsOffset >= 24 ? Ipv6Address.Read(_buffer[8..]) : default;
    /// <summary>Redirect destination address (RFC 4861 §4.5).</summary>
    public Ipv6Address DestinationAddress => _optionsOffset >= 40 ? Ipv6Address.Read(_buffer[24..]) : default;

    private bool IsNa => Type == Icmpv6Type.NeighborAdvertisement;
    // RFC 4861 §4.4 Neighbor Advertisement flags.
    /// <summary>R: a neighbour advertisement from a router.</summary>
    public bool RouterFlag => IsNa && (_buffer[4] & 0x80) != 0;
    /// <summary>S: a neighbour advertisement answering a solicitation.</summary>
    public bool SolicitedFlag => IsNa && (_buffer[4] & 0x40) != 0;
    /// <summary>O: a neighbour advertisement that overrides a cached link-layer address.</summary>
    public bool OverrideFlag => IsNa && (_buffer[4] & 0x20) != 0;

    /// <summary>The first option of <paramref name="type"/>, if any.</summary>
    public bool TryGetOption(NdpOptionType type, out NdpOption option)
    {
        foreach (var o in Options)
        {
            if (o.Type == type) { option = o; return true; }
        }
        option = default;
        return false;
    }

    /// <summary>The Source Link-Layer Address option as an Ethernet address, when present.</summary>
    public MacAddress? SourceLinkLayerAddress => TryGetOption(NdpOptionType.SourceLinkLayerAddress, out var o) ? o.MacAddress : null;
    /// <summary>The Target Link-Layer Address option as an Ethernet address, when present.</summary>
    public MacAddress? TargetLinkLayerAddress => TryGetOption(NdpOptionType.TargetLinkLayerAddress, out var o) ? o.MacAddress : null;
}

/// <summary>Shared writing of ND messages: fixed part, options, checksum.</summary>
internal static class NdpWriter
{
    internal static int Finish(Span<byte> buffer, Icmpv6Type type, int fixedLength, ReadOnlySpan<NdpOptionRepr> options,
        Ipv6Address source, Ipv6Address destination)
    {
        buffer[0] = (byte)type;
        buffer[1] = 0;
        int length = fixedLength + NdpOptionRepr.WriteAll(options, buffer[fixedLength..]);
        Icmpv6Packet.FillChecksum(buffer[..length], source, destination);
        return length;
    }
}

/// <summary>A Router Solicitation to write (RFC 4861 §4.1).</summary>
public readonly record struct RouterSolicitationRepr(ReadOnlyMemory<NdpOptionRepr> Options)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => 8 + NdpOptionRepr.TotalLength(Options.Span);

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[4..8].Clear();
        return NdpWriter.Finish(buffer, Icmpv6Type.RouterSolicitation, 8, Options.Span, source, destination);
    }
}

/// <summary>A Router Advertisement to write (RFC 4861 §4.2); times in seconds (lifetime) and milliseconds.</summary>
public readonly record struct RouterAdvertisementRepr(byte CurHopLimit, bool Managed, bool Other, ushort RouterLifetime,
    uint ReachableTime, uint RetransTimer, ReadOnlyMemory<NdpOptionRepr> Options)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => 16 + NdpOptionRepr.TotalLength(Options.Span);

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[4] = CurHopLimit;
        buffer[5] = (byte)((Managed ? 0x80 : 0) | (Other ? 0x40 : 0));
        BinaryPrimitives.WriteUInt16BigEndian(buffer[6..], RouterLifetime);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[8..], ReachableTime);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[12..], RetransTimer);
        return NdpWriter.Finish(buffer, Icmpv6Type.RouterAdvertisement, 16, Options.Span, source, destination);
    }
}

/// <summary>A Neighbor Solicitation to write (RFC 4861 §4.3).</summary>
public readonly record struct NeighborSolicitationRepr(Ipv6Address Target, ReadOnlyMemory<NdpOptionRepr> Options)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => 24 + NdpOptionRepr.TotalLength(Options.Span);

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[4..8].Clear();
        Target.Write(buffer[8..]);
        return NdpWriter.Finish(buffer, Icmpv6Type.NeighborSolicitation, 24, Options.Span, source, destination);
    }
}

/// <summary>A Neighbor Advertisement to write (RFC 4861 §4.4), with its R, S and O flags.</summary>
public readonly record struct NeighborAdvertisementRepr(bool Router, bool Solicited, bool Override, Ipv6Address Target,
    ReadOnlyMemory<NdpOptionRepr> Options)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => 24 + NdpOptionRepr.TotalLength(Options.Span);

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[4..8].Clear();
        buffer[4] = (byte)((Router ? 0x80 : 0) | (Solicited ? 0x40 : 0) | (Override ? 0x20 : 0));
        Target.Write(buffer[8..]);
        return NdpWriter.Finish(buffer, Icmpv6Type.NeighborAdvertisement, 24, Options.Span, source, destination);
    }
}

/// <summary>A Redirect to write (RFC 4861 §4.5): the better first hop (target) for a destination.</summary>
public readonly record struct RedirectRepr(Ipv6Address Target, Ipv6Address Destination, ReadOnlyMemory<NdpOptionRepr> Options)
{
    /// <summary>Bytes the message takes.</summary>
    public int BufferLength => 40 + NdpOptionRepr.TotalLength(Options.Span);

    /// <summary>Writes the message with its checksum over the pseudo-header of <paramref name="source"/> and <paramref name="destination"/>; returns the bytes written.</summary>
    public int Write(Span<byte> buffer, Ipv6Address source, Ipv6Address destination)
    {
        buffer[4..8].Clear();
        Target.Write(buffer[8..]);
        Destination.Write(buffer[24..]);
        return NdpWriter.Finish(buffer, Icmpv6Type.Redirect, 40, Options.Span, source, destination);
    }
}
