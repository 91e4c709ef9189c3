namespace NetStack.Composition;

/// <summary>
/// Limits and defaults of a stack. Every cache, queue and table is bounded by one of these, and hitting
/// the bound is a counted drop. Family- and protocol-specific options live in their own classes, referenced here.
/// </summary>
public sealed class StackOptions
{
    /// <summary>Frames taken from one device in one <see cref="NetworkStack.Poll"/> before timers run.</summary>
    public int MaxFramesPerPoll { get; init; } = 256;

    /// <summary>IPv4 settings: defaults (TTL), limits (reassembly, neighbour cache) and behaviour (forwarding, ICMP).</summary>
    public Network.Ipv4.Ipv4Settings Ipv4 { get; init; } = new();
    /// <summary>IPv6 settings: defaults (hop limit), limits (addresses, prefixes, routers, caches) and behaviour (forwarding, SLAAC).</summary>
    public Network.Ipv6.Ipv6Settings Ipv6 { get; init; } = new();
}
