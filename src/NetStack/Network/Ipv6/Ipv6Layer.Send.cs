using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

internal sealed partial class Ipv6Layer
{
    /// <summary>Hop-by-Hop header with a Router Alert for MLD (RFC 2711, RFC 3810 §5): written once, next header patched per use.</summary>
    private static readonly byte[] RouterAlertHopByHop = BuildRouterAlert();

    private static byte[] BuildRouterAlert()
    {
        var options = new[] { Ipv6OptionRepr.RouterAlert(0) };
        var repr = new Ipv6OptionsRepr(IpProtocol.Icmpv6, options);
        var b = new byte[repr.BufferLength];
        repr.Write(b);
        return b;
    }

    /// <summary>
    /// Next-hop determination (RFC 4861 §5.2): multicast and link-local destinations are on the given (or only)
    /// interface; then the Destination Cache; then the longest on-link prefix; then a default router (§6.3.6).
    /// With no default router the destination is unreachable (RFC 4943 removed the on-link assumption).
    /// </summary>
    internal bool TryRoute(Ipv6Address destination, int interfaceHint, Instant now, out Ipv6Interface ifc, out Ipv6Address nextHop, uint flowHash = 0)
    {
        ifc = null!;
        nextHop = destination;
        var hinted = interfaceHint >= 0 ? InterfaceAt(interfaceHint) : null;
        if (destination.IsMulticast || destination.IsLinkLocal || destination.IsLoopback)
        {
            var chosen = hinted ?? (_interfaces.Count > 0 ? _interfaces[0] : null);
            if (chosen is null) return false;
            ifc = chosen;
            return true;
        }
        if (hinted is null && _destinations.TryGet(destination, now, out var cached) && InterfaceAt(cached.InterfaceIndex) is { } cif)
        {
            // RFC 4861 §7.3.3 / §6.3.6: a router whose neighbour entry was deleted or is UNREACHABLE (NUD failed, RFC 7048
            // §3) is no next hop any more: next-hop determination runs again and may switch to another default router.
            bool routerGone = cached.NextHop != destination && cif.IsEthernet
                && (!cif.Neighbors.TryGetState(cached.NextHop, out var routerState, out _) || routerState == NeighborState.Unreachable);
            if (!routerGone)
            {
                ifc = cif;
                nextHop = cached.NextHop;
                return true;
            }
            _destinations.InvalidateNextHop(cached.NextHop, cif.Index);
        }
        if (_prefixes.TryMatch(destination, interfaceHint, now, out var onLink) && InterfaceAt(onLink.InterfaceIndex) is { } pif)
        {
            ifc = pif;
            if (hinted is null) _destinations.Set(destination, ifc.Index, destination, false, now);
            return true;
        }
        if (StaticRoutes.TryLookup(destination, interfaceHint, flowHash, out var sr, out bool multipath) && InterfaceAt(sr.InterfaceIndex) is { } sif)
        {
            ifc = sif;
            nextHop = sr.IsOnLink ? destination : sr.Gateway;
            // One path per flow: a multipath choice is not remembered per destination.
            if (hinted is null && !multipath) _destinations.Set(destination, ifc.Index, nextHop, false, now);
            return true;
        }
        bool found = _routers.TrySelect(now, _isProbablyReachable ??= IsProbablyReachable, out var router);
        if (!found || InterfaceAt(router.InterfaceIndex) is not { } rif || (hinted is not null && hinted != rif)) return false;
        ifc = rif;
        nextHop = router.Address;
        if (hinted is null) _destinations.Set(destination, ifc.Index, nextHop, false, now);
        return true;
    }

    /// <summary>
    /// Whether a datagram to <paramref name="destination"/> would leave at once as far as the neighbour cache goes: an
    /// on-link destination (by the prefix list) needs a neighbour entry in any state but INCOMPLETE; an off-link one goes
    /// to a router and counts as resolved. No side effect (no destination cache entry): for load shedding, which answers
    /// SYNs from unknown on-link sources last (RFC 6583 §7: spoofed on-link sources must not cost resolutions).
    /// </summary>
    internal bool NextHopResolved(Ipv6Address destination, Instant now)
    {
        if (!_prefixes.TryMatch(destination, -1, now, out var onLink) || InterfaceAt(onLink.InterfaceIndex) is not { } ifc) return true;
        return !ifc.IsEthernet || (ifc.Neighbors.TryGetState(destination, out var state, out _) && state != NeighborState.Incomplete);
    }

    /// <summary>
    /// RFC 4861 §6.3.6: a router is (probably) reachable when its neighbour entry is in any state but INCOMPLETE (and,
    /// RFC 7048 §3, UNREACHABLE).
    /// </summary>
    private bool IsProbablyReachable(Ipv6Address router, int interfaceIndex) =>
        InterfaceAt(interfaceIndex) is { } ifc && ifc.Neighbors.TryGetState(router, out var st, out _)
        && st != NeighborState.Incomplete && st != NeighborState.Unreachable;

    public bool IsLocalAddress(IpAddress address)
    {
        if (!address.IsV6) return false;
        if (address.V6.IsLoopback) return true;
        foreach (var ifc in Interfaces) if (ifc.OwnsUsable(address.V6)) return true;
        return false;
    }

    /// <inheritdoc cref="IIpLayer.ReachabilityAdvice"/>
    public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now)
    {
        var dst = destination.V6;
        if (dst.IsLoopback || !TryRoute(dst, -1, now, out var ifc, out var nextHop)) return;
        if (forwardProgress)
        {
            // RFC 4861 §7.3.1: "a hint from upper-layer protocols that forward progress is being made".
            if (ifc.IsEthernet) ifc.Neighbors.ConfirmReachability(nextHop, now);
            return;
        }
        _stats.NegativeAdvice++;
        // The cached next hop (a Redirect's included) is forgotten and the first hop verified again (RFC 4861 §7.3.3):
        // if it is dead NUD removes it and next-hop determination picks another default router (§6.3.6).
        _destinations.Remove(dst);
        if (ifc.IsEthernet) ifc.Neighbors.Suspect(nextHop);
    }

    public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now) =>
        Send(source, destination, protocol, transportPayload, options, now, null, 0);

    /// <inheritdoc cref="IIpLayer.SendInPlace"/>
    public IpSendResult SendInPlace(IpAddress source, IpAddress destination, IpProtocol protocol,
        byte[] buffer, int offset, int length, in IpSendOptions options, Instant now) =>
        Send(source, destination, protocol, buffer.AsSpan(offset, length), options, now, buffer, offset);

    private IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol,
        ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now, byte[]? inPlace, int inPlaceOffset)
    {
        if (!destination.IsV6) return IpSendResult.NoRoute;
        var dst = destination.V6;
        if (!TryRoute(dst, options.InterfaceIndex, now, out var ifc, out var nextHop))
        {
            _stats.Drop(DropReason.Ipv6NoRoute);
            return IpSendResult.NoRoute;
        }
        Ipv6Address src;
        if (dst.IsLoopback)
        {
            src = Ipv6Address.Loopback; // RFC 4291 §2.5.3: ::1 talks to itself
        }
        else if (source.IsV6 && !source.V6.IsUnspecified)
        {
            src = source.V6;
            if (!IsOurUsableAddress(src)) return IpSendResult.NoSourceAddress;
        }
        else if (!TrySelectSourceFor(dst, ifc, out src))
        {
            return IpSendResult.NoSourceAddress;
        }
        byte hop = options.Ttl != 0 ? options.Ttl : dst.IsMulticast ? (byte)1 : ifc.CurHopLimit;
        var result = SendPacket(ifc, nextHop, src, dst, protocol, transportPayload, hop, options.TrafficClass, options.FlowLabel,
            default, allowFragment: !options.DontFragment, now, ignorePathMtu: options.DontFragment && options.IgnorePathMtu, offloads: options,
            inPlace: inPlace, inPlaceOffset: inPlaceOffset);
        DrainLoopback(now);
        return result;
    }

    /// <summary>
    /// Builds and transmits one datagram (or its fragments, RFC 8200 §4.5 / §5: a source fragments to the
    /// path MTU). <paramref name="hopByHop"/>, when given, is a whole Hop-by-Hop header whose Next Header is patched.
    /// <paramref name="inPlace"/>, when given, is the buffer <paramref name="payload"/> lies in, at <paramref name="inPlaceOffset"/>
    /// with <see cref="IpSendBuffers.TransportHeadroom"/> free before it: a packet that leaves whole gets its header, and the
    /// link header, written there, and the payload is not copied (<see cref="IIpLayer.SendInPlace"/>).
    /// </summary>
    internal IpSendResult SendPacket(Ipv6Interface ifc, Ipv6Address nextHop, Ipv6Address src, Ipv6Address dst, IpProtocol protocol,
        ReadOnlySpan<byte> payload, byte hopLimit, byte trafficClass, uint flowLabel, ReadOnlySpan<byte> hopByHop,
        bool allowFragment, Instant now, bool ignorePathMtu = false, in IpSendOptions offloads = default,
        byte[]? inPlace = null, int inPlaceOffset = 0)
    {
        int unfragmentable = Ipv6Packet.HeaderLength + hopByHop.Length;
        int total = unfragmentable + payload.Length;
        // ignorePathMtu (Linux IPV6_PMTUDISC_PROBE): the link's MTU, never a learned smaller path MTU.
        int mtu = dst.IsMulticast || ignorePathMtu ? ifc.LinkMtu : _pmtu.Get(dst, ifc.LinkMtu, now);
        var firstHeader = hopByHop.IsEmpty ? protocol : IpProtocol.HopByHop;
        var offload = TransmitOffloads.Describe(offloads, protocol, v4: false, unfragmentable, payload, out _, out int segmentPacket);
        int start = inPlaceOffset - unfragmentable;
        if (inPlace is not null && segmentPacket <= mtu && start >= NetworkInterface.Headroom)
        {
            // In place: the header goes in the headroom in front of the payload, which stays where the transport wrote it.
            if (total - Ipv6Packet.HeaderLength > 65535) return IpSendResult.TooBig;
            new Ipv6Repr(src, dst, firstHeader, total - Ipv6Packet.HeaderLength, hopLimit, trafficClass, flowLabel).Write(inPlace.AsSpan(start));
            if (!hopByHop.IsEmpty)
            {
                hopByHop.CopyTo(inPlace.AsSpan(start + Ipv6Packet.HeaderLength));
                inPlace[start + Ipv6Packet.HeaderLength] = (byte)protocol; // the HbH header's Next Header field
            }
            _stats.Ipv6PacketsSent++;
            return Deliver(ifc, nextHop, dst, inPlace, start, total, now, offload);
        }
        var buffer = ifc.Link.RentBuffer(total);
        try
        {
            int o = NetworkInterface.Headroom;
            if (offload != default && segmentPacket > mtu)
            {
                // A segment larger than the path MTU (or a partial checksum on a packet to fragment): whole packets,
                // checksums complete, each sent (and fragmented where allowed) on its own.
                if (total - Ipv6Packet.HeaderLength > 65535) return IpSendResult.TooBig;
                new Ipv6Repr(src, dst, firstHeader, total - Ipv6Packet.HeaderLength, hopLimit, trafficClass, flowLabel).Write(buffer.AsSpan(o));
                if (!hopByHop.IsEmpty)
                {
                    hopByHop.CopyTo(buffer.AsSpan(o + Ipv6Packet.HeaderLength));
                    buffer[o + Ipv6Packet.HeaderLength] = (byte)protocol;
                }
                payload.CopyTo(buffer.AsSpan(o + unfragmentable));
                return SendSegmentsSeparately(ifc, nextHop, src, dst, protocol, buffer.AsSpan(o, total), unfragmentable, hopLimit, trafficClass,
                    flowLabel, hopByHop, allowFragment, offload, now, ignorePathMtu);
            }
            if (segmentPacket <= mtu)
            {
                if (total - Ipv6Packet.HeaderLength > 65535) return IpSendResult.TooBig;
                new Ipv6Repr(src, dst, firstHeader, total - Ipv6Packet.HeaderLength, hopLimit, trafficClass, flowLabel).Write(buffer.AsSpan(o));
                if (!hopByHop.IsEmpty)
                {
                    hopByHop.CopyTo(buffer.AsSpan(o + Ipv6Packet.HeaderLength));
                    buffer[o + Ipv6Packet.HeaderLength] = (byte)protocol; // the HbH header's Next Header field
                }
                payload.CopyTo(buffer.AsSpan(o + unfragmentable));
                _stats.Ipv6PacketsSent++;
                return Deliver(ifc, nextHop, dst, buffer, o, total, now, offload);
            }
            if (!allowFragment)
            {
                _stats.Drop(DropReason.Ipv6PacketTooBig);
                return IpSendResult.TooBig;
            }
            // RFC 8200 §4.5: every fragment carries the unfragmentable part and a Fragment header.
            int fragmentHeaders = unfragmentable + Ipv6FragmentHeader.HeaderLength;
            var plan = FragmentPlan.Create(payload.Length, Ipv6Family.SourceFragmentMtu(mtu), fragmentHeaders, fragmentHeaders);
            if (!plan.IsPossible || payload.Length > 65535 - 8 - hopByHop.Length)
                return IpSendResult.TooBig;
            // RFC 7739 §5 / RFC 8200 §4.5: an unpredictable Identification.
            uint id = _random.NextUInt32();
            var result = IpSendResult.Sent;
            foreach (var f in plan)
            {
                int len = f.Length;
                int fragLen = fragmentHeaders + len;
                new Ipv6Repr(src, dst, firstHeader, fragLen - Ipv6Packet.HeaderLength, hopLimit, trafficClass, flowLabel).Write(buffer.AsSpan(o));
                int fo = o + Ipv6Packet.HeaderLength;
                if (!hopByHop.IsEmpty)
                {
                    hopByHop.CopyTo(buffer.AsSpan(fo));
                    buffer[fo] = (byte)IpProtocol.Ipv6Fragment;
                    fo += hopByHop.Length;
                }
                else
                {
                    buffer[o + Ipv6Packet.NextHeaderFieldOffset] = (byte)IpProtocol.Ipv6Fragment;
                }
                new Ipv6FragmentRepr(protocol, f.Offset, f.More, id).Write(buffer.AsSpan(fo));
                payload.Slice(f.Offset, len).CopyTo(buffer.AsSpan(fo + Ipv6FragmentHeader.HeaderLength));
                _stats.FragmentsCreated++;
                _stats.Ipv6PacketsSent++;
                var r = Deliver(ifc, nextHop, dst, buffer, o, fragLen, now);
                if (r != IpSendResult.Sent) result = r;
            }
            return result;
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>The wire packets of a packet that cannot leave whole, each sent on its own (its closure only on this rare path).</summary>
    private IpSendResult SendSegmentsSeparately(Ipv6Interface ifc, Ipv6Address nextHop, Ipv6Address src, Ipv6Address dst, IpProtocol protocol,
        ReadOnlySpan<byte> packet, int unfragmentable, byte hopLimit, byte trafficClass, uint flowLabel, ReadOnlySpan<byte> hopByHop,
        bool allowFragment, in VirtioNetHeader offload, Instant now, bool ignorePathMtu)
    {
        var hbh = hopByHop.ToArray();
        return TransmitOffloads.ForEachPacket(packet, offload, p =>
            SendPacket(ifc, nextHop, src, dst, protocol, p[unfragmentable..], hopLimit, trafficClass, flowLabel, hbh, allowFragment, now, ignorePathMtu));
    }

    /// <summary>Loopback or a neighbour queue: the wire packets of a super-segment, checksums complete, delivered one by one.</summary>
    private IpSendResult DeliverSegments(Ipv6Interface ifc, Ipv6Address nextHop, Ipv6Address dst, ReadOnlySpan<byte> packet, in VirtioNetHeader offload,
        bool enqueue, Instant now) =>
        TransmitOffloads.ForEachPacket(packet, offload, p =>
        {
            if (enqueue) return ifc.Neighbors.Enqueue(nextHop, EtherType.Ipv6, p) ? IpSendResult.Sent : IpSendResult.QueueFull;
            var b = ifc.Link.RentBuffer(p.Length);
            try
            {
                p.CopyTo(b.AsSpan(NetworkInterface.Headroom));
                return Deliver(ifc, nextHop, dst, b, NetworkInterface.Headroom, p.Length, now);
            }
            finally
            {
                NetworkInterface.ReturnBuffer(b);
            }
        });

    /// <summary>Sends a built packet to its next hop: loops back packets for our own addresses, maps multicast, resolves unicast (RFC 4861 §7.2.2).</summary>
    private IpSendResult Deliver(Ipv6Interface ifc, Ipv6Address nextHop, Ipv6Address dst, byte[] buffer, int offset, int length, Instant now,
        in VirtioNetHeader offload = default)
    {
        ifc.HasSent = true;
        bool toSelf = dst.IsLoopback || (!dst.IsMulticast && IsOurUsableAddress(dst));
        // Loopback holds whole wire packets: a super-segment goes as its segments, checksums complete.
        if (offload != default && toSelf) return DeliverSegments(ifc, nextHop, dst, buffer.AsSpan(offset, length), offload, enqueue: false, now);
        if (toSelf)
        {
            // Addressed to ourselves (RFC 4291 §2.5.3: ::1 never leaves the node): processed as received, without the link,
            // once the current operation is over (so that no buffer in use is overwritten by a nested receive).
            if (_loopback.Count >= MaxLoopbackQueue)
            {
                _stats.Drop(DropReason.DeviceQueueFull);
                return IpSendResult.QueueFull;
            }
            _loopback.Enqueue((FindInterfaceFor(dst) ?? ifc, buffer.AsSpan(offset, length).ToArray()));
            return IpSendResult.Sent;
        }
        if (!ifc.IsEthernet)
        {
            ifc.Link.Transmit(MacAddress.Zero, EtherType.Ipv6, buffer, offset, length, now, offload);
            return IpSendResult.Sent;
        }
        if (dst.IsMulticast)
        {
            // RFC 2464 §7: 33:33 followed by the low 32 bits of the group.
            ifc.Link.Transmit(MacAddress.ForIpv6Multicast(dst), EtherType.Ipv6, buffer, offset, length, now, offload);
            return IpSendResult.Sent;
        }
        switch (ifc.Neighbors.Resolve(nextHop, now, out var mac))
        {
            case NeighborLookup.Known:
                ifc.Link.Transmit(mac, EtherType.Ipv6, buffer, offset, length, now, offload);
                return IpSendResult.Sent;
            case NeighborLookup.Pending when offload != default:
                // The queue holds whole wire packets: the segments wait, checksums complete.
                return DeliverSegments(ifc, nextHop, dst, buffer.AsSpan(offset, length), offload, enqueue: true, now);
            case NeighborLookup.Pending:
                // RFC 4861 §7.2.2: queue while resolving (bounded per neighbour; overflow is counted by the cache).
                return ifc.Neighbors.Enqueue(nextHop, EtherType.Ipv6, buffer.AsSpan(offset, length)) ? IpSendResult.Sent : IpSendResult.QueueFull;
            default:
                return IpSendResult.QueueFull;
        }
    }

    private const int MaxLoopbackQueue = 256;
    private Func<Ipv6Address, int, bool>? _isProbablyReachable;
    private readonly Queue<(Ipv6Interface Iface, byte[] Packet)> _loopback = new();
    private bool _drainingLoopback;

    /// <summary>Processes the packets we sent to ourselves, iteratively (their answers join the queue).</summary>
    private void DrainLoopback(Instant now)
    {
        if (_drainingLoopback) return;
        _drainingLoopback = true;
        try
        {
            while (_loopback.TryDequeue(out var item))
            {
                var ip = Ipv6Packet.TryParse(item.Packet, out var p, out _) ? p.Destination : default;
                ProcessPacket(item.Iface, item.Packet, new LinkInfo(item.Iface.Link.HardwareAddress, item.Iface.Link.HardwareAddress), now,
                    reassembled: false, loopback: ip.IsLoopback);
            }
        }
        finally
        {
            _drainingLoopback = false;
        }
    }

    /// <summary>A packet that waited for address resolution goes out now.</summary>
    internal void TransmitResolved(Ipv6Interface ifc, MacAddress mac, ReadOnlySpan<byte> packet, Instant now)
    {
        var buffer = ifc.Link.RentBuffer();
        try
        {
            packet.CopyTo(buffer.AsSpan(NetworkInterface.Headroom));
            ifc.Link.Transmit(mac, EtherType.Ipv6, buffer, NetworkInterface.Headroom, packet.Length, now);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// RFC 4861 §7.2.2 / §7.3.3: resolution failed. Each waiting packet earns Destination Unreachable code 3
    /// (Address Unreachable); our own packets report the error to their transport, and the destination cache
    /// forgets the dead next hop.
    /// </summary>
    internal void OnResolutionFailed(Ipv6Interface ifc, Ipv6Address target, ReadOnlySpan<byte> packet, Instant now)
    {
        _destinations.InvalidateNextHop(target, ifc.Index);
        if (!Ipv6Packet.TryParse(packet, out var p, out _)) return;
        if (IsOurUsableAddress(p.Source))
        {
            DeliverErrorLocally(ifc, p.Source, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6UnreachableCode.AddressUnreachable, 0, packet, default, 255, now);
            return;
        }
        SendIcmpError(ifc, packet, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6UnreachableCode.AddressUnreachable, 0, default, now);
    }
}
