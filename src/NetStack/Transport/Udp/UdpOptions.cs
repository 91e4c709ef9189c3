namespace NetStack.Transport.Udp;

/// <summary>UDP limits and defaults.</summary>
public sealed class UdpOptions
{
    /// <summary>Datagrams held per socket before new ones are dropped (counted).</summary>
    public int ReceiveQueueLimit { get; init; } = 512;

    /// <summary>ICMP errors held per socket (like Linux's error queue, bounded).</summary>
    public int ErrorQueueLimit { get; init; } = 64;

    /// <summary>First port of the ephemeral range (IANA dynamic range, RFC 6335 §6).</summary>
    public ushort EphemeralPortFirst { get; init; } = 49152;

    /// <summary>Last port of the ephemeral range.</summary>
    public ushort EphemeralPortLast { get; init; } = 65535;
}
