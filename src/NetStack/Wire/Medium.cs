namespace NetStack.Wire;

/// <summary>What a device carries: Ethernet frames, or bare IP packets (TUN). On the wire floor because capture
/// formats (<see cref="PcapLinkTypes"/>) name it as well as devices do.</summary>
public enum Medium
{
    /// <summary>Ethernet frames.</summary>
    Ethernet,
    /// <summary>Bare IP packets (a TUN device).</summary>
    Ip,
}
