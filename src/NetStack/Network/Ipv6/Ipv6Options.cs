namespace NetStack.Network.Ipv6;

/// <summary>IPv6 limits and defaults.</summary>
public sealed class Ipv6Options
{
    /// <summary>TTL / hop limit of datagrams we originate.</summary>
    public byte DefaultHopLimit { get; init; } = 64;
}
