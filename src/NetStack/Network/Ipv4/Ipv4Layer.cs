using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Network.PathMtu;
using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>
/// The IPv4 layer of a stack: ARP (RFC 826), IPv4 (RFC 791, RFC 1122) receive and send with fragmentation and
/// reassembly, ICMPv4 (RFC 792), routing with longest-prefix match, path MTU (RFC 1191) and router mode
/// (RFC 1812), host-side IGMP (RFC 3376 with v1/v2 compatibility). Single-threaded and sans-IO like the rest of the core.
/// Split by concern over partial files: Arp, Receive, Send, Forward, Icmp and Igmp.
/// </summary>
internal sealed partial class Ipv4Layer : IFamilyLayer
{
    private readonly NetworkContext _context;
    private readonly Ipv4Settings _options;
    private readonly StackStatistics _stats;
    private readonly List<Ipv4Interface?> _interfaces = [];
    private readonly TokenBucket _icmpErrorBucket;
    private readonly MplsLabelEntry[] _mplsLabels;
    private readonly ReassemblyTimeoutHandler<Ipv4FragmentKey> _onReassemblyTimeout;
    private readonly Queue<Ipv4Route> _redirectRoutes = new();
    private ushort _nextIdentification;

    public Ipv4Layer(NetworkContext context, Ipv4Settings settings)
    {
        _context = context;
        _options = settings;
        _stats = context.Statistics;
        Addresses = new Ipv4AddressTable(_options.MaxAddresses);
        Routes = new RouteTable<Ipv4Route, Ipv4Address>(_options.MaxRoutes);
        Reassembler = new Reassembler<Ipv4FragmentKey, Ipv4Family>(_options.Reassembly);
        PathMtu = new PathMtuCache<Ipv4Address, Ipv4Family>(_options.MaxPathMtuEntries, _options.PathMtuExpiry, _options.MinPathMtu);
        // RFC 1812 §4.3.2.8: a router MUST be able to limit the rate of ICMP errors it generates (Linux: icmp_msgs_per_sec/burst).
        _icmpErrorBucket = new TokenBucket(_options.IcmpErrorsPerSecond, Math.Max(1, _options.IcmpErrorBurst));
        _mplsLabels = [.. _options.IcmpExtensionMplsLabels];
        _onReassemblyTimeout = OnReassemblyTimeout;
        EchoEndpoints = new EchoEndpoints(_stats, context.Random, _options.MaxEchoSockets, _options.EchoSocketQueueLength);
        // RFC 791 §3.2 / RFC 6864: the identification only needs to be unique per source, destination and protocol
        // for the datagram's lifetime; a counter starting at a random value.
        _nextIdentification = (ushort)context.Random.NextUInt32();
    }

    public Ipv4AddressTable Addresses { get; }
    public RouteTable<Ipv4Route, Ipv4Address> Routes { get; }
    public Reassembler<Ipv4FragmentKey, Ipv4Family> Reassembler { get; }
    public PathMtuCache<Ipv4Address, Ipv4Family> PathMtu { get; }

    internal Ipv4Interface? Interface(int index) => (uint)index < (uint)_interfaces.Count ? _interfaces[index] : null;

    public void AddInterface(NetworkInterface iface, InterfaceConfig config, Instant now)
    {
        while (_interfaces.Count <= iface.Index) _interfaces.Add(null);
        var v4 = new Ipv4Interface(this, iface, config.Forwarding, _stats, _context.Random);
        _interfaces[iface.Index] = v4;
        foreach (var cidr in config.Ipv4Addresses) AddAddress(iface.Index, cidr, now);
        if (config.Ipv4Gateway is { } gw) Routes.TryAdd(new Ipv4Route(new Ipv4Cidr(Ipv4Address.Any, 0), gw, iface.Index));
    }

    /// <summary>
    /// Configures an address on an interface: its on-link route, and gratuitous ARP announcements
    /// (RFC 5227 §2.3; RFC 826 receivers update their caches from them). False when refused.
    /// </summary>
    public bool AddAddress(int interfaceIndex, Ipv4Cidr cidr, Instant now)
    {
        var v4 = Interface(interfaceIndex);
        if (v4 is null || !Addresses.TryAdd(cidr, interfaceIndex)) return false;
        // The on-link route of the subnet (a /32 has none: every destination is behind a gateway).
        if (cidr.PrefixLength < 32)
            Routes.TryAdd(new Ipv4Route(new Ipv4Cidr(cidr.Network, cidr.PrefixLength), Ipv4Address.Any, interfaceIndex, 0, cidr.Address));
        if (v4.Arp is not null && _options.GratuitousArpCount > 0)
        {
            SendArpAnnouncement(v4, cidr.Address, now);
            if (_options.GratuitousArpCount > 1)
                v4.Announcements.Add((cidr.Address, _options.GratuitousArpCount - 1, now + AnnounceInterval));
        }
        return true;
    }

    /// <summary>Removes an address and the on-link route it brought.</summary>
    public bool RemoveAddress(Ipv4Address address)
    {
        if (!Addresses.TryFindLocal(address, out int index)) return false;
        foreach (var c in Addresses.AddressesOf(index))
        {
            if (c.Address != address) continue;
            Routes.Remove(new Ipv4Route(new Ipv4Cidr(c.Network, c.PrefixLength), Ipv4Address.Any, index, 0, c.Address));
            break;
        }
        return Addresses.Remove(address);
    }

    public void SetForwarding(int interfaceIndex, bool enabled)
    {
        if (Interface(interfaceIndex) is { } v4) v4.Forwarding = enabled;
    }

    public Instant Poll(Instant now)
    {
        var next = Reassembler.Poll(now, _onReassemblyTimeout);
        next = Instant.Min(next, PathMtu.Poll(now));
        foreach (var v4 in _interfaces)
        {
            if (v4 is null) continue;
            if (v4.Arp is { } arp) next = Instant.Min(next, arp.Poll(now));
            next = Instant.Min(next, PollAnnouncements(v4, now));
            PollIgmp(v4, now);
            next = Instant.Min(next, v4.Igmp.NextDeadline);
        }
        return next;
    }

    public bool TrySelectSource(IpAddress destination, out IpAddress source)
    {
        bool ok = TrySelectSource(destination.V4, -1, out var s);
        source = s;
        return ok;
    }

    /// <summary>The source we would use toward <paramref name="destination"/> (RFC 1122 §3.3.4.3), optionally out of one interface.</summary>
    public bool TrySelectSource(Ipv4Address destination, int interfaceIndex, out Ipv4Address source)
    {
        // A datagram to ourselves comes from the address it goes to (Linux: the local route's preferred source).
        if (Addresses.IsLocal(destination)) { source = destination; return true; }
        if (TryRoute(destination, interfaceIndex, out var route))
        {
            // A route's preferred source (on-link routes carry the address of their subnet, Linux "src").
            if (!route.PreferredSource.IsUnspecified && Addresses.IsLocal(route.PreferredSource))
            {
                source = route.PreferredSource;
                return true;
            }
            return Addresses.TrySelectSource(route.InterfaceIndex, route.NextHop(destination), out source);
        }
        source = default;
        return false;
    }

    public int MaxTransportPayload(IpAddress destination)
    {
        var dst = destination.V4;
        if (Addresses.IsLocal(dst)) return 65535 - Ipv4Packet.MinHeaderLength;
        if (!TryRoute(dst, -1, out var route) || Interface(route.InterfaceIndex) is not { } v4) return 0;
        return PathMtu.Get(dst, v4.Link.Mtu, _context.Clock.Now) - Ipv4Packet.MinHeaderLength;
    }

    /// <summary>Route lookup that also serves limited broadcast and multicast destinations, which need no route
    /// when an interface is given (or there is just one).</summary>
    public bool IsLocalAddress(IpAddress address) => address.IsV4 && Addresses.IsLocal(address.V4);

    /// <inheritdoc cref="IIpLayer.ReachabilityAdvice"/>
    public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now)
    {
        var dst = destination.V4;
        if (Addresses.IsLocal(dst) || !TryRoute(dst, -1, out var route) || Interface(route.InterfaceIndex) is not { } v4) return;
        var nextHop = route.NextHop(dst);
        if (forwardProgress)
        {
            v4.Arp?.ConfirmReachability(nextHop, now);
            return;
        }
        _stats.NegativeAdvice++;
        // A route a Redirect installed is forgotten (as Linux's ipv4_negative_advice): the configured one is tried again.
        if (route.Destination == new Ipv4Cidr(dst, 32) && _redirectRoutes.Contains(route))
        {
            Routes.Remove(route);
            var keep = _redirectRoutes.Where(r => r != route).ToArray();
            _redirectRoutes.Clear();
            foreach (var r in keep) _redirectRoutes.Enqueue(r);
        }
        v4.Arp?.Suspect(nextHop);
    }

    /// <summary>
    /// Whether a datagram to <paramref name="destination"/> would leave at once: routed, and its next hop's link-layer
    /// address known (an ARP entry in any state but INCOMPLETE; always on a medium without ARP). No side effect: for load
    /// shedding, which answers SYNs from unresolved on-link sources last (RFC 6583 §7).
    /// </summary>
    internal bool NextHopResolved(Ipv4Address destination)
    {
        if (!Routes.TryLookup(destination, out var route) || Interface(route.InterfaceIndex) is not { } v4) return false;
        if (v4.Arp is null) return true;
        return v4.Arp.TryGetState(route.NextHop(destination), out var state, out _) && state != NeighborState.Incomplete;
    }

    private bool TryRoute(Ipv4Address destination, int interfaceIndex, out Ipv4Route route)
    {
        if (Routes.TryLookup(destination, out route, interfaceIndex)) return true;
        if (destination.IsBroadcast || destination.IsMulticast)
        {
            int index = interfaceIndex >= 0 ? interfaceIndex : FirstInterfaceIndex();
            if (Interface(index) is not null)
            {
                Addresses.TryGetPrimary(index, out var primary);
                route = new Ipv4Route(new Ipv4Cidr(destination, 32), Ipv4Address.Any, index, 0, primary);
                return true;
            }
        }
        return false;
    }

    private int FirstInterfaceIndex()
    {
        for (int i = 0; i < _interfaces.Count; i++) if (_interfaces[i] is not null) return i;
        return -1;
    }

    public EchoEndpoints EchoEndpoints { get; }

    internal Ipv4Settings Options => _options;
    internal StackStatistics Statistics => _stats;
    internal IRandomSource Random => _context.Random;
}
