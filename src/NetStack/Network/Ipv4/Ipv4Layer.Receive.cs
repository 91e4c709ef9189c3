using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
    public void Receive(NetworkInterface iface, EtherType etherType, ReadOnlySpan<byte> packet, in LinkInfo link, Instant now)
    {
        var v4 = Interface(iface.Index);
        if (v4 is null)
        {
            _stats.Drop(DropReason.Ipv4NotForUs);
            return;
        }
        if (etherType == EtherType.Arp)
        {
            ReceiveArp(v4, packet, link, now);
            return;
        }
        ReceiveIp(v4, packet, link, loopback: false, now);
    }

    /// <summary>RFC 1122 §3.2.1: validate, then deliver locally, reassemble, forward or drop.</summary>
    private void ReceiveIp(Ipv4Interface v4, ReadOnlySpan<byte> packet, in LinkInfo link, bool loopback, Instant now)
    {
        // RFC 1122 §3.2.1.1-3.2.1.2 and RFC 791 §3.1: version 4, IHL >= 5, total length covering the header
        // and inside the frame, well-formed options (walked and validated, then ignored).
        if (!Ipv4Packet.TryParse(packet, out var ip, out var error))
        {
            _stats.Drop(error == WireError.BadOption ? DropReason.Ipv4BadOptions : DropReason.Ipv4Malformed);
            return;
        }
        // RFC 1122 §3.2.1.2: "A host MUST verify the IP header checksum on every received datagram and silently
        // discard every datagram that has a bad checksum."
        if (!ip.ChecksumValid)
        {
            _stats.Drop(DropReason.Ipv4BadChecksum);
            return;
        }
        _stats.Ipv4PacketsReceived++;

        var source = ip.Source;
        var destination = ip.Destination;
        // RFC 1122 §3.2.1.3: discard a datagram whose source is a broadcast or multicast address (and Linux's martian
        // rules: class E, loopback, a subnet broadcast of ours, one of our own addresses from the wire). 0.0.0.0 is allowed only as
        // "this host on this network" talking to us or to broadcast (DHCP, RFC 2131 §4.1).
        if (source.IsMulticast || source.IsBroadcast || source.IsReserved || source.IsLoopback
            || Addresses.IsDirectedBroadcast(source) || !loopback && Addresses.IsLocal(source))
        {
            _stats.Drop(DropReason.Ipv4BadSource);
            return;
        }
        // RFC 1122 §3.2.1.3 / RFC 1812 §5.3.7: 0.0.0.0, 127/8 and class E are never valid destinations on a link.
        if (!loopback && (destination.IsUnspecified || destination.IsLoopback || destination.IsReserved))
        {
            _stats.Drop(DropReason.Ipv4BadDestination);
            return;
        }
        // Options are walked (validated by the parse) and handed up with the datagram (RFC 1122 §3.2.1.8), except source
        // routes: Linux drops them (accept_source_route=0), which also spares us RFC 1122 §3.2.2.6's reversed-route echo reply.
        if (ip.HeaderLength > Ipv4Packet.MinHeaderLength && HasSourceRoute(ip))
        {
            _stats.Drop(DropReason.Ipv4SourceRouted);
            return;
        }
        var kind = Addresses.Classify(destination, v4.Index);
        // RFC 2131 §4.1: a server may unicast the OFFER/ACK to the address it is offering, before the client has it.
        // While an interface has no IPv4 address, unicast UDP for anyone is delivered (as lwIP does for DHCP; Linux
        // clients read these through packet sockets); the UDP layer decides whether a socket wants it.
        if (kind == Ipv4DestinationKind.NotLocal && !v4.Forwarding && ip.Protocol == IpProtocol.Udp
            && !Addresses.TryGetPrimary(v4.Index, out _))
            kind = Ipv4DestinationKind.Local;
        if (source.IsUnspecified && kind == Ipv4DestinationKind.NotLocal)
        {
            _stats.Drop(DropReason.Ipv4BadSource);
            return;
        }
        if (kind == Ipv4DestinationKind.NotLocal)
        {
            if (v4.Forwarding)
            {
                Forward(v4, ip, link, now);
                return;
            }
            // RFC 1122 §3.3.4.2 / §3.3.1.1: a host silently discards datagrams not addressed to it.
            _stats.Drop(DropReason.Ipv4NotForUs);
            return;
        }

        // RFC 1112 §6.4 / RFC 1122 §3.3.7: a host delivers a multicast datagram only when its group is joined on the
        // receiving interface (224.0.0.1 always); the rest is discarded (our own looped-back datagrams excepted).
        if (kind == Ipv4DestinationKind.Multicast && !loopback && !v4.Listens(destination))
        {
            _stats.Drop(DropReason.Ipv4MulticastNotJoined);
            return;
        }
        // RFC 3376 §3.2: the interface state's source filter decides which sources of a joined group are received
        // (INCLUDE: listed ones; EXCLUDE: all but the listed). IGMP itself is exempt, as in Linux: group-specific
        // queries come to the group from the querier, whatever our filter.
        if (kind == Ipv4DestinationKind.Multicast && !loopback && ip.Protocol != IpProtocol.Igmp && !v4.Listens(destination, source))
        {
            _stats.Drop(DropReason.MulticastSourceFiltered);
            return;
        }

        if (ip.IsFragment)
        {
            Reassemble(v4, ip, link, kind, now);
            return;
        }
        DeliverLocal(v4, ip, link, kind, now);
    }

    private static bool HasSourceRoute(in Ipv4Packet ip)
    {
        foreach (var option in ip.EnumerateOptions())
            if (option.Type is Wire.Ipv4OptionType.LooseSourceRoute or Wire.Ipv4OptionType.StrictSourceRoute) return true;
        return false;
    }

    /// <summary>RFC 791 §3.2 / RFC 1122 §3.3.2: reassemble fragments addressed to us; bounded, counted.</summary>
    private void Reassemble(Ipv4Interface v4, in Ipv4Packet ip, in LinkInfo link, Ipv4DestinationKind kind, Instant now)
    {
        var key = new Ipv4FragmentKey(ip.Source, ip.Destination, ip.Protocol, ip.Identification);
        var outcome = Reassembler.Add(key, ip.Header, ip.FragmentOffset, ip.MoreFragments, ip.Payload, v4.Index, now, out var datagram);
        switch (outcome)
        {
            case ReassemblyOutcome.Incomplete:
                return;
            case ReassemblyOutcome.Duplicate:
                _stats.Drop(DropReason.Ipv4FragmentDuplicate);
                return;
            case ReassemblyOutcome.Overlap:
            case ReassemblyOutcome.Inconsistent:
                _stats.Drop(DropReason.Ipv4ReassemblyOverlap);
                return;
            case ReassemblyOutcome.TooLarge:
                _stats.Drop(DropReason.Ipv4ReassemblyTooLarge);
                return;
            case ReassemblyOutcome.LimitReached:
                _stats.Drop(DropReason.Ipv4ReassemblyLimit);
                return;
            case ReassemblyOutcome.Malformed:
                _stats.Drop(DropReason.Ipv4Malformed);
                return;
        }
        try
        {
            _stats.FragmentsReassembled++;
            // The datagram's header is the first fragment's (RFC 791 §3.2), rewritten as an unfragmented one so that
            // an ICMP error about the datagram quotes a consistent header (as Linux's ip_frag_reasm does).
            var header = datagram.Header;
            if (!Ipv4Packet.TryParse(datagram.Datagram, out var first, out _))
            {
                _stats.Drop(DropReason.Ipv4Malformed);
                return;
            }
            var repr = first.ToRepr() with
            {
                PayloadLength = datagram.PayloadLength,
                MoreFragments = false,
                FragmentOffset = 0,
                DontFragment = first.DontFragment,
            };
            if (repr.HeaderLength != header.Length)
            {
                _stats.Drop(DropReason.Ipv4Malformed);
                return;
            }
            Span<byte> options = stackalloc byte[Wire.Ipv4Options.MaxLength];
            first.Options.CopyTo(options);
            repr.Write(header, options[..first.Options.Length]);
            if (!Ipv4Packet.TryParse(datagram.Datagram, out var whole, out _))
            {
                _stats.Drop(DropReason.Ipv4Malformed);
                return;
            }
            DeliverLocal(v4, whole, link, kind, now);
        }
        finally
        {
            datagram.Release();
        }
    }

    /// <summary>Reassembly gave up: RFC 792 / RFC 1122 §3.3.2 time exceeded code 1, only if fragment zero arrived.</summary>
    private void OnReassemblyTimeout(in Ipv4FragmentKey key, ReadOnlySpan<byte> firstFragment, int interfaceIndex)
    {
        _stats.Drop(DropReason.Ipv4ReassemblyTimeout);
        if (firstFragment.IsEmpty) return;
        if (!Ipv4Packet.TryParse(firstFragment, out var ip, out _)) return;
        SendIcmpError(ip, interfaceIndex, linkBroadcast: false, Icmpv4Type.TimeExceeded,
            (byte)Icmpv4TimeExceededCode.FragmentReassemblyTimeExceeded, 0, _context.Clock.Now);
    }

    /// <summary>Hands a whole datagram for us to the stack's local delivery (raw sockets, then the transport registered for
    /// its protocol), and ICMP to our own handling (RFC 1122 §3.2.1.*).</summary>
    private void DeliverLocal(Ipv4Interface v4, in Ipv4Packet ip, in LinkInfo link, Ipv4DestinationKind kind, Instant now)
    {
        bool broadcast = kind != Ipv4DestinationKind.Local;
        var info = new IpPacketInfo(ip.Source, ip.Destination, ip.Protocol, ip.Ttl, ip.Tos, 0, v4.Index, broadcast)
        {
            // RFC 1122 §3.2.1.8: every option but NOP and END-OF-LIST goes up to the transport (and to ICMP below).
            HeaderOptions = IpHeaderOptions.FromHeader(ip.Options),
            ChecksumTrusted = link.ChecksumTrusted,
            GsoSize = link.GsoSize,
        };
        var verdict = _context.Delivery.DeliverLocal(info, ip.Payload, now, out bool unknownProtocol);
        if (ip.Protocol == IpProtocol.Icmp)
        {
            ReceiveIcmp(v4, ip, link, kind, now);
            return;
        }
        if (ip.Protocol == IpProtocol.Igmp)
        {
            ReceiveIgmp(v4, ip, now);
            return;
        }
        if (unknownProtocol)
        {
            // RFC 1122 §3.2.2.1: a host SHOULD generate Protocol Unreachable for a protocol it does not implement
            // (the drop is counted by the stack).
            SendIcmpError(ip, v4.Index, link.IsLinkBroadcastOrMulticast, Icmpv4Type.DestinationUnreachable,
                (byte)Icmpv4UnreachableCode.ProtocolUnreachable, 0, now, broadcast);
            return;
        }
        if (verdict == TransportVerdict.PortUnreachable)
        {
            // RFC 1122 §4.1.3.1 / §3.2.2.1: port unreachable, under the same restrictions as every error.
            SendIcmpError(ip, v4.Index, link.IsLinkBroadcastOrMulticast, Icmpv4Type.DestinationUnreachable,
                (byte)Icmpv4UnreachableCode.PortUnreachable, 0, now, broadcast);
        }
    }
}
