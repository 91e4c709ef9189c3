using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Sockets;
using NetStack.Transport;
using NetStack.Wire;

namespace NetStack.Composition;

/// <summary>
/// The sans-IO network stack: interfaces over devices, the IPv4 and IPv6 layers, and the transports
/// registered on top. Single-threaded and deterministic: it is driven only by <see cref="Poll"/> (and
/// <see cref="Receive(NetworkInterface, ReadOnlySpan{byte}, Instant)"/> for frames pushed in), takes time from its callers and randomness from the
/// <see cref="IRandomSource"/> it was built with, and makes no system call of its own.
/// <para>
/// The composer (the roof of docs/architecture.md): it builds the family layers with a narrow
/// <see cref="NetworkContext"/> each, owns the interface list and the frame demultiplexer, routes local delivery
/// (<see cref="ILocalDelivery"/>) to the transport floor's <see cref="TransportDemultiplexer"/>, and hands the floors above the small contracts they need
/// (<see cref="ITransportContext"/>, <see cref="IIpFamilies"/>, <see cref="IServiceContext"/>). No layer holds it.
/// </para>
/// </summary>
public sealed class NetworkStack : IPollable, IIpLayer, IClock, IPollRegistry, ITransportContext, IServiceContext, ILocalDelivery
{
    private readonly List<NetworkInterface> _interfaces = [];
    private readonly TransportDemultiplexer _demux;
    private readonly List<IPollable> _timedComponents = [];
    private byte[] _rxBuffer = new byte[2048];
    private readonly EgressQueue _egress;
    private readonly List<IEgressParticipant> _egressDue = [];

    /// <summary>Creates a stack with no interface yet (add them with <see cref="AddInterface"/>); <paramref name="random"/> defaults to the operating system's generator (pass a <see cref="SeededRandom"/> for a reproducible run).</summary>
    public NetworkStack(StackOptions? options = null, IRandomSource? random = null)
    {
        Options = options ?? new StackOptions();
        Random = random ?? SystemRandomSource.Instance;
        _demux = new TransportDemultiplexer(Statistics);
        _egress = new EgressQueue(Options.MaxEgressQueueFrames, Options.MaxEgressQueueBytes);
        var context = new NetworkContext(this, Random, Statistics, this);
        Ipv4 = new Ipv4Layer(context, Options.Ipv4);
        Ipv6 = new Ipv6Layer(context, Options.Ipv6);
    }

    /// <summary>The options the stack was created with.</summary>
    public StackOptions Options { get; }
    /// <summary>The randomness every layer draws from (ephemeral ports, IP identifiers, ISNs, jitter).</summary>
    public IRandomSource Random { get; }
    /// <summary>Frame, packet and drop counters of the whole stack.</summary>
    public StackStatistics Statistics { get; } = new();
    /// <summary>The interfaces, in the order they were added (an interface's index is its position).</summary>
    public IReadOnlyList<NetworkInterface> Interfaces => _interfaces;

    internal Ipv4Layer Ipv4 { get; }
    internal Ipv6Layer Ipv6 { get; }

    /// <summary>The latest time the stack was driven with (for components that need "now" outside a call).</summary>
    public Instant Now { get; private set; }

    /// <summary>Adds an interface over <paramref name="device"/> and configures both families on it.</summary>
    public NetworkInterface AddInterface(INetDevice device, InterfaceConfig? config = null, Instant? now = null)
    {
        config ??= new InterfaceConfig();
        var t = now ?? Now;
        int index = _interfaces.Count;
        var iface = new NetworkInterface(index, config.Name ?? $"if{index}", device,
            config.HardwareAddress ?? device.HardwareAddress, config.Mtu ?? device.Mtu, Statistics, _egress);
        _interfaces.Add(iface);
        _egress.EnsureRoomFor(2 * device.MaxFrameSize);
        if (_rxBuffer.Length < device.MaxFrameSize) _rxBuffer = new byte[device.MaxFrameSize];
        if (config.EnableIpv4) Ipv4.AddInterface(iface, config, t);
        if (config.EnableIpv6) Ipv6.AddInterface(iface, config, t);
        return iface;
    }

    /// <summary>Registers the handler for an IP protocol number (UDP, TCP, ICMP sockets...).</summary>
    public void RegisterTransport(IpProtocol protocol, ITransportHandler handler)
    {
        _demux.Register(protocol, handler);
        if (handler is IPollable p && !_timedComponents.Contains(p)) _timedComponents.Add(p);
    }

    /// <summary>Adds a component that has timers of its own (an application engine, a service) to every <see cref="Poll"/>.</summary>
    public void RegisterPollable(IPollable component)
    {
        if (!_timedComponents.Contains(component)) _timedComponents.Add(component);
    }

    /// <summary>Stops polling <paramref name="component"/> (see <see cref="RegisterPollable"/>).</summary>
    public void UnregisterPollable(IPollable component) => _timedComponents.Remove(component);

    /// <summary>Opens a raw socket for one family and protocol (see <see cref="Sockets.RawSocket"/>).</summary>
    public Sockets.RawSocket OpenRawSocket(IpVersion version, IpProtocol protocol, int capacity = 1024)
    {
        var s = new Sockets.RawSocket(this, RemoveRawSocket, version, protocol, capacity);
        _demux.AddRaw(s);
        return s;
    }

    internal void RemoveRawSocket(Sockets.RawSocket socket) => _demux.RemoveRaw(socket);

    /// <summary>True when some transport handler is registered for <paramref name="protocol"/>.</summary>
    internal bool HasTransport(IpProtocol protocol) => _demux.HasHandler(protocol);

    /// <summary>Whether any interface has joined <paramref name="group"/> with a source filter that accepts
    /// <paramref name="source"/> (RFC 3376 §3.2 / RFC 3810 §4.2; the all-systems / all-nodes groups always).</summary>
    internal bool IsMulticastMember(IpAddress group, IpAddress source)
    {
        if (!group.IsMulticast || group.IsV4 != source.IsV4) return false;
        if (group.IsV6 && group.V6 == Ipv6Address.AllNodes) return true;
        for (int i = 0; i < _interfaces.Count; i++)
        {
            if (group.IsV4 ? Ipv4.Interface(i) is { } v4 && v4.Listens(group.V4, source.V4)
                : Ipv6.InterfaceAt(i) is { } v6 && v6.Mld.IsMember(group.V6, source.V6))
                return true;
        }
        return false;
    }

    /// <summary>The TTL / hop limit a datagram to multicast <paramref name="group"/> leaves with when <paramref name="requested"/> is 0.</summary>
    internal byte MulticastHopLimit(IpAddress group, byte requested) =>
        requested != 0 ? requested : group.IsV4 ? Ipv4.Options.DefaultHopLimit : (byte)1;

    /// <summary>Local delivery, called by the family layers for every datagram addressed to us after validation and
    /// reassembly: the transport demultiplexer (<see cref="TransportDemultiplexer.Deliver"/>).</summary>
    internal TransportVerdict DeliverLocal(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now, out bool unknownProtocol) =>
        _demux.Deliver(info, payload, now, out unknownProtocol);

    /// <summary>Hands a decoded ICMP/ICMPv6 error to the transport whose datagram it quotes (RFC 1122 §3.2.2, RFC 4443 §3).</summary>
    internal void DeliverIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now) =>
        _demux.DeliverIcmpError(error, quotedTransport, icmpMessage, now);

    /// <summary>Adds a static IPv4 route (routers with more than one next hop, multi-hop simulations); false when the table is full or it exists.</summary>
    public bool AddIpv4Route(Ipv4Route route) => Ipv4.Routes.TryAdd(route);

    /// <summary>Removes a static IPv4 route.</summary>
    public bool RemoveIpv4Route(Ipv4Route route) => Ipv4.Routes.Remove(route);

    /// <summary>The IPv4 routes in lookup order (longest prefix first, then metric).</summary>
    public IReadOnlyList<Ipv4Route> Ipv4Routes => Ipv4.Routes.Routes;

    /// <summary>Adds a static IPv6 route (equal-cost routes to one prefix share flows by hash); false when full or present.</summary>
    public bool AddIpv6Route(Ipv6Route route) => Ipv6.StaticRoutes.TryAdd(route);

    /// <summary>Removes a static IPv6 route; false when there was no such route.</summary>
    public bool RemoveIpv6Route(Ipv6Route route) => Ipv6.StaticRoutes.Remove(route);

    /// <summary>The static IPv6 routes.</summary>
    public IReadOnlyList<Ipv6Route> Ipv6Routes => Ipv6.StaticRoutes.Routes;

    /// <inheritdoc/>
    public Instant Poll(Instant now)
    {
        Now = now;
        _synWork = 0;
        _provenSynWork = 0;
        bool behind = false;
        foreach (var iface in _interfaces)
        {
            // Bounded per poll so that one busy device cannot starve timers or the others.
            int i = 0;
            for (; i < Options.MaxFramesPerPoll; i++)
            {
                if (!iface.Device.TryReceive(_rxBuffer, now, out int length, out var info)) break;
                Ingress(iface, _rxBuffer.AsSpan(0, length), info, now);
            }
            behind |= i == Options.MaxFramesPerPoll;
        }
        // A full batch means the device still holds frames: the next poll runs overloaded (sheds SYNs). One batch that
        // was not full (the loop caught up) ends it, and so a backlog the runtime reported lasts for one poll.
        Overloaded = behind;
        Instant next = Instant.MaxValue;
        next = Instant.Min(next, Ipv4.Poll(now));
        next = Instant.Min(next, Ipv6.Poll(now));
        foreach (var c in _timedComponents) next = Instant.Min(next, c.Poll(now));
        return next;
    }

    private int _synWork;
    private int _provenSynWork;

    /// <summary>
    /// True while the stack is behind its devices: the last <see cref="Poll"/> took a full batch of
    /// <see cref="StackOptions.MaxFramesPerPoll"/> frames from some device, or the runtime reported a backlog. SYNs to
    /// listeners beyond <see cref="StackOptions.SynsPerPollUnderLoad"/> per poll are then dropped (RFC 4987 §3).
    /// </summary>
    public bool Overloaded { get; private set; }

    /// <summary>
    /// The runtime's word that its devices hold <paramref name="frames"/> frames not yet handed over (e.g. a receive
    /// ring it drains in batches): a positive count makes the next <see cref="Poll"/> run overloaded. The core itself
    /// notices a device it could not drain in one batch; this is for what only the runtime can see.
    /// </summary>
    public void ReportReceiveBacklog(int frames)
    {
        if (frames > 0) Overloaded = true;
    }

    bool IIpLayer.TryTakeSynWork(IpAddress remote, bool proven)
    {
        int budget = Options.SynsPerPollUnderLoad;
        if (!Overloaded || budget <= 0) return true;
        // A source that completed a handshake lately (TcpProvenPeers) has a budget of its own: a flood from spoofed
        // sources, on-link or off-link (which never complete one), cannot spend it (RFC 4987 §3).
        if (proven && _provenSynWork < budget) { _provenSynWork++; return true; }
        // Under load, a SYN from an on-link source we have no link-layer address for goes first (RFC 6583 §7: spoofed
        // on-link sources must not cost resolutions; RFC 4987 §3): its answer would wait for a solicitation that the
        // neighbour cache's budget mostly refuses anyway. SYNs from resolved neighbours and off-link sources share the budget.
        bool resolved = remote.IsV4 ? Ipv4.NextHopResolved(remote.V4) : Ipv6.NextHopResolved(remote.V6, Now);
        if (resolved && _synWork < budget) { _synWork++; return true; }
        Statistics.Drop(DropReason.TcpSynShed);
        return false;
    }

    /// <summary>Processes one frame pushed in from outside (replay harnesses, tests).</summary>
    public void Receive(NetworkInterface iface, ReadOnlySpan<byte> frame, Instant now)
    {
        Now = now;
        Ingress(iface, frame, default, now);
    }

    /// <summary>
    /// Processes one frame pushed in from outside with what its device said about it (a virtio-net header: checksum
    /// state, super-frame segmentation), checked before it is trusted (see <see cref="FrameReceiveInfo"/>).
    /// </summary>
    public void Receive(NetworkInterface iface, ReadOnlySpan<byte> frame, in FrameReceiveInfo info, Instant now)
    {
        Now = now;
        Ingress(iface, frame, info, now);
    }

    /// <summary>
    /// One turn of the poll cycle for one received frame (docs/architecture.md, "The poll cycle"): the ingress pass
    /// (<see cref="HandleFrame"/>, down to the sockets), during which every frame the stack produces waits in the egress
    /// queue and transports that have output due ask for the egress pass (<see cref="IIpLayer.DeferToEgress"/>), then the egress
    /// pass: the queued frames in the order they were made, then the transports' output. No device is called while a
    /// receive is on the stack, and a reply still leaves in the same poll as the frame that asked for it.
    /// </summary>
    private void Ingress(NetworkInterface iface, ReadOnlySpan<byte> frame, in FrameReceiveInfo info, Instant now)
    {
        _egress.BeginIngress();
        try
        {
            HandleFrame(iface, frame, info, now);
        }
        finally
        {
            _egress.EndIngress();
        }
        if (!_egress.Deferring) Egress(now);
    }

    /// <summary>The egress pass (see <see cref="Ingress"/>).</summary>
    private void Egress(Instant now)
    {
        _egress.Flush(now);
        // A participant's output may make another due (an application answering from a callback): the list is read
        // by index, so one added while it runs is served in this pass too.
        for (int i = 0; i < _egressDue.Count; i++) _egressDue[i].Egress(now);
        _egressDue.Clear();
        _egress.Flush(now);
    }

    bool IIpLayer.DeferToEgress(IEgressParticipant participant)
    {
        if (!_egress.Deferring) return false;
        if (!_egressDue.Contains(participant)) _egressDue.Add(participant);
        return true;
    }

    /// <summary>The queue of frames made during an ingress pass (for tests and statistics).</summary>
    internal EgressQueue EgressQueue => _egress;

    private void HandleFrame(NetworkInterface iface, ReadOnlySpan<byte> frame, in FrameReceiveInfo rx, Instant now)
    {
        Statistics.FramesReceived++;
        Statistics.BytesReceived += frame.Length;
        bool trusted = false;
        int gsoSize = 0, partialStart = -1, partialOffset = 0;
        if ((rx.Virtio.HasValue || rx.Truncated)
            && !ReceiveOffloads.TryAccept(iface.Medium, frame, rx, out trusted, out gsoSize, out partialStart, out partialOffset, out var reason))
        {
            Statistics.Drop(reason);
            return;
        }
        if (gsoSize > 0) Statistics.SuperFramesReceived++;
        if (trusted) Statistics.ChecksumOffloadedFrames++;
        if (iface.Medium == Medium.Ip)
        {
            if (frame.IsEmpty) { Statistics.Drop(DropReason.LinkMalformed); return; }
            var link = new LinkInfo(MacAddress.Zero, MacAddress.Zero) { ChecksumTrusted = trusted, GsoSize = gsoSize, PartialChecksumStart = partialStart, PartialChecksumOffset = partialOffset };
            switch (frame[0] >> 4)
            {
                case 4: Ipv4.Receive(iface, EtherType.Ipv4, frame, link, now); break;
                case 6: Ipv6.Receive(iface, EtherType.Ipv6, frame, link, now); break;
                default: Statistics.Drop(DropReason.LinkUnknownEtherType); break;
            }
            return;
        }

        if (!EthernetFrame.TryParse(frame, out var eth, out _))
        {
            Statistics.Drop(DropReason.LinkMalformed);
            return;
        }
        var dst = eth.Destination;
        if (dst != iface.HardwareAddress && !dst.IsMulticast)
        {
            Statistics.Drop(DropReason.LinkNotForUs);
            return;
        }
        // VLAN-tagged frames belong to a VLAN interface we do not have.
        if (eth.TagCount != 0)
        {
            Statistics.Drop(DropReason.LinkNotForUs);
            return;
        }
        var info = new LinkInfo(eth.Source, dst) { ChecksumTrusted = trusted, GsoSize = gsoSize, PartialChecksumStart = partialStart, PartialChecksumOffset = partialOffset };
        switch (eth.EtherType)
        {
            case EtherType.Arp:
            case EtherType.Ipv4:
                Ipv4.Receive(iface, eth.EtherType, eth.Payload, info, now);
                break;
            case EtherType.Ipv6:
                Ipv6.Receive(iface, eth.EtherType, eth.Payload, info, now);
                break;
            default:
                Statistics.Drop(DropReason.LinkUnknownEtherType);
                break;
        }
    }

    /// <summary>IPv6 configuration of <paramref name="iface"/> (addresses and their states, link MTU, routers, RDNSS servers).</summary>
    public Ipv6InterfaceInfo? GetIpv6Info(NetworkInterface iface) => Ipv6.Info(iface.Index, Now);

    /// <summary>Recursive DNS servers learned from router advertisements (RFC 8106), for the stub resolver.</summary>
    public IReadOnlyList<Ipv6Address> Ipv6DnsServers => Ipv6.DnsServers(Now);

    /// <summary>Opens a sans-IO ICMPv6 echo endpoint (ping) with its own identifier (the IPv6 face of <see cref="IcmpEchoSocket"/>).</summary>
    /// <exception cref="InvalidOperationException">The identifier is open already, or too many echo sockets are open.</exception>
    public IcmpEchoSocket OpenIcmpv6Echo(ushort identifier, int capacity = 64) => new(this, IpVersion.V6, identifier, capacity);

    private IFamilyLayer Family(IpAddress a) => a.IsV4 ? Ipv4 : Ipv6;

    // The contracts the floors below see (explicit: they stay off the public surface of the stack).
    Ipv4Layer IIpFamilies.Ipv4 => Ipv4;

    Ipv6Layer IIpFamilies.Ipv6 => Ipv6;

    bool ITransportContext.IsMulticastMember(IpAddress group, IpAddress source) => IsMulticastMember(group, source);

    byte ITransportContext.MulticastHopLimit(IpAddress group, byte requested) => MulticastHopLimit(group, requested);

    TransportVerdict ILocalDelivery.DeliverLocal(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now, out bool unknownProtocol) =>
        DeliverLocal(info, payload, now, out unknownProtocol);

    void ILocalDelivery.DeliverIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now) =>
        DeliverIcmpError(error, quotedTransport, icmpMessage, now);

    /// <inheritdoc/>
    public bool TrySelectSource(IpAddress destination, out IpAddress source) => Family(destination).TrySelectSource(destination, out source);

    /// <inheritdoc/>
    /// <summary>
    /// Stops the IPv6 router advertisements of <paramref name="iface"/> (<see cref="InterfaceConfig.RouterAdvertisements"/>):
    /// final advertisements with a router lifetime of 0 tell the hosts at once that we are no longer a default router
    /// (RFC 4861 §6.2.5); call it before taking the router down. False when the interface was not advertising.
    /// </summary>
    public bool StopRouterAdvertisements(NetworkInterface iface, Instant now)
    {
        ArgumentNullException.ThrowIfNull(iface);
        return Ipv6.StopAdvertising(iface.Index, now);
    }

    /// <inheritdoc/>
    public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now) =>
        Family(destination).ReachabilityAdvice(destination, forwardProgress, now);

    /// <inheritdoc/>
    public bool IsLocalAddress(IpAddress address) => Family(address).IsLocalAddress(address);

    /// <inheritdoc/>
    public int MaxTransportPayload(IpAddress destination) => Family(destination).MaxTransportPayload(destination);

    /// <summary>
    /// Partial checksums always (the device completes them, or the link layer in software), and TCP/UDP super-segments up
    /// to a 64 KB IP packet (RFC 791 Total Length; kept for IPv6 too) toward anything but our own addresses: devices with
    /// TSO/USO get them whole, others get the segments <see cref="SoftwareSegmentation"/> makes, so transports build the
    /// same super-segments on every device (Linux's GSO). Loopback gets one MSS at a time, as before.
    /// </summary>
    public TransmitOffloadSupport TransmitOffloads(IpAddress destination)
    {
        bool self = (destination.IsV4 ? destination.V4.IsLoopback : destination.V6.IsLoopback) || IsLocalAddress(destination);
        int ipHeader = destination.IsV4 ? Ipv4Packet.MinHeaderLength : Ipv6Packet.HeaderLength;
        return new TransmitOffloadSupport(PartialChecksum: true, MaxSuperSegment: self ? 0 : Network.TransmitOffloads.MaxSuperPacket - ipHeader);
    }

    /// <inheritdoc/>
    public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now)
    {
        Now = now;
        return Family(destination).Send(source, destination, protocol, transportPayload, options, now);
    }

    /// <inheritdoc/>
    public IpSendResult SendInPlace(IpAddress source, IpAddress destination, IpProtocol protocol,
        byte[] buffer, int offset, int length, in IpSendOptions options, Instant now)
    {
        Now = now;
        return Family(destination).SendInPlace(source, destination, protocol, buffer, offset, length, options, now);
    }
}
