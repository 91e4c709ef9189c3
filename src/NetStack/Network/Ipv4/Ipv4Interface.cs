using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>The IPv4 layer's state for one interface: its ARP cache, its multicast groups (IGMP) and whether it forwards.</summary>
internal sealed class Ipv4Interface : INeighborSink<Ipv4Address>
{
    private readonly Ipv4Layer _layer;

    public Ipv4Interface(Ipv4Layer layer, NetworkInterface link, bool forwarding, StackStatistics stats, IRandomSource random)
    {
        _layer = layer;
        Link = link;
        Forwarding = forwarding;
        // A raw-IP medium (TUN) has no link addresses and hence no ARP.
        // RFC 1122 §2.3.2.1 (MUST: "a mechanism to prevent ARP flooding"; SHOULD: at most one request per second per
        // destination): the cache never solicits one neighbour more often than every second, whatever the settings.
        if (link.Medium == Medium.Ethernet)
            Arp = new NeighborCache<Ipv4Address>(layer.Options.Arp, this, stats, random, minRetransInterval: MinArpInterval);
        Igmp = new IgmpHost(random, layer.Options.MaxMulticastGroupsPerInterface, layer.Options.MaxMulticastSourcesPerGroup);
    }

    /// <summary>RFC 1122 §2.3.2.1: the recommended maximum rate of one ARP request per second per destination.</summary>
    public static readonly TimeSpan MinArpInterval = TimeSpan.FromSeconds(1);

    public NetworkInterface Link { get; }
    public int Index => Link.Index;

    /// <summary>RFC 1812: forward datagrams that arrive here and are not for us.</summary>
    public bool Forwarding { get; set; }

    /// <summary>The ARP cache (RFC 826 with the RFC 4861 NUD states, as Linux shares one neighbour machine); null on raw-IP links.</summary>
    public NeighborCache<Ipv4Address>? Arp { get; }

    /// <summary>The groups joined here and their IGMP reporting (RFC 3376 host side, v1/v2 compatibility).</summary>
    public IgmpHost Igmp { get; }

    /// <summary>
    /// RFC 1112 §6.4 / RFC 1122 §3.3.7: multicast datagrams are received only for the groups joined on this interface,
    /// 224.0.0.1 always; a forwarding interface also hears 224.0.0.2, the all-routers group (RFC 1812 §2.2.7 / RFC 2236 §3).
    /// </summary>
    public bool Listens(Ipv4Address group) => Igmp.IsMember(group) || (Forwarding && group == IgmpHost.AllRouters);

    /// <summary>RFC 3376 §3.2: <see cref="Listens(Ipv4Address)"/> with the group's source filter applied to <paramref name="source"/>.</summary>
    public bool Listens(Ipv4Address group, Ipv4Address source) =>
        Igmp.IsMember(group, source) || (Forwarding && group == IgmpHost.AllRouters);

    /// <summary>Gratuitous ARP announcements still to send, and when the next one is due (RFC 5227 §2.3).</summary>
    public readonly List<(Ipv4Address Address, int Remaining, Instant Due)> Announcements = [];

    void INeighborSink<Ipv4Address>.Solicit(Ipv4Address target, MacAddress? unicastTo, Instant now) =>
        _layer.SendArpRequest(this, target, unicastTo, now);

    void INeighborSink<Ipv4Address>.SendQueued(Ipv4Address target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now) =>
        _layer.TransmitCopy(this, mac, etherType, packet, now);

    void INeighborSink<Ipv4Address>.ResolutionFailed(Ipv4Address target, ReadOnlySpan<byte> packet, Instant now) =>
        _layer.OnResolutionFailed(this, packet, now);
}
