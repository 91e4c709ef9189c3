using System.Buffers;
using NetStack.Link;
using NetStack.Network.Fragmentation;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
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
        if (!destination.IsV4 || !source.IsV4 && !source.IsUnspecified) return IpSendResult.NoRoute;
        var src = source.IsV4 ? source.V4 : Ipv4Address.Any;
        byte ttl = options.Ttl != 0 ? options.Ttl : _options.DefaultHopLimit;
        var headerOptions = options.HeaderOptions;
        return SendDatagram(src, destination.V4, protocol, transportPayload, ttl, options.TrafficClass,
            options.DontFragment, options.InterfaceIndex, now, headerOptions.Span, options.DontFragment && options.IgnorePathMtu, options,
            inPlace, inPlaceOffset);
    }

    /// <summary>
    /// Originates one datagram (RFC 1122 §3.3): route, source selection, loopback to ourselves, DF, fragmentation
    /// under the path MTU, neighbour resolution. <paramref name="source"/> unspecified = choose. <paramref name="headerOptions"/>
    /// is a well-formed options area of at most 40 bytes (validated by <see cref="IpHeaderOptions"/>); its Record Route and
    /// Timestamp options are stamped with the chosen source as the datagram leaves (RFC 791 §3.1).
    /// <paramref name="inPlace"/>, when given, is the buffer <paramref name="payload"/> lies in, at <paramref name="inPlaceOffset"/>
    /// with <see cref="IpSendBuffers.TransportHeadroom"/> free before it: a datagram that leaves whole gets its header, and
    /// the link header, written there, and the payload is not copied (<see cref="IIpLayer.SendInPlace"/>).
    /// </summary>
    internal IpSendResult SendDatagram(Ipv4Address source, Ipv4Address destination, IpProtocol protocol,
        ReadOnlySpan<byte> payload, byte ttl, byte tos, bool dontFragment, int interfaceIndex, Instant now,
        ReadOnlySpan<byte> headerOptions = default, bool ignorePathMtu = false, in IpSendOptions offloads = default,
        byte[]? inPlace = null, int inPlaceOffset = 0)
    {
        if (headerOptions.Length > Wire.Ipv4Options.MaxLength) return IpSendResult.TooBig;
        // RFC 791 §3.1: Total Length is 16 bits.
        if (payload.Length > 65535 - Ipv4Packet.MinHeaderLength - Wire.Ipv4Options.PaddedLength(headerOptions.Length))
            return IpSendResult.TooBig;
        if (!source.IsUnspecified && !Addresses.IsLocal(source)) return IpSendResult.NoSourceAddress;
        Span<byte> options = stackalloc byte[Wire.Ipv4Options.MaxLength];
        headerOptions.CopyTo(options);
        options = options[..headerOptions.Length];

        int ipHeader = Ipv4Packet.MinHeaderLength + Wire.Ipv4Options.PaddedLength(options.Length);
        var offload = TransmitOffloads.Describe(offloads, protocol, v4: true, ipHeader, payload, out int segments, out int segmentPacket);

        if (Addresses.TryFindLocal(destination, out int localIndex) && Interface(localIndex) is { } self)
        {
            var from = source.IsUnspecified ? destination : source;
            if (!options.IsEmpty) Ipv4OptionStamp.Stamp(options, from, Ipv4OptionStamp.Timestamp(now));
            return SendToSelf(self, from, destination, protocol, payload, ttl, tos, dontFragment, options, now, offload, segments);
        }

        if (!TryRoute(destination, interfaceIndex, out var route) || Interface(route.InterfaceIndex) is not { } oif)
        {
            _stats.Drop(DropReason.Ipv4NoRoute);
            return IpSendResult.NoRoute;
        }
        if (source.IsUnspecified && !TrySelectSource(destination, interfaceIndex, out source))
        {
            // Before the host has an address: RFC 2131 §4.1, a DHCP client sends from 0.0.0.0 to the limited broadcast;
            // RFC 3376 §4.2.13, "the 0.0.0.0 source address may be used by a system that has not yet acquired an IP
            // address" for IGMP reports, so multicast out of a chosen interface may come from it too (as Linux).
            if (!destination.IsBroadcast && !(destination.IsMulticast && interfaceIndex >= 0)) return IpSendResult.NoSourceAddress;
            source = Ipv4Address.Any;
        }
        // RFC 791 §3.1: the originating module records itself in Record Route / Timestamp, as Linux's ip_options_build.
        if (!options.IsEmpty) Ipv4OptionStamp.Stamp(options, source, Ipv4OptionStamp.Timestamp(now));
        var nextHop = route.NextHop(destination);
        MacAddress? linkDestination = LinkDestinationFor(oif, destination, nextHop);
        // IgnorePathMtu (Linux IP_PMTUDISC_PROBE): the link's MTU, never a learned smaller path MTU.
        int mtu = linkDestination.HasValue || ignorePathMtu ? oif.Link.Mtu : PathMtu.Get(destination, oif.Link.Mtu, now);
        var repr = new Ipv4Repr(source, destination, protocol, payload.Length, ttl, tos, _nextIdentification++, dontFragment,
            OptionsLength: options.Length);
        // A super-segment's packets take consecutive Identifications (Linux's TSO/GSO increments the ID per segment).
        if (segments > 1) _nextIdentification += (ushort)(segments - 1);

        // A super-segment leaves whole when each of its segments fits the path MTU (the device or the link layer cuts it).
        if (segmentPacket <= mtu)
        {
            int start = inPlaceOffset - ipHeader;
            if (inPlace is not null && start >= NetworkInterface.Headroom)
            {
                // In place: the header goes in the headroom in front of the payload, which stays where the transport wrote it.
                repr.Write(inPlace.AsSpan(start), options);
                return Output(oif, nextHop, linkDestination, inPlace, start, repr.BufferLength, now, offload);
            }
            var buffer = oif.Link.RentBuffer(repr.BufferLength);
            try
            {
                int hl = repr.Write(buffer.AsSpan(NetworkInterface.Headroom), options);
                payload.CopyTo(buffer.AsSpan(NetworkInterface.Headroom + hl));
                return Output(oif, nextHop, linkDestination, buffer, repr.BufferLength, now, offload);
            }
            finally
            {
                NetworkInterface.ReturnBuffer(buffer);
            }
        }
        // RFC 1191 §3 / RFC 1122 §3.3.3: with DF set we never fragment; the transport must send smaller datagrams.
        if (dontFragment) return IpSendResult.TooBig;
        if (offload != default)
        {
            // Fragmentation needs whole packets: each segment (its checksum complete) is sent, and fragmented, on its own.
            return SendSegmentsSeparately(repr, options, payload, offload, interfaceIndex, ignorePathMtu, now);
        }
        return EmitFragments(oif, nextHop, linkDestination, repr, options, payload, mtu, now);
    }

    /// <summary>A super-segment or partially checksummed datagram that cannot leave whole: its wire packets, each on its own.
    /// (Apart from <see cref="SendDatagram"/>, so that its closure is allocated only on this rare path.)</summary>
    private IpSendResult SendSegmentsSeparately(Ipv4Repr repr, ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload, in VirtioNetHeader offload,
        int interfaceIndex, bool ignorePathMtu, Instant now)
    {
        var whole = ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int hl = repr.Write(whole, options);
            payload.CopyTo(whole.AsSpan(hl));
            var opts = options.ToArray();
            return TransmitOffloads.ForEachPacket(whole.AsSpan(0, repr.BufferLength), offload, p =>
                SendDatagram(repr.Source, repr.Destination, repr.Protocol, p[hl..], repr.Ttl, repr.Tos, repr.DontFragment, interfaceIndex, now, opts, ignorePathMtu));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(whole);
        }
    }

    /// <summary>Loopback: a datagram to one of our own addresses is received again at once, without a link.</summary>
    private IpSendResult SendToSelf(Ipv4Interface self, Ipv4Address source, Ipv4Address destination, IpProtocol protocol,
        ReadOnlySpan<byte> payload, byte ttl, byte tos, bool dontFragment, ReadOnlySpan<byte> options, Instant now,
        in VirtioNetHeader offload = default, int segments = 1)
    {
        var repr = new Ipv4Repr(source, destination, protocol, payload.Length, ttl, tos, _nextIdentification++, dontFragment,
            OptionsLength: options.Length);
        if (segments > 1) _nextIdentification += (ushort)(segments - 1);
        var buffer = ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int hl = repr.Write(buffer, options);
            payload.CopyTo(buffer.AsSpan(hl));
            // Loopback has no device to finish the packet: its segments, checksums complete, are received one by one.
            if (offload != default) return ReceiveSegments(self, buffer.AsSpan(0, repr.BufferLength), offload, now);
            _stats.Ipv4PacketsSent++;
            ReceiveIp(self, buffer.AsSpan(0, repr.BufferLength), default, loopback: true, now);
            return IpSendResult.Sent;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private IpSendResult ReceiveSegments(Ipv4Interface self, ReadOnlySpan<byte> packet, in VirtioNetHeader offload, Instant now) =>
        TransmitOffloads.ForEachPacket(packet, offload, p =>
        {
            _stats.Ipv4PacketsSent++;
            ReceiveIp(self, p, default, loopback: true, now);
            return IpSendResult.Sent;
        });

    /// <summary>
    /// RFC 791 §3.2 fragmentation of <paramref name="payload"/> described by <paramref name="repr"/> (whose offset and MF
    /// are those of the datagram being split, non-zero when a router re-fragments a fragment). The first fragment
    /// carries all <paramref name="options"/>; later ones only those with the copy flag (RFC 791 §3.1).
    /// </summary>
    private IpSendResult EmitFragments(Ipv4Interface oif, Ipv4Address nextHop, MacAddress? linkDestination, in Ipv4Repr repr,
        ReadOnlySpan<byte> options, ReadOnlySpan<byte> payload, int mtu, Instant now)
    {
        Span<byte> copied = stackalloc byte[Wire.Ipv4Options.MaxLength];
        int copiedLength = Ipv4Family.CopiedOptions(options, copied);
        int firstHeader = Ipv4Packet.MinHeaderLength + Wire.Ipv4Options.PaddedLength(options.Length);
        int laterHeader = Ipv4Packet.MinHeaderLength + Wire.Ipv4Options.PaddedLength(copiedLength);
        var buffer = oif.Link.RentBuffer();
        var result = IpSendResult.TooBig; // an empty plan: the MTU leaves no room for 8 data bytes
        try
        {
            foreach (var f in FragmentPlan.Create(payload.Length, mtu, firstHeader, laterHeader, repr.MoreFragments))
            {
                var opts = f.IsFirst ? options : copied[..copiedLength];
                var fragment = repr with
                {
                    PayloadLength = f.Length,
                    MoreFragments = f.More,
                    FragmentOffset = repr.FragmentOffset + f.Offset,
                    DontFragment = false,
                    OptionsLength = opts.Length,
                };
                int hl = fragment.Write(buffer.AsSpan(NetworkInterface.Headroom), opts);
                payload.Slice(f.Offset, f.Length).CopyTo(buffer.AsSpan(NetworkInterface.Headroom + hl));
                _stats.FragmentsCreated++;
                result = Output(oif, nextHop, linkDestination, buffer, hl + f.Length, now);
                if (result != IpSendResult.Sent) break;
            }
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
        return result;
    }

    /// <summary>The link destination that needs no resolution: broadcast for limited and directed broadcasts
    /// (RFC 1122 §3.3.6), the mapped group address for multicast (RFC 1112 §6.4); null = resolve the next hop by ARP.</summary>
    private MacAddress? LinkDestinationFor(Ipv4Interface oif, Ipv4Address destination, Ipv4Address nextHop)
    {
        if (destination.IsBroadcast || Addresses.IsDirectedBroadcast(destination, oif.Index)) return MacAddress.Broadcast;
        if (destination.IsMulticast) return MacAddress.ForIpv4Multicast(destination);
        if (nextHop != destination && Addresses.IsDirectedBroadcast(nextHop, oif.Index)) return MacAddress.Broadcast;
        return null;
    }

    /// <summary>Hands the IPv4 packet at buffer[Headroom..+length] to the link: now, or queued behind ARP resolution.</summary>
    private IpSendResult Output(Ipv4Interface oif, Ipv4Address nextHop, MacAddress? linkDestination, byte[] buffer, int length, Instant now,
        in VirtioNetHeader offload = default) =>
        Output(oif, nextHop, linkDestination, buffer, NetworkInterface.Headroom, length, now, offload);

    /// <summary>Hands the IPv4 packet at buffer[offset..+length] (offset &gt;= <see cref="NetworkInterface.Headroom"/>) to the link.</summary>
    private IpSendResult Output(Ipv4Interface oif, Ipv4Address nextHop, MacAddress? linkDestination, byte[] buffer, int offset, int length, Instant now,
        in VirtioNetHeader offload)
    {
        _stats.Ipv4PacketsSent++;
        var link = oif.Link;
        if (link.Medium == Medium.Ip || oif.Arp is null)
        {
            link.Transmit(MacAddress.Zero, EtherType.Ipv4, buffer, offset, length, now, offload);
            return IpSendResult.Sent;
        }
        if (linkDestination is { } fixedMac)
        {
            link.Transmit(fixedMac, EtherType.Ipv4, buffer, offset, length, now, offload);
            return IpSendResult.Sent;
        }
        switch (oif.Arp.Resolve(nextHop, now, out var mac))
        {
            case NeighborLookup.Known:
                link.Transmit(mac, EtherType.Ipv4, buffer, offset, length, now, offload);
                return IpSendResult.Sent;
            case NeighborLookup.Pending:
                // RFC 1122 §2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the latest)
                // packet of each set of packets destined to the same unresolved IP address" — we keep a bounded queue.
                // Queued packets are whole wire packets: a super-segment waits as its segments.
                if (offload != default) return EnqueueSegments(oif.Arp, nextHop, buffer.AsSpan(offset, length), offload);
                return oif.Arp.Enqueue(nextHop, EtherType.Ipv4, buffer.AsSpan(offset, length))
                    ? IpSendResult.Sent : IpSendResult.QueueFull;
            default:
                return IpSendResult.QueueFull;
        }
    }

    private static IpSendResult EnqueueSegments(NeighborCache<Ipv4Address> arp, Ipv4Address nextHop, ReadOnlySpan<byte> packet, in VirtioNetHeader offload) =>
        TransmitOffloads.ForEachPacket(packet, offload, p => arp.Enqueue(nextHop, EtherType.Ipv4, p) ? IpSendResult.Sent : IpSendResult.QueueFull);
}
