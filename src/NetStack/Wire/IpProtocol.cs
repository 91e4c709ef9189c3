namespace NetStack.Wire;

/// <summary>IP protocol numbers / IPv6 next-header values (IANA "Assigned Internet Protocol Numbers").</summary>
public enum IpProtocol : byte
{
    /// <summary>IPv6 Hop-by-Hop Options (RFC 8200 §4.3).</summary>
    HopByHop = 0,
    /// <summary>ICMP.</summary>
    Icmp = 1,
    /// <summary>IGMP.</summary>
    Igmp = 2,
    /// <summary>TCP.</summary>
    Tcp = 6,
    /// <summary>UDP.</summary>
    Udp = 17,
    /// <summary>IPv6 Routing header (RFC 8200 §4.4).</summary>
    Ipv6Routing = 43,
    /// <summary>IPv6 Fragment header (RFC 8200 §4.5).</summary>
    Ipv6Fragment = 44,
    /// <summary>Encapsulating Security Payload (RFC 4303).</summary>
    Esp = 50,
    /// <summary>Authentication Header (RFC 4302).</summary>
    Ah = 51,
    /// <summary>ICMPv6.</summary>
    Icmpv6 = 58,
    /// <summary>No next header (RFC 8200 §4.7).</summary>
    Ipv6NoNextHeader = 59,
    /// <summary>IPv6 Destination Options (RFC 8200 §4.6).</summary>
    Ipv6DestinationOptions = 60,
}
