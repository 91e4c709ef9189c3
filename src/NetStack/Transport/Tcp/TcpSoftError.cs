using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>What kind of trouble a connection reports without failing (RFC 9293 §3.9.1.8, §3.9.2.2, §3.8.3).</summary>
public enum TcpSoftErrorKind : byte
{
    /// <summary>No soft error.</summary>
    None,
    /// <summary>ICMP Destination Unreachable / ICMPv6 Destination Unreachable (soft for a connection, MUST-56).</summary>
    Unreachable,
    /// <summary>ICMP Time Exceeded / ICMPv6 Time Exceeded.</summary>
    TimeExceeded,
    /// <summary>ICMP Parameter Problem / ICMPv6 Parameter Problem.</summary>
    ParameterProblem,
    /// <summary>A segment was retransmitted R1 times (RFC 9293 §3.8.3 SHLD-9).</summary>
    ExcessiveRetransmissions,
}

/// <summary>
/// The latest soft error of a connection (RFC 9293 §3.9.1.8 MUST-47: "a mechanism for reporting soft TCP error
/// conditions to the application"). <paramref name="Reporter"/>, <paramref name="Type"/> and <paramref name="Code"/>
/// describe the ICMP or ICMPv6 message (unset for <see cref="TcpSoftErrorKind.ExcessiveRetransmissions"/>).
/// </summary>
public readonly record struct TcpSoftError(TcpSoftErrorKind Kind, IpAddress Reporter, byte Type, byte Code, Instant At);
