namespace NetStack.Network.Ipv4;

/// <summary>IPv4 limits and defaults.</summary>
public sealed class Ipv4Options
{
    /// <summary>TTL / hop limit of datagrams we originate.</summary>
    public byte DefaultHopLimit { get; init; } = 64;
}
