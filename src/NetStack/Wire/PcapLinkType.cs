using NetStack.Link;

namespace NetStack.Wire;

/// <summary>
/// Link-layer header types of capture files (tcpdump.org LINKTYPE_ values) that the stack can feed
/// to a device. Other values are carried through unchanged; <see cref="PcapLinkTypes.TryGetMedium"/> says which fit.
/// </summary>
public enum PcapLinkType : ushort
{
    /// <summary>LINKTYPE_ETHERNET: IEEE 802.3 Ethernet frames.</summary>
    Ethernet = 1,
    /// <summary>LINKTYPE_RAW: a bare IPv4 or IPv6 packet, version taken from the first nibble.</summary>
    Raw = 101,
    /// <summary>LINKTYPE_IPV4: a bare IPv4 packet.</summary>
    Ipv4 = 228,
    /// <summary>LINKTYPE_IPV6: a bare IPv6 packet.</summary>
    Ipv6 = 229,
}

/// <summary>Mapping between capture link types and device mediums.</summary>
public static class PcapLinkTypes
{
    /// <summary>The link type a capture of a device with <paramref name="medium"/> is written with.</summary>
    public static PcapLinkType ForMedium(Medium medium) => medium == Medium.Ethernet ? PcapLinkType.Ethernet : PcapLinkType.Raw;

    /// <summary>The device medium that carries frames of <paramref name="linkType"/>; false for link types the stack does not speak.</summary>
    public static bool TryGetMedium(PcapLinkType linkType, out Medium medium)
    {
        switch (linkType)
        {
            case PcapLinkType.Ethernet: medium = Medium.Ethernet; return true;
            case PcapLinkType.Raw or PcapLinkType.Ipv4 or PcapLinkType.Ipv6: medium = Medium.Ip; return true;
            default: medium = default; return false;
        }
    }
}
