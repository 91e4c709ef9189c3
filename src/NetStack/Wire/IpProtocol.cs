namespace NetStack.Wire;

/// <summary>IP protocol numbers / IPv6 next-header values (IANA "Assigned Internet Protocol Numbers").</summary>
public enum IpProtocol : byte
{
    HopByHop = 0,
    Icmp = 1,
    Igmp = 2,
    Tcp = 6,
    Udp = 17,
    Ipv6Routing = 43,
    Ipv6Fragment = 44,
    Esp = 50,
    Ah = 51,
    Icmpv6 = 58,
    Ipv6NoNextHeader = 59,
    Ipv6DestinationOptions = 60,
}
