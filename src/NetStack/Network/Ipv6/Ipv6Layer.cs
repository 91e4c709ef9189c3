using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Network.PathMtu;
using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// The IPv6 layer (RFC 8200) with Neighbor Discovery (RFC 4861), SLAAC and DAD (RFC 4862, RFC 7217, RFC 7527),
/// MLDv2 listener (RFC 3810), ICMPv6 (RFC 4443), fragmentation and hardened reassembly (RFC 5722, 6946, 7112),
/// path MTU discovery (RFC 8201) and forwarding. Split by concern over partial files: this one holds the
/// state, interface set-up, timers and the <see cref="IFamilyLayer"/> entry points.
/// </summary>
internal sealed partial class Ipv6Layer : IFamilyLayer
{
    private readonly NetworkContext _context;
    private readonly Ipv6Settings _options;
    private readonly StackStatistics _stats;
    private readonly IRandomSource _random;
    private readonly List<Ipv6Interface> _interfaces = [];
    private readonly Ipv6Interface?[] _byIndex = new Ipv6Interface?[64];
    private readonly PrefixList _prefixes;
    private readonly DefaultRouterList _routers;
    private readonly DestinationCache _destinations;
    private readonly PathMtuCache<Ipv6Address, Ipv6Family> _pmtu;
    private readonly Reassembler<Ipv6FragmentKey, Ipv6Family> _reassembler;
    private readonly ReassemblyTimeoutHandler<Ipv6FragmentKey> _onReassemblyTimeout;
    private readonly TokenBucket _icmpErrors;
    private readonly List<MldOutput> _mldScratch = [];
    private byte[] _secret = [];
    private Instant _nextPmtuSweep;

    public Ipv6Layer(NetworkContext context, Ipv6Settings settings)
    {
        _context = context;
        _options = settings;
        _stats = context.Statistics;
        _random = context.Random;
        _prefixes = new PrefixList(_options.MaxPrefixes);
        _routers = new DefaultRouterList(_options.MaxDefaultRouters);
        _destinations = new DestinationCache(_options.MaxDestinations);
        _pmtu = new PathMtuCache<Ipv6Address, Ipv6Family>(_options.MaxPathMtuEntries, _options.PathMtuAgeOut);
        _reassembler = new Reassembler<Ipv6FragmentKey, Ipv6Family>(_options.ToReassemblyLimits());
        _onReassemblyTimeout = OnReassemblyTimeout;
        EchoEndpoints = new EchoEndpoints(_stats, _random, _options.MaxEchoSockets, _options.EchoSocketQueueLength);
        _icmpErrors = new TokenBucket(_options.IcmpErrorsPerSecond, _options.IcmpErrorBurst);
        StaticRoutes = new RouteTable<Ipv6Route, Ipv6Address>(_options.MaxRoutes);
    }

    internal IReadOnlyList<Ipv6Interface> Interfaces => _interfaces;

    public EchoEndpoints EchoEndpoints { get; }
    internal PathMtuCache<Ipv6Address, Ipv6Family> PathMtu => _pmtu;
    internal DefaultRouterList Routers => _routers;
    internal PrefixList Prefixes => _prefixes;

    /// <summary>Configured routes (router mode, or hosts with more than a default router).</summary>
    internal RouteTable<Ipv6Route, Ipv6Address> StaticRoutes { get; private set; } = null!;

    /// <summary>RFC 4861 §6.2.5: the interface stops advertising (final advertisements with router lifetime 0). False if it was not advertising.</summary>
    internal bool StopAdvertising(int index, Instant now)
    {
        if (InterfaceAt(index)?.Advertiser is not { Ceasing: false } advertiser) return false;
        advertiser.Cease(now);
        return true;
    }

    internal Ipv6Interface? InterfaceAt(int index) => (uint)index < (uint)_byIndex.Length ? _byIndex[index] : null;

    public void AddInterface(NetworkInterface iface, InterfaceConfig config, Instant now)
    {
        if (iface.Index >= _byIndex.Length) return; // bounded: interfaces beyond the table get no IPv6
        if (_secret.Length == 0)
        {
            _secret = _options.StableIdentifierSecret ?? new byte[32];
            if (_options.StableIdentifierSecret is null) _random.NextBytes(_secret);
        }
        var ifc = new Ipv6Interface(this, iface, config, _options, _stats, _random);
        _interfaces.Add(ifc);
        _byIndex[iface.Index] = ifc;

        // RFC 4291 §2.8: every interface joins ff02::1; routers also ff02::2 (never reported: RFC 3810 §6).
        ifc.Mld.Join(Ipv6Address.AllNodes, now);
        if (ifc.Forwarding)
        {
            ifc.Mld.Join(Ipv6Address.AllRouters, now);
            ifc.Mld.Join(new Ipv6Address(0xFF05_0000_0000_0000UL, 2), now);
        }

        // RFC 4862 §5.3: a link-local address is formed on every interface; fe80::/64 is on-link (RFC 4861 §5.2).
        var ll = FormAddress(ifc, InterfaceIdentifier.LinkLocalPrefix, 0);
        AddAddress(ifc, ll, 64, Ipv6AddressOrigin.LinkLocal, Instant.MaxValue, Instant.MaxValue, 0, now);
        _prefixes.AddPermanent(new Ipv6Cidr(InterfaceIdentifier.LinkLocalPrefix, 64), ifc.Index);

        foreach (var cidr in config.Ipv6Addresses)
        {
            AddAddress(ifc, cidr.Address, cidr.PrefixLength, Ipv6AddressOrigin.Static, Instant.MaxValue, Instant.MaxValue, 0, now);
            if (cidr.PrefixLength < 128) _prefixes.AddPermanent(cidr, ifc.Index);
        }
        if (config.Ipv6Gateway is { } gw) _routers.AddPermanent(gw, ifc.Index);
    }

    /// <summary>The address of <paramref name="prefix"/>/64 on <paramref name="ifc"/> (RFC 7217 or EUI-64).</summary>
    private Ipv6Address FormAddress(Ipv6Interface ifc, Ipv6Address prefix, int dadCounter)
    {
        ulong iid = _options.InterfaceIdentifiers == InterfaceIdentifierMode.ModifiedEui64 && ifc.IsEthernet
            ? InterfaceIdentifier.ModifiedEui64(ifc.Link.HardwareAddress)
            : InterfaceIdentifier.StableOpaque(prefix, ifc.Index, ifc.Link.HardwareAddress, default, dadCounter, _secret);
        return InterfaceIdentifier.Combine(prefix, iid);
    }

    /// <summary>Adds an address in the tentative state, joins its solicited-node group and starts DAD (RFC 4862 §5.4).</summary>
    internal InterfaceAddress? AddAddress(Ipv6Interface ifc, Ipv6Address address, int prefixLength, Ipv6AddressOrigin origin,
        Instant validUntil, Instant preferredUntil, int dadCounter, Instant now)
    {
        if (ifc.Find(address) is { } existing) return existing;
        if (ifc.Addresses.Count >= _options.MaxAddressesPerInterface)
        {
            _stats.Drop(DropReason.Ipv6AddressTableFull);
            return null;
        }
        var a = new InterfaceAddress(address, prefixLength, origin, validUntil, preferredUntil) { DadCounter = dadCounter };
        ifc.Addresses.Add(a);
        // RFC 4862 §5.4.2: join all-nodes and the solicited-node group before the DAD probe.
        ifc.Mld.Join(address.SolicitedNode, now);
        if (_options.DupAddrDetectTransmits <= 0)
        {
            a.MarkDadSucceeded(now);
            OnAddressUsable(ifc, a, now);
        }
        else
        {
            // RFC 4862 §5.4.2: a random delay in [0, MAX_RTR_SOLICITATION_DELAY] before the first probe.
            var delay = TimeSpan.FromTicks((long)(_random.NextDouble() * NdpConstants.MaxRtrSolicitationDelay.Ticks));
            a.Dad = new DuplicateAddressDetection(_options.DupAddrDetectTransmits, ifc.Neighbors.RetransTimer, delay, _random, now);
            a.Optimistic = _options.OptimisticDad; // RFC 4429 §3.1: usable while DAD runs
        }
        return a;
    }

    private void RemoveAddress(Ipv6Interface ifc, InterfaceAddress a, Instant now)
    {
        ifc.Addresses.Remove(a);
        ifc.Mld.Leave(a.Address.SolicitedNode, now);
        _destinations.Clear();
    }

    /// <summary>An address just became usable: the link-local one starts router solicitation (RFC 4861 §6.3.7).</summary>
    private void OnAddressUsable(Ipv6Interface ifc, InterfaceAddress a, Instant now)
    {
        if (a.Origin == Ipv6AddressOrigin.LinkLocal && ifc.Slaac && !ifc.Solicitor.IsActive && ifc.Solicitor.Sent == 0)
            ifc.Solicitor.Start(now);
        // RFC 4861 §6.1.2 / §6.2.2: advertisements come from the link-local address, so they start once it is usable.
        if (a.Origin == Ipv6AddressOrigin.LinkLocal) ifc.Advertiser?.Start(now);
        // RFC 4862 §5.4.4 / RFC 4861 §7.2.6: nothing else to announce; NDP answers from now on.
        _destinations.InvalidateDeterminations();
    }

    /// <summary>RFC 8200 §4.5: reassembly timed out; Time Exceeded code 1 only when the first fragment arrived.</summary>
    private void OnReassemblyTimeout(in Ipv6FragmentKey key, ReadOnlySpan<byte> firstFragment, int interfaceIndex)
    {
        _stats.Drop(DropReason.Ipv6ReassemblyTimeout);
        if (!firstFragment.IsEmpty && FindInterfaceFor(key.Destination) is { } rif)
            SendIcmpError(rif, firstFragment, Icmpv6Type.TimeExceeded, (byte)Icmpv6TimeExceededCode.ReassemblyTimeExceeded, 0, default,
                _context.Clock.Now);
    }

    public Instant Poll(Instant now)
    {
        var next = Instant.MaxValue;
        DrainLoopback(now);

        next = Instant.Min(next, _reassembler.Poll(now, _onReassemblyTimeout));

        if (now >= _nextPmtuSweep)
        {
            // RFC 8201 §4: stale estimates are forgotten (swept once a minute; lookups also ignore them).
            _pmtu.Poll(now);
            _nextPmtuSweep = now + TimeSpan.FromMinutes(1);
        }

        bool listsChanged = _prefixes.Expire(now) | _routers.Expire(now);
        if (listsChanged) _destinations.InvalidateDeterminations();
        next = Instant.Min(next, _prefixes.NextDeadline);
        next = Instant.Min(next, _routers.NextDeadline);

        foreach (var ifc in _interfaces)
        {
            next = Instant.Min(next, ifc.Neighbors.Poll(now));
            next = Instant.Min(next, PollAddresses(ifc, now));
            if (ifc.Solicitor.Poll(now)) SendRouterSolicitation(ifc, now);
            next = Instant.Min(next, ifc.Solicitor.NextDeadline);
            if (ifc.Advertiser is { } advertiser)
            {
                if (advertiser.Poll(now)) SendRouterAdvertisement(ifc, advertiser.Config, now);
                next = Instant.Min(next, advertiser.NextDeadline);
            }
            PollMld(ifc, now);
            next = Instant.Min(next, ifc.Mld.NextDeadline);
            DrainLoopback(now);
            for (int k = ifc.DnsServers.Count - 1; k >= 0; k--)
            {
                if (now >= ifc.DnsServers[k].Expires) ifc.DnsServers.RemoveAt(k); // RFC 8106 §5.1: lifetime over
                else next = Instant.Min(next, ifc.DnsServers[k].Expires);
            }
        }
        return next;
    }

    private Instant PollAddresses(Ipv6Interface ifc, Instant now)
    {
        var next = Instant.MaxValue;
        for (int i = ifc.Addresses.Count - 1; i >= 0; i--)
        {
            var a = ifc.Addresses[i];
            if (a.State == Ipv6AddressState.Tentative && a.Dad is { } dad)
            {
                switch (dad.Poll(now))
                {
                    case DadStep.SendProbe:
                        SendDadProbe(ifc, a.Address, dad.CurrentNonce, now);
                        break;
                    case DadStep.Succeeded:
                        a.MarkDadSucceeded(now);
                        OnAddressUsable(ifc, a, now);
                        break;
                }
                if (a.Dad is { } still) next = Instant.Min(next, still.NextDeadline);
            }
            // RFC 4862 §5.5.4: preferred -> deprecated -> invalid as the lifetimes run out.
            a.Advance(now);
            if (a.State == Ipv6AddressState.Invalid)
            {
                RemoveAddress(ifc, a, now);
                continue;
            }
            next = Instant.Min(next, a.NextDeadline);
            if (a.Origin == Ipv6AddressOrigin.Temporary) next = Instant.Min(next, PollTemporaryAddress(ifc, a, now));
        }
        return next;
    }

    private Ipv6Interface? FindInterfaceFor(Ipv6Address local)
    {
        foreach (var ifc in _interfaces) if (ifc.Find(local) is not null) return ifc;
        return _interfaces.Count > 0 ? _interfaces[0] : null;
    }

    public bool TrySelectSource(IpAddress destination, out IpAddress source)
    {
        source = default;
        if (!destination.IsV6) return false;
        var now = _context.Clock.Now;
        if (destination.V6.IsLoopback)
        {
            source = Ipv6Address.Loopback;
            return true;
        }
        if (!TryRoute(destination.V6, -1, now, out var ifc, out _)) return false;
        if (!TrySelectSourceFor(destination.V6, ifc, out var s)) return false;
        source = s;
        return true;
    }

    public int MaxTransportPayload(IpAddress destination)
    {
        if (!destination.IsV6) return 0;
        var now = _context.Clock.Now;
        if (!TryRoute(destination.V6, -1, now, out var ifc, out _)) return Ipv6Packet.MinimumMtu - Ipv6Packet.HeaderLength;
        return _pmtu.Get(destination.V6, ifc.LinkMtu, now) - Ipv6Packet.HeaderLength;
    }

    /// <summary>RFC 6724 source selection among the usable addresses of all interfaces, for a destination reached over <paramref name="outgoing"/>.</summary>
    internal bool TrySelectSourceFor(Ipv6Address destination, Ipv6Interface outgoing, out Ipv6Address source)
    {
        int n = 0;
        foreach (var ifc in _interfaces) n += ifc.Addresses.Count;
        Span<SourceCandidate> candidates = n <= 64 ? stackalloc SourceCandidate[n] : new SourceCandidate[n];
        int k = 0;
        foreach (var ifc in _interfaces)
            foreach (var a in ifc.Addresses) candidates[k++] = new SourceCandidate(a.Address, ifc.Index, a.SelectionState, a.Origin == Ipv6AddressOrigin.Temporary);
        if (SourceAddressSelection.TrySelect(destination, outgoing.Index, candidates[..k], out var best,
                preferTemporary: _options.TemporaryAddresses == TemporaryAddressMode.Prefer))
        {
            source = best.Address;
            return true;
        }
        source = default;
        return false;
    }

    /// <summary>True when <paramref name="address"/> is a usable address of any interface.</summary>
    internal bool IsOurUsableAddress(Ipv6Address address)
    {
        foreach (var ifc in _interfaces) if (ifc.OwnsUsable(address)) return true;
        return false;
    }

    /// <summary>The DNS servers learned from RDNSS options (RFC 8106), in order of arrival.</summary>
    internal IReadOnlyList<Ipv6Address> DnsServers(Instant now)
    {
        var list = new List<Ipv6Address>();
        foreach (var ifc in _interfaces)
            foreach (var d in ifc.DnsServers)
                if (now < d.Expires && !list.Contains(d.Server)) list.Add(d.Server);
        return list;
    }
}

internal sealed partial class Ipv6Layer
{
    /// <summary>The interface's IPv6 state, for callers outside the stack (tests, diagnostics, the resolver).</summary>
    internal Ipv6InterfaceInfo? Info(int interfaceIndex, Instant now) =>
        InterfaceAt(interfaceIndex) is { } ifc ? Ipv6InterfaceInfo.From(ifc, _routers, now) : null;
}
