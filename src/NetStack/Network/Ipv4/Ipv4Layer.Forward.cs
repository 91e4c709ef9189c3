using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
    /// <summary>Router mode (RFC 1812 §5.2-5.3): a datagram not for us, arriving on a forwarding interface.</summary>
    private void Forward(Ipv4Interface inbound, in Ipv4Packet ip, in LinkInfo link, Instant now)
    {
        // RFC 1812 §5.3.4 / RFC 1122 §3.3.6: a datagram received as a link-layer broadcast or multicast is never forwarded.
        if (link.IsLinkBroadcastOrMulticast)
        {
            _stats.Drop(DropReason.Ipv4NotForUs);
            return;
        }
        // RFC 1812 §5.3.1: "a router MUST NOT forward a datagram with a TTL of 0 or 1"; it sends Time Exceeded (code 0).
        if (ip.Ttl <= 1)
        {
            _stats.Drop(DropReason.Ipv4TtlExpired);
            SendIcmpError(ip, inbound.Index, false, Icmpv4Type.TimeExceeded, (byte)Icmpv4TimeExceededCode.TtlExceededInTransit, 0, now);
            return;
        }
        var destination = ip.Destination;
        if (!Routes.TryLookup(destination, out var route, -1, FlowHash.Of(ip)) || Interface(route.InterfaceIndex) is not { } outbound)
        {
            // RFC 1812 §5.2.7.1: no route -> Destination Unreachable, network unreachable (code 0).
            _stats.Drop(DropReason.Ipv4NoRoute);
            SendIcmpError(ip, inbound.Index, false, Icmpv4Type.DestinationUnreachable, (byte)Icmpv4UnreachableCode.NetUnreachable, 0, now);
            return;
        }
        // RFC 2644: directed broadcasts are not forwarded by default (Linux bc_forwarding=0).
        if (Addresses.IsDirectedBroadcast(destination, outbound.Index))
        {
            _stats.Drop(DropReason.Ipv4NotForUs);
            return;
        }
        var nextHop = route.NextHop(destination);
        // RFC 1812 §5.2.7.2: a datagram leaving by the interface it came in on, from a source on the same subnet as the
        // next hop, earns a (host) Redirect to that next hop; the datagram is still forwarded. Linux sends them too.
        if (outbound == inbound && Addresses.SharesSubnet(inbound.Index, ip.Source, nextHop))
            SendIcmpError(ip, inbound.Index, false, Icmpv4Type.Redirect, (byte)Icmpv4RedirectCode.Host, nextHop.Value, now);
        // RFC 1812 §5.3.13.3-4: a router records itself in Record Route and Timestamp options of forwarded datagrams, with
        // "its own internet address as known in the environment into which this datagram is being forwarded" (RFC 791 §3.1).
        Span<byte> options = stackalloc byte[Ipv4Options.MaxLength];
        options = options[..ip.Options.Length];
        ip.Options.CopyTo(options);
        Ipv4Address stampAddress = default;
        bool stamp = !options.IsEmpty && Addresses.TrySelectSource(outbound.Index, nextHop, out stampAddress);
        if (stamp) Ipv4OptionStamp.Stamp(options, stampAddress, Ipv4OptionStamp.Timestamp(now));
        int mtu = outbound.Link.Mtu;
        if (link.GsoSize > 0 && ip.TotalLength > mtu && !ip.IsFragment
            && ip.HeaderLength + TransmitOffloads.TransportHeaderLength(ip.Protocol, ip.Payload) + link.GsoSize <= mtu)
        {
            // A super-frame the device coalesced (GRO) whose segments fit the next hop: forwarded as the same super-frame,
            // whole to a device with TSO/USO, cut in software for any other (Linux: ip_forward with
            // skb_gso_validate_network_len, then validate_xmit_skb). Segments that would not fit are handled below, as the
            // packet they stand for (RFC 1191 Fragmentation Needed with DF).
            ForwardSuperFrame(outbound, nextHop, ip, options, stamp, link, now);
            return;
        }
        if (link.GsoSize > 0 && ip.TotalLength > mtu && (!ip.DontFragment || ip.HeaderLength + TransmitOffloads.TransportHeaderLength(ip.Protocol, ip.Payload) + link.GsoSize <= mtu))
        {
            // Without DF, segments larger than the next hop would have to be fragmented one by one (Linux's
            // ip_finish_output_gso), and a super-frame of another transport cannot be described: not done, a counted drop.
            _stats.Drop(DropReason.OffloadSuperFrameNotForwarded);
            return;
        }
        if (ip.TotalLength > mtu)
        {
            if (ip.DontFragment)
            {
                // RFC 1812 §5.2.6 / RFC 1191 §4: Fragmentation Needed with the next-hop MTU in the low 16 bits.
                _stats.Drop(DropReason.Ipv4FragmentNeededDf);
                SendIcmpError(ip, inbound.Index, false, Icmpv4Type.DestinationUnreachable,
                    (byte)Icmpv4UnreachableCode.FragmentationNeeded, (uint)mtu, now);
                return;
            }
            // RFC 1812 §5.2.6: fragment (a fragment may be fragmented again, keeping its offset and MF).
            var repr = ip.ToRepr() with { Ttl = (byte)(ip.Ttl - 1) };
            _stats.Ipv4PacketsForwarded++;
            if (link.PartialChecksumStart < 0)
            {
                EmitFragments(outbound, nextHop, null, repr, options, ip.Payload, mtu, now);
                return;
            }
            // A partially checksummed datagram (virtio NEEDS_CSUM) gets its checksum completed before it is cut up.
            var whole = System.Buffers.ArrayPool<byte>.Shared.Rent(ip.TotalLength);
            try
            {
                ip.Bytes.CopyTo(whole);
                ReceiveOffloads.CompleteChecksum(whole.AsSpan(0, ip.TotalLength), link);
                EmitFragments(outbound, nextHop, null, repr, options, whole.AsSpan(ip.HeaderLength, ip.TotalLength - ip.HeaderLength), mtu, now);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(whole);
            }
            return;
        }
        var buffer = outbound.Link.RentBuffer();
        try
        {
            var packet = buffer.AsSpan(NetworkInterface.Headroom, ip.TotalLength);
            ip.Bytes.CopyTo(packet);
            ReceiveOffloads.CompleteChecksum(packet, link); // a partially checksummed packet leaves whole
            // RFC 1812 §5.3.1 TTL decrement, RFC 1624 incremental checksum.
            Ipv4HeaderEdit.DecrementTtl(packet);
            if (stamp)
            {
                options.CopyTo(packet[Ipv4Packet.MinHeaderLength..]);
                Ipv4HeaderEdit.RecomputeChecksum(packet[..ip.HeaderLength]);
            }
            _stats.Ipv4PacketsForwarded++;
            Output(outbound, nextHop, null, buffer, packet.Length, now);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>Forwards a received super-frame as one (see <see cref="TransmitOffloads.TryDescribeForwarded"/>).</summary>
    private void ForwardSuperFrame(Ipv4Interface outbound, Ipv4Address nextHop, in Ipv4Packet ip, ReadOnlySpan<byte> options, bool stamp,
        in LinkInfo link, Instant now)
    {
        var buffer = outbound.Link.RentBuffer(ip.TotalLength);
        try
        {
            var packet = buffer.AsSpan(NetworkInterface.Headroom, ip.TotalLength);
            ip.Bytes.CopyTo(packet);
            Ipv4HeaderEdit.DecrementTtl(packet);
            if (stamp)
            {
                options.CopyTo(packet[Ipv4Packet.MinHeaderLength..]);
                Ipv4HeaderEdit.RecomputeChecksum(packet[..ip.HeaderLength]);
            }
            if (!TransmitOffloads.TryDescribeForwarded(packet, v4: true, ip.HeaderLength, ip.Protocol, link, out var offload, out _))
            {
                _stats.Drop(DropReason.OffloadSuperFrameNotForwarded);
                return;
            }
            _stats.Ipv4PacketsForwarded++;
            _stats.SuperFramesForwarded++;
            Output(outbound, nextHop, null, buffer, packet.Length, now, offload);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }
}
