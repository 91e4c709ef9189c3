using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// The IPv6 state of one interface: its addresses, neighbour cache, multicast listener, router
/// solicitation, link parameters learned from router advertisements, and DNS servers (RFC 8106).
/// It is the neighbour cache's sink: solicitations and queued packets go out through the layer.
/// </summary>
internal sealed class Ipv6Interface : INeighborSink<Ipv6Address>
{
    private readonly Ipv6Layer _layer;

    public Ipv6Interface(Ipv6Layer layer, NetworkInterface link, InterfaceConfig config, Ipv6Settings options,
        StackStatistics stats, IRandomSource random)
    {
        _layer = layer;
        Link = link;
        Forwarding = config.Forwarding;
        Slaac = config.Slaac && !config.Forwarding;
        LinkMtu = Math.Max(link.Mtu, Ipv6Packet.MinimumMtu);
        MaxLinkMtu = LinkMtu;
        CurHopLimit = options.DefaultHopLimit;
        Neighbors = new NeighborCache<Ipv6Address>(options.Neighbor, this, stats, random);
        Mld = new MldListener(random, options.MaxMulticastGroupsPerInterface, options.MaxMulticastSourcesPerGroup);
        Solicitor = new RouterSolicitor(random, options.RouterSolicitationBackoff);
        if (config.RouterAdvertisements is { } ra)
        {
            // RFC 4861 §6.3.4: "Hosts MUST NOT send Router Advertisement messages at any time."
            if (!config.Forwarding) throw new ArgumentException("Router advertisements need a forwarding interface (RFC 4861 §6.2).", nameof(config));
            ra.Validate();
            Advertiser = new RouterAdvertiser(ra, random);
        }
    }

    public NetworkInterface Link { get; }
    public int Index => Link.Index;
    public bool Forwarding { get; }
    public bool Slaac { get; }
    public bool IsEthernet => Link.Medium == Medium.Ethernet;

    /// <summary>LinkMTU (RFC 4861 §6.3.4: may be lowered by an RA MTU option, never below 1280 nor above the device's).</summary>
    public int LinkMtu { get; set; }
    public int MaxLinkMtu { get; }

    /// <summary>CurHopLimit (RFC 4861 §6.3.2), set by router advertisements.</summary>
    public byte CurHopLimit { get; set; }

    public List<InterfaceAddress> Addresses { get; } = [];
    public NeighborCache<Ipv6Address> Neighbors { get; }
    public MldListener Mld { get; }
    public RouterSolicitor Solicitor { get; }

    /// <summary>The Router Advertisement schedule of an advertising interface (RFC 4861 §6.2); null otherwise.</summary>
    public RouterAdvertiser? Advertiser { get; }

    /// <summary>RFC 8106 recursive DNS servers with their expiry.</summary>
    public List<(Ipv6Address Server, Instant Expires)> DnsServers { get; } = [];

    /// <summary>RFC 7217 DAD_Counter per prefix (the /64 high half) for regenerated identifiers.</summary>
    public Dictionary<ulong, int> DadCounters { get; } = [];

    /// <summary>True once anything was sent (RFC 4862 §5.4.2 delays only the first message).</summary>
    public bool HasSent { get; set; }

    public InterfaceAddress? LinkLocal
    {
        get
        {
            foreach (var a in Addresses) if (a.Origin == Ipv6AddressOrigin.LinkLocal) return a;
            return null;
        }
    }

    /// <summary>A usable link-local address, for NDP and MLD sources.</summary>
    public bool TryGetUsableLinkLocal(out Ipv6Address address)
    {
        foreach (var a in Addresses)
        {
            if (a.Address.IsLinkLocal && a.IsUsable) { address = a.Address; return true; }
        }
        address = default;
        return false;
    }

    public InterfaceAddress? Find(Ipv6Address address)
    {
        foreach (var a in Addresses) if (a.Address == address) return a;
        return null;
    }

    /// <summary>True when <paramref name="address"/> is one of ours and accepts traffic (not tentative, duplicate or invalid).</summary>
    public bool OwnsUsable(Ipv6Address address) => Find(address) is { IsUsable: true };

    /// <summary>True when a packet sent to this multicast group is for us.</summary>
    public bool Listens(Ipv6Address group) =>
        group == Ipv6Address.AllNodes || Mld.IsMember(group) || (Forwarding && group == Ipv6Address.AllRouters);

    /// <summary>RFC 3810 §4.2: <see cref="Listens(Ipv6Address)"/> with the group's source filter applied to <paramref name="source"/>.</summary>
    public bool Listens(Ipv6Address group, Ipv6Address source) =>
        group == Ipv6Address.AllNodes || Mld.IsMember(group, source) || (Forwarding && group == Ipv6Address.AllRouters);

    void INeighborSink<Ipv6Address>.Solicit(Ipv6Address target, MacAddress? unicastTo, Instant now) =>
        _layer.SendNeighborSolicitation(this, target, unicastTo, now);

    void INeighborSink<Ipv6Address>.SendQueued(Ipv6Address target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now) =>
        _layer.TransmitResolved(this, mac, packet, now);

    void INeighborSink<Ipv6Address>.ResolutionFailed(Ipv6Address target, ReadOnlySpan<byte> packet, Instant now) =>
        _layer.OnResolutionFailed(this, target, packet, now);
}
