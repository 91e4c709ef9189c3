using System.Net;

namespace NetStack.Sockets;

/// <summary>How a ping ended (the shape of <see cref="System.Net.NetworkInformation.IPStatus"/>, for the cases a stack can tell apart).</summary>
public enum PingStatus
{
    /// <summary>An Echo Reply came back from the target.</summary>
    Success,
    /// <summary>Nothing came back within the timeout.</summary>
    TimedOut,
    /// <summary>A router reported Time Exceeded (ICMP type 11, ICMPv6 type 3): the TTL / hop limit ran out.</summary>
    TtlExpired,
    /// <summary>Destination Unreachable (ICMP type 3, ICMPv6 type 1); <see cref="PingResult.Code"/> tells why.</summary>
    DestinationUnreachable,
    /// <summary>ICMPv4 Fragmentation Needed with DF (type 3 code 4) or ICMPv6 Packet Too Big; <see cref="PingResult.Mtu"/> is the MTU reported. Also a local refusal of a too-big DF probe (Mtu 0).</summary>
    PacketTooBig,
    /// <summary>Parameter Problem (ICMP type 12, ICMPv6 type 4).</summary>
    ParameterProblem,
    /// <summary>The stack has no route or no source address toward the target: nothing was sent.</summary>
    NoRoute,
}

/// <summary>
/// The outcome of one ping, like <see cref="System.Net.NetworkInformation.PingReply"/>: status, who answered (the
/// target, or the router that reported an error), round-trip time measured on the stack's clock, and the TTL / hop
/// limit the answer arrived with.
/// </summary>
/// <param name="Status">How it ended.</param>
/// <param name="Address">Who answered (null when nothing did).</param>
/// <param name="RoundtripTime">From the request leaving the stack to the answer arriving (zero when nothing came back).</param>
/// <param name="Ttl">TTL / hop limit of the answer as received (0 when nothing came back).</param>
/// <param name="Code">ICMP / ICMPv6 code of an error (0 otherwise).</param>
/// <param name="Mtu">MTU reported by a Fragmentation Needed / Packet Too Big error (0 otherwise).</param>
/// <param name="Sequence">The echo sequence number used.</param>
/// <param name="DataLength">Echo data length of the reply.</param>
public sealed record PingResult(PingStatus Status, IPAddress? Address, TimeSpan RoundtripTime, int Ttl,
    int Code = 0, int Mtu = 0, ushort Sequence = 0, int DataLength = 0);
