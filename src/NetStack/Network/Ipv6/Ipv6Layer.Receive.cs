using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

internal sealed partial class Ipv6Layer
{
    public void Receive(NetworkInterface iface, EtherType etherType, ReadOnlySpan<byte> packet, in LinkInfo link, Instant now)
    {
        var ifc = InterfaceAt(iface.Index);
        if (ifc is null || etherType != EtherType.Ipv6)
        {
            _stats.Drop(DropReason.Ipv6NotForUs);
            return;
        }
        _stats.Ipv6PacketsReceived++;
        ProcessPacket(ifc, packet, link, now, reassembled: false);
        DrainLoopback(now);
    }

    /// <summary>
    /// Validates the fixed header, decides whether the packet is ours (or to forward), and processes the
    /// extension headers in order (RFC 8200 §4): options, routing, fragment, then the upper layer.
    /// </summary>
    private void ProcessPacket(Ipv6Interface ifc, ReadOnlySpan<byte> raw, in LinkInfo link, Instant now, bool reassembled, bool loopback = false)
    {
        // RFC 8200 §3: version 6 and a payload length that fits what arrived (trailing link padding trimmed).
        if (!Ipv6Packet.TryParse(raw, out var ip, out _))
        {
            _stats.Drop(DropReason.Ipv6Malformed);
            return;
        }
        var packet = ip.Bytes;
        var src = ip.Source;
        var dst = ip.Destination;
        // RFC 4291 §2.7: a multicast source is invalid; RFC 4291 §2.5.3: loopback never appears on a link.
        if (src.IsMulticast || dst.IsUnspecified || (!loopback && (src.IsLoopback || dst.IsLoopback)))
        {
            _stats.Drop(DropReason.Ipv6BadSource);
            return;
        }

        bool forUs = loopback || (dst.IsMulticast ? ifc.Listens(dst) : IsLocalDestination(ifc, dst));
        bool forward = !forUs && !dst.IsMulticast && ifc.Forwarding;
        if (!forUs && !forward)
        {
            _stats.Drop(DropReason.Ipv6NotForUs);
            return;
        }

        if (!Ipv6HeaderChain.TryParse(packet, out var chain, out var chainError))
        {
            // A chain running past the packet (not a first fragment), or longer than we accept.
            _stats.Drop(chainError == WireError.TooLong ? DropReason.Ipv6BadExtensionHeader : DropReason.Ipv6Malformed);
            return;
        }

        // RFC 3810 §4.2: the interface state's source filter decides which sources of a joined group are received
        // (INCLUDE: listed ones; EXCLUDE: all but the listed). ICMPv6 is exempt (MLD group-specific queries come to the
        // group from the querier, whatever our filter; Linux filters MLD by neither).
        if (dst.IsMulticast && !loopback && chain.Protocol != IpProtocol.Icmpv6 && !ifc.Listens(dst, src))
        {
            _stats.Drop(DropReason.MulticastSourceFiltered);
            return;
        }

        // Extension headers, strictly in order (RFC 8200 §4). Routers look only at Hop-by-Hop.
        int nextHeaderField = Ipv6Packet.NextHeaderFieldOffset;
        foreach (var h in chain.Headers(packet))
        {
            if (forward && h.Type != IpProtocol.HopByHop) break;
            switch (h.Type)
            {
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6DestinationOptions:
                    if (!ProcessOptions(ifc, packet, h.Offset, dst, link, now)) return;
                    break;
                case IpProtocol.Ipv6Routing:
                    if (!Ipv6RoutingHeader.TryParse(h.Bytes, out var rh, out _)) { _stats.Drop(DropReason.Ipv6BadExtensionHeader); return; }
                    // RFC 8200 §4.4: an unrecognized Routing Type with Segments Left 0 is ignored; with segments left,
                    // Parameter Problem code 0 pointing at the Routing Type. We implement no type (RH0 is deprecated, RFC 5095).
                    if (rh.SegmentsLeft != 0)
                    {
                        _stats.Drop(DropReason.Ipv6BadExtensionHeader);
                        SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.ErroneousHeaderField,
                            (uint)(h.Offset + Ipv6RoutingHeader.RoutingTypeFieldOffset), link, now);
                        return;
                    }
                    break;
                case IpProtocol.Ipv6Fragment:
                    if (!Ipv6FragmentHeader.TryParse(h.Bytes, out var fh, out _)) { _stats.Drop(DropReason.Ipv6Malformed); return; }
                    if (fh.IsAtomic) break; // RFC 6946 §4: processed in isolation: just skip the header
                    if (reassembled)
                    {
                        _stats.Drop(DropReason.Ipv6BadExtensionHeader); // fragments inside a reassembled packet
                        return;
                    }
                    HandleFragment(ifc, packet, chain, h.Offset, nextHeaderField, fh, src, dst, link, now);
                    return;
            }
            nextHeaderField = h.Offset;
        }

        if (forward)
        {
            Forward(ifc, packet, chain, link, now);
            return;
        }

        switch (chain.End)
        {
            case Ipv6ChainEnd.UpperLayer:
            case Ipv6ChainEnd.UnknownHeader:
            case Ipv6ChainEnd.Esp:
            case Ipv6ChainEnd.Ah:
                DeliverUp(ifc, ip, packet, chain, link, now);
                return;
            case Ipv6ChainEnd.NoNextHeader:
                return; // RFC 8200 §4.7: nothing follows; done.
            case Ipv6ChainEnd.MisplacedHopByHop:
                // RFC 8200 §4.3 / §4: Hop-by-Hop only right after the IPv6 header: an unrecognized Next Header.
                _stats.Drop(DropReason.Ipv6UnknownNextHeader);
                SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.UnrecognizedNextHeader,
                    (uint)chain.NextHeaderFieldOffset, link, now);
                return;
            default:
                _stats.Drop(DropReason.Ipv6Malformed);
                return;
        }
    }

    /// <summary>Unicast destinations we accept: a usable address of the arrival interface, or of another one (weak host, RFC 1122 §3.3.4.2).</summary>
    private bool IsLocalDestination(Ipv6Interface ifc, Ipv6Address dst)
    {
        if (ifc.OwnsUsable(dst)) return true;
        if (dst.IsLinkLocal) return false; // link-local scope: only the arrival interface (RFC 4007 §9)
        if (IsOurUsableAddress(dst)) return true;
        // RFC 4291 §2.6.1: routers accept the Subnet-Router anycast address (the prefix with a zero identifier) of their subnets.
        if (ifc.Forwarding)
            foreach (var other in _interfaces)
                foreach (var a in other.Addresses)
                    if (a.IsUsable && a.PrefixLength < 128 && dst == new Ipv6Cidr(a.Address, a.PrefixLength).Prefix) return true;
        return false;
    }

    /// <summary>
    /// RFC 8200 §4.2: the options of a Hop-by-Hop or Destination Options header. Unknown options obey the two
    /// high-order bits of their type: skip; discard; discard and Parameter Problem code 2; discard and, unless
    /// the destination was multicast, Parameter Problem code 2 — pointing at the option type. Returns false when
    /// the packet was discarded.
    /// </summary>
    private bool ProcessOptions(Ipv6Interface ifc, ReadOnlySpan<byte> packet, int headerOffset, Ipv6Address dst, in LinkInfo link, Instant now)
    {
        if (!Ipv6OptionsHeader.TryParse(packet[headerOffset..], out var header, out _))
        {
            _stats.Drop(DropReason.Ipv6BadExtensionHeader);
            return false;
        }
        foreach (var opt in header.Options)
        {
            if (opt.IsPadding || opt.Type == Ipv6OptionType.RouterAlert) continue; // known: Pad1, PadN, Router Alert (RFC 2711)
            switch (opt.Action)
            {
                case Ipv6OptionAction.Skip:
                    continue;
                case Ipv6OptionAction.Discard:
                    _stats.Drop(DropReason.Ipv6UnknownOption);
                    return false;
                case Ipv6OptionAction.DiscardAndReport:
                    _stats.Drop(DropReason.Ipv6UnknownOption);
                    // RFC 4443 §2.4(e.2): code 2 may answer even a multicast destination.
                    SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.UnrecognizedOption,
                        (uint)(headerOffset + opt.Offset), link, now, allowMulticastDestination: true);
                    return false;
                default: // DiscardAndReportIfUnicast
                    _stats.Drop(DropReason.Ipv6UnknownOption);
                    if (!dst.IsMulticast)
                        SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.UnrecognizedOption,
                            (uint)(headerOffset + opt.Offset), link, now);
                    return false;
            }
        }
        return true;
    }

    private void HandleFragment(Ipv6Interface ifc, ReadOnlySpan<byte> packet, in Ipv6HeaderChain chain, int fragmentOffset, int nextHeaderField,
        Ipv6FragmentHeader fh, Ipv6Address src, Ipv6Address dst, in LinkInfo link, Instant now)
    {
        // RFC 7112 §5: a first fragment without the whole header chain is discarded, with Parameter Problem code 3 (pointer 0).
        if (fh.FragmentOffset == 0 && chain.IncompleteFirstFragment)
        {
            _stats.Drop(DropReason.Ipv6IncompleteHeaderChain);
            SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.IncompleteHeaderChain, 0, link, now);
            return;
        }
        // The stored header is the packet through the Fragment header (RFC 8200 §4.5; Ipv6Family rewrites it on completion).
        int dataStart = fragmentOffset + Ipv6FragmentHeader.HeaderLength;
        var outcome = _reassembler.Add(new Ipv6FragmentKey(src, dst, fh.Identification), packet[..dataStart], fh.FragmentOffset,
            fh.MoreFragments, packet[dataStart..], ifc.Index, now, out var datagram, headerTag: nextHeaderField);
        switch (outcome)
        {
            case ReassemblyOutcome.Incomplete:
                return;
            case ReassemblyOutcome.Complete:
                _stats.FragmentsReassembled++;
                try
                {
                    ProcessPacket(ifc, datagram.Datagram, link, now, reassembled: true, loopback: src.IsLoopback);
                }
                finally
                {
                    datagram.Release();
                }
                return;
            case ReassemblyOutcome.BadLength:
                // RFC 8200 §4.5: Parameter Problem code 0 pointing at the Payload Length field.
                _stats.Drop(DropReason.Ipv6ReassemblyBadLength);
                SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.ErroneousHeaderField, 4, link, now);
                return;
            case ReassemblyOutcome.TooLarge:
                // RFC 8200 §4.5: Parameter Problem code 0 pointing at the Fragment Offset field.
                _stats.Drop(DropReason.Ipv6ReassemblyTooLarge);
                SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.ErroneousHeaderField,
                    (uint)(fragmentOffset + 2), link, now);
                return;
            case ReassemblyOutcome.Overlap:
            case ReassemblyOutcome.AlreadyDiscarded:
                _stats.Drop(DropReason.Ipv6ReassemblyOverlap); // RFC 5722: silently
                return;
            case ReassemblyOutcome.Duplicate:
                _stats.Drop(DropReason.Ipv6ReassemblyDuplicate);
                return;
            case ReassemblyOutcome.Inconsistent:
                _stats.Drop(DropReason.Ipv6ReassemblyInconsistent);
                return;
            default:
                _stats.Drop(DropReason.Ipv6ReassemblyLimit);
                return;
        }
    }

    /// <summary>Hands the upper-layer payload to ICMPv6 or the transports (raw sockets see copies).</summary>
    private void DeliverUp(Ipv6Interface ifc, in Ipv6Packet ip, ReadOnlySpan<byte> packet, in Ipv6HeaderChain chain, in LinkInfo link, Instant now)
    {
        var payload = packet[chain.ProtocolOffset..];
        var info = new IpPacketInfo(ip.Source, ip.Destination, chain.Protocol, ip.HopLimit, ip.TrafficClass, ip.FlowLabel,
            ifc.Index, ip.Destination.IsMulticast || link.IsLinkBroadcastOrMulticast)
        { ChecksumTrusted = link.ChecksumTrusted, GsoSize = link.GsoSize };
        if (chain.Protocol == IpProtocol.Icmpv6)
        {
            _context.Delivery.DeliverLocal(info, payload, now, out _);
            HandleIcmp(ifc, ip, packet, payload, link, now);
            return;
        }
        var verdict = _context.Delivery.DeliverLocal(info, payload, now, out bool unknown);
        if (unknown)
        {
            // RFC 8200 §4: an unrecognized Next Header: Parameter Problem code 1 pointing at the field that named it.
            _stats.Drop(DropReason.Ipv6UnknownNextHeader);
            SendIcmpError(ifc, packet, Icmpv6Type.ParameterProblem, (byte)Icmpv6ParameterProblemCode.UnrecognizedNextHeader,
                (uint)chain.NextHeaderFieldOffset, link, now);
            return;
        }
        if (verdict == TransportVerdict.PortUnreachable)
        {
            // RFC 4443 §3.1 code 4 (never for multicast destinations: §2.4(e)).
            SendIcmpError(ifc, packet, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6UnreachableCode.PortUnreachable, 0, link, now);
        }
    }

    /// <summary>
    /// Forwarding (RFC 8200 §3, RFC 4443): hop limit expired -> Time Exceeded code 0; no route -> Destination
    /// Unreachable code 0; larger than the next link -> Packet Too Big with that link's MTU; else hop limit - 1 and out.
    /// Link-local sources and destinations are never forwarded (RFC 4291 §2.5.6).
    /// </summary>
    private void Forward(Ipv6Interface ifc, ReadOnlySpan<byte> packet, in Ipv6HeaderChain chain, in LinkInfo link, Instant now)
    {
        if (!Ipv6Packet.TryParse(packet, out var p, out _)) return;
        if (link.IsLinkBroadcastOrMulticast)
        {
            _stats.Drop(DropReason.Ipv6NotForUs);
            return;
        }
        var src = p.Source;
        var dst = p.Destination;
        if (dst.IsLinkLocal || src.IsLinkLocal || src.IsUnspecified)
        {
            // RFC 4443 §3.1 code 2: beyond scope of source address.
            _stats.Drop(DropReason.Ipv6NotForUs);
            if (dst.IsLinkLocal is false && src.IsLinkLocal)
                SendIcmpError(ifc, packet, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6UnreachableCode.BeyondScopeOfSource, 0, link, now);
            return;
        }
        if (p.HopLimit <= 1)
        {
            _stats.Drop(DropReason.Ipv6HopLimitExpired);
            SendIcmpError(ifc, packet, Icmpv6Type.TimeExceeded, (byte)Icmpv6TimeExceededCode.HopLimitExceeded, 0, link, now);
            return;
        }
        if (!TryRoute(dst, -1, now, out var outIfc, out var nextHop, FlowHash.Of(src, dst, p.NextHeader, p.Payload, p.FlowLabel)))
        {
            _stats.Drop(DropReason.Ipv6NoRoute);
            SendIcmpError(ifc, packet, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6UnreachableCode.NoRoute, 0, link, now);
            return;
        }
        bool segmentsFit = link.GsoSize > 0
            && Ipv6Packet.HeaderLength + TransmitOffloads.TransportHeaderLength(p.NextHeader, p.Payload) + link.GsoSize <= outIfc.LinkMtu;
        if (link.GsoSize > 0 && packet.Length > outIfc.LinkMtu && segmentsFit && p.NextHeader is IpProtocol.Tcp or IpProtocol.Udp)
        {
            // A super-frame the device coalesced (GRO) whose segments fit the next hop: forwarded as the same super-frame,
            // whole to a device with TSO/USO, cut in software for any other (Linux: ip6_forward with
            // skb_gso_validate_network_len). Segments too large for the next hop earn Packet Too Big below (RFC 4443 §3.2).
            if (outIfc == ifc) MaybeSendRedirect(ifc, packet, src, dst, nextHop, now);
            var big = outIfc.Link.RentBuffer(packet.Length);
            try
            {
                int o = NetworkInterface.Headroom;
                var copy = big.AsSpan(o, packet.Length);
                packet.CopyTo(copy);
                copy[7] = (byte)(p.HopLimit - 1); // RFC 8200 §3
                if (!TransmitOffloads.TryDescribeForwarded(copy, v4: false, Ipv6Packet.HeaderLength, p.NextHeader, link, out var offload, out _))
                {
                    _stats.Drop(DropReason.OffloadSuperFrameNotForwarded);
                    return;
                }
                _stats.Ipv6PacketsForwarded++;
                _stats.SuperFramesForwarded++;
                Deliver(outIfc, nextHop, dst, big, o, packet.Length, now, offload);
            }
            finally
            {
                NetworkInterface.ReturnBuffer(big);
            }
            return;
        }
        if (link.GsoSize > 0 && packet.Length > outIfc.LinkMtu && p.NextHeader is not (IpProtocol.Tcp or IpProtocol.Udp))
        {
            // A super-frame behind extension headers: not described as one here; a counted drop.
            _stats.Drop(DropReason.OffloadSuperFrameNotForwarded);
            return;
        }
        if (packet.Length > outIfc.LinkMtu)
        {
            // RFC 8200 §5 / RFC 4443 §3.2: routers never fragment; Packet Too Big carries the next link's MTU.
            _stats.Drop(DropReason.Ipv6PacketTooBig);
            SendIcmpError(ifc, packet, Icmpv6Type.PacketTooBig, 0, (uint)outIfc.LinkMtu, link, now, allowMulticastDestination: true);
            return;
        }
        // RFC 4861 §8.2: a packet leaving by the interface it came in on, from an on-link neighbour, earns a Redirect.
        if (outIfc == ifc) MaybeSendRedirect(ifc, packet, src, dst, nextHop, now);
        var buffer = outIfc.Link.RentBuffer();
        try
        {
            int o = NetworkInterface.Headroom;
            packet.CopyTo(buffer.AsSpan(o));
            ReceiveOffloads.CompleteChecksum(buffer.AsSpan(o, packet.Length), link); // a partially checksummed packet leaves whole
            buffer[o + 7] = (byte)(p.HopLimit - 1); // RFC 8200 §3: decremented by 1 by each node that forwards
            _stats.Ipv6PacketsForwarded++;
            Deliver(outIfc, nextHop, dst, buffer, o, packet.Length, now);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// RFC 4861 §8.2: tells an on-link sender of a better first hop for <paramref name="dst"/>: the next router
    /// (by its link-local address) or the destination itself when it is on-link. Rate limited with the ICMPv6
    /// errors; carries our knowledge of the target's link-layer address and as much of the packet as fits 1280 bytes.
    /// </summary>
    private void MaybeSendRedirect(Ipv6Interface ifc, ReadOnlySpan<byte> packet, Ipv6Address src, Ipv6Address dst, Ipv6Address nextHop, Instant now)
    {
        // §8.2: the source must be a neighbour (link-local, or in an on-link prefix of this interface).
        bool neighbour = src.IsLinkLocal || (_prefixes.TryMatch(src, ifc.Index, now, out var p) && p.InterfaceIndex == ifc.Index);
        // §8.2 / §4.5: the target is the destination itself (on-link) or a router's link-local address.
        bool validTarget = nextHop == dst || nextHop.IsLinkLocal;
        if (!neighbour || !validTarget || dst.IsMulticast || nextHop == src) return;
        if (!ifc.TryGetUsableLinkLocal(out var ourLinkLocal)) return;
        if (!_icmpErrors.TryTake(now)) { _stats.Drop(DropReason.IcmpRateLimited); return; }
        var options = new List<NdpOptionRepr>(2);
        if (ifc.IsEthernet && ifc.Neighbors.TryGetState(nextHop, out var st, out var mac) && st != NeighborState.Incomplete)
            options.Add(NdpOptionRepr.TargetLinkLayer(mac));
        // 40 (IPv6) + 40 (Redirect) + 8 (target link-layer option) + 8 (Redirected Header option header) + quote <= 1280.
        int room = (Ipv6Packet.MinimumMtu - 40 - 40 - 8 - 8) & ~7;
        options.Add(NdpOptionRepr.RedirectedHeader(packet[..Math.Min(packet.Length, room)].ToArray()));
        var repr = new RedirectRepr(nextHop, dst, options.ToArray());
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, ourLinkLocal, src);
        SendNdp(ifc, ourLinkLocal, src, src, message, now);
    }
}
