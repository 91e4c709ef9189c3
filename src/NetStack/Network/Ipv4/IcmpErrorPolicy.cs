using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>Why an ICMP error may not be sent about a datagram (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7).</summary>
internal enum IcmpErrorVeto
{
    /// <summary>An error may be sent.</summary>
    None,
    /// <summary>The datagram is itself an ICMP error (or of an unknown ICMP type, which Linux treats as one).</summary>
    AboutIcmpError,
    /// <summary>Its IP destination is a broadcast or multicast address.</summary>
    BroadcastOrMulticastDestination,
    /// <summary>It came in a link-layer broadcast or multicast frame.</summary>
    LinkBroadcast,
    /// <summary>It is a fragment other than the first.</summary>
    NonFirstFragment,
    /// <summary>Its source does not define a single host: zero, loopback, broadcast, multicast, class E, or a subnet broadcast.</summary>
    SourceNotUnicastHost,
}

/// <summary>The facts about an offending datagram that decide whether it may earn an ICMP error.</summary>
/// <param name="Source">The datagram's source address.</param>
/// <param name="DestinationIsBroadcastOrMulticast">Destination is limited/directed broadcast or multicast.</param>
/// <param name="LinkBroadcast">It arrived in a link-layer broadcast/multicast frame.</param>
/// <param name="FragmentOffset">Its fragment offset, in bytes.</param>
/// <param name="Protocol">Its protocol.</param>
/// <param name="IcmpType">When <paramref name="Protocol"/> is ICMP and the type byte is present, the ICMP type; -1 otherwise.</param>
/// <param name="SourceIsSubnetBroadcast">The source is the directed broadcast of a subnet we know.</param>
internal readonly record struct OffendingDatagram(
    Ipv4Address Source,
    bool DestinationIsBroadcastOrMulticast,
    bool LinkBroadcast,
    int FragmentOffset,
    IpProtocol Protocol,
    int IcmpType = -1,
    bool SourceIsSubnetBroadcast = false);

/// <summary>
/// The rules deciding whether an ICMP error may answer a datagram, and how much of it the error quotes.
/// Pure functions over <see cref="OffendingDatagram"/>.
/// </summary>
internal static class IcmpErrorPolicy
{
    /// <summary>RFC 1812 §4.3.2.3: an error "SHOULD contain as much of the original datagram as possible without the length
    /// of the ICMP datagram exceeding 576 bytes".</summary>
    public const int MaxErrorDatagram = 576;

    /// <summary>IPv4 header (no options) plus the 8-byte ICMP error header.</summary>
    public const int ErrorOverhead = 20 + 8;

    /// <summary>Decides whether an error may be sent (RFC 1122 §3.2.2 "An ICMP error message MUST NOT be sent as the result of receiving: ...").</summary>
    public static IcmpErrorVeto Check(in OffendingDatagram d)
    {
        // RFC 1122 §3.2.2: "* an ICMP error message". Linux icmp_send also assumes any unknown ICMP type is an error.
        if (d.Protocol == IpProtocol.Icmp && d.FragmentOffset == 0 && d.IcmpType >= 0 && !IsQueryOrReply(d.IcmpType))
            return IcmpErrorVeto.AboutIcmpError;
        // "* a datagram destined to an IP broadcast or IP multicast address"
        if (d.DestinationIsBroadcastOrMulticast) return IcmpErrorVeto.BroadcastOrMulticastDestination;
        // "* a datagram sent as a link-layer broadcast"
        if (d.LinkBroadcast) return IcmpErrorVeto.LinkBroadcast;
        // "* a non-initial fragment"
        if (d.FragmentOffset != 0) return IcmpErrorVeto.NonFirstFragment;
        // "* a datagram whose source address does not define a single host -- e.g., a zero address, a loopback
        //   address, a broadcast address, a multicast address, or a Class E address."
        var s = d.Source;
        if (!s.IsUnicast || s.IsLoopback || d.SourceIsSubnetBroadcast) return IcmpErrorVeto.SourceNotUnicastHost;
        return IcmpErrorVeto.None;
    }

    /// <summary>ICMP types that are queries or replies (RFC 792, RFC 950, RFC 1256): everything else counts as an error.</summary>
    public static bool IsQueryOrReply(int type) => type is 0 or 8 or 9 or 10 or 13 or 14 or 15 or 16 or 17 or 18;

    /// <summary>ICMP error types (RFC 792: unreachable, source quench, redirect, time exceeded, parameter problem).</summary>
    public static bool IsError(int type) => type is 3 or 4 or 5 or 11 or 12;

    /// <summary>Bytes of an offending datagram of <paramref name="datagramLength"/> bytes an error quotes (RFC 1812 §4.3.2.3), at least
    /// the header and 8 data bytes that RFC 792 requires when present.</summary>
    public static int QuoteLength(int datagramLength) => Math.Min(datagramLength, MaxErrorDatagram - ErrorOverhead);
}
