using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

internal sealed partial class Ipv6Layer
{
    /// <summary>ICMPv6 input (RFC 4443 §2.4): checksum, then echo, errors, Neighbor Discovery and MLD.</summary>
    private void HandleIcmp(Ipv6Interface ifc, in Ipv6Packet ip, ReadOnlySpan<byte> packet, ReadOnlySpan<byte> message, in LinkInfo link, Instant now)
    {
        if (!Icmpv6Packet.TryParse(message, out var icmp, out _))
        {
            _stats.Drop(DropReason.IcmpMalformed);
            return;
        }
        // RFC 4443 §2.3 / §2.4: a message with a bad checksum is discarded.
        if (!icmp.VerifyChecksum(ip.Source, ip.Destination))
        {
            _stats.Drop(DropReason.IcmpBadChecksum);
            return;
        }
        _stats.Icmpv6Received++;
        switch (icmp.Type)
        {
            case Icmpv6Type.EchoRequest:
                AnswerEcho(ifc, ip, icmp, now);
                return;
            case Icmpv6Type.EchoReply:
                if (EchoEndpoints.TryGet(icmp.Identifier, out var socket)) socket.DeliverReply(ip.Source, icmp.SequenceNumber, ip.HopLimit, icmp.Data, default, now);
                else _stats.Drop(DropReason.IcmpErrorUnmatched);
                return;
            case Icmpv6Type.RouterSolicitation:
            case Icmpv6Type.RouterAdvertisement:
            case Icmpv6Type.NeighborSolicitation:
            case Icmpv6Type.NeighborAdvertisement:
            case Icmpv6Type.Redirect:
                HandleNdp(ifc, ip, message, link, now);
                return;
            case Icmpv6Type.MulticastListenerQuery:
            case Icmpv6Type.MulticastListenerReport:
            case Icmpv6Type.MulticastListenerDone:
            case Icmpv6Type.Mldv2Report:
                HandleMld(ifc, ip, message, now);
                return;
        }
        if (icmp.IsError)
        {
            // RFC 4443 §2.4(a): errors, known or not, go to the upper layer that sent the quoted packet.
            HandleIcmpError(ifc, ip, icmp, now);
            return;
        }
        // RFC 4443 §2.4(b): an unknown informational message is silently discarded.
        _stats.Drop(DropReason.IcmpUnknownType);
    }

    /// <summary>RFC 4443 §4.2: the reply carries the request's identifier, sequence and data, from the address it was sent to.</summary>
    private void AnswerEcho(Ipv6Interface ifc, in Ipv6Packet ip, in Icmpv6Packet request, Instant now)
    {
        var requester = ip.Source;
        if (requester.IsUnspecified) { _stats.Drop(DropReason.Ipv6BadSource); return; }
        Ipv6Address src = ip.Destination;
        if (requester.IsLoopback) src = Ipv6Address.Loopback;
        else if (src.IsMulticast)
        {
            // RFC 4443 §4.2: a reply to a multicast request comes from a unicast address of the receiving interface.
            if (!TrySelectSourceFor(requester, ifc, out src)) return;
        }
        if (!TryRoute(requester, requester.IsLinkLocal ? ifc.Index : -1, now, out var outIfc, out var nextHop)) { _stats.Drop(DropReason.Ipv6NoRoute); return; }
        int len = request.Bytes.Length;
        byte[]? rented = len <= 2048 ? null : System.Buffers.ArrayPool<byte>.Shared.Rent(len);
        var body = rented is null ? stackalloc byte[len] : rented.AsSpan(0, len);
        request.Bytes.CopyTo(body);
        body[0] = (byte)Icmpv6Type.EchoReply;
        body[1] = 0;
        Icmpv6Packet.FillChecksum(body, src, requester);
        _stats.Icmpv6Sent++;
        SendPacket(outIfc, nextHop, src, requester, IpProtocol.Icmpv6, body, outIfc.CurHopLimit, 0, 0, default, allowFragment: true, now);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
    }

    /// <summary>
    /// A received ICMPv6 error (RFC 4443 §3): Packet Too Big lowers the path MTU (RFC 8201 §4); then the error
    /// goes to the handler of the quoted packet's protocol (or to the echo session it answers).
    /// </summary>
    private void HandleIcmpError(Ipv6Interface ifc, in Ipv6Packet ip, in Icmpv6Packet icmp, Instant now)
    {
        var quoted = icmp.InvokingPacket;
        if (!Ipv6Packet.TryParseQuoted(quoted, out var q, out _))
        {
            _stats.Drop(DropReason.IcmpMalformed);
            return;
        }
        // The quoted packet must be one we sent.
        if (!IsOurUsableAddress(q.Source) && ifc.Find(q.Source) is null)
        {
            _stats.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        if (icmp.Type == Icmpv6Type.PacketTooBig)
        {
            _pmtu.Update(q.Destination, (int)Math.Min(icmp.Mtu, int.MaxValue), 0, ifc.LinkMtu, now);
        }
        DeliverErrorLocally(ifc, ip.Source, icmp.Type, icmp.Code, icmp.Type is Icmpv6Type.PacketTooBig or Icmpv6Type.ParameterProblem ? icmp.Mtu : 0,
            quoted, icmp.Bytes, ip.HopLimit, now);
    }

    /// <summary>Decodes the quoted packet's upper layer and hands the error to its handler (or echo session).</summary>
    private void DeliverErrorLocally(Ipv6Interface ifc, Ipv6Address reporter, Icmpv6Type type, byte code, uint parameter,
        ReadOnlySpan<byte> quoted, ReadOnlySpan<byte> icmpMessage, byte hopLimit, Instant now)
    {
        if (!Ipv6Packet.TryParseQuoted(quoted, out var q, out _)) return;
        var bytes = q.Bytes;
        IpProtocol protocol;
        int offset;
        if (Ipv6HeaderChain.TryParse(bytes, out var chain, out _))
        {
            protocol = chain.Protocol;
            offset = chain.ProtocolOffset;
        }
        else
        {
            protocol = q.NextHeader;
            offset = Ipv6Packet.HeaderLength;
        }
        var transport = offset <= bytes.Length ? bytes[offset..] : default;
        var info = new IcmpErrorInfo(reporter, (byte)type, code, parameter, q.Source, q.Destination, protocol, hopLimit, ifc.Index);
        if (protocol == IpProtocol.Icmpv6)
        {
            // An error quoting our Echo Request goes to the echo socket that sent it (ping, ICMP traceroute).
            if (transport.Length >= 8 && transport[0] == (byte)Icmpv6Type.EchoRequest && Icmpv6Packet.TryParse(transport, out var echo, out _)
                && EchoEndpoints.TryGet(echo.Identifier, out var socket))
            {
                socket.DeliverError(info, echo.SequenceNumber, now);
                return;
            }
            _stats.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        _context.Delivery.DeliverIcmpError(info, transport, icmpMessage, now);
    }

    /// <summary>
    /// Sends an ICMPv6 error about <paramref name="invoking"/> under RFC 4443 §2.4: never about an error or a
    /// Redirect (e.1); not to a multicast destination or link multicast (e.2, e.3) except Packet Too Big and
    /// Parameter Problem code 2 (<paramref name="allowMulticastDestination"/>); not to a source that does not
    /// identify one node (e.6); rate limited (f); quoting as much as fits in 1280 bytes (c).
    /// </summary>
    internal void SendIcmpError(Ipv6Interface ifc, ReadOnlySpan<byte> invoking, Icmpv6Type type, byte code, uint parameter,
        in LinkInfo link, Instant now, bool allowMulticastDestination = false)
    {
        if (!Ipv6Packet.TryParseQuoted(invoking, out var q, out _)) return;
        var origSrc = q.Source;
        var origDst = q.Destination;
        // (e.6) the source must identify a single node.
        if (origSrc.IsUnspecified || origSrc.IsMulticast || origSrc.IsLoopback) return;
        // (e.2, e.3, e.4) multicast destinations and link-layer multicast or broadcast.
        if ((origDst.IsMulticast || link.IsLinkBroadcastOrMulticast) && !allowMulticastDestination) return;
        // (e.1) never about an ICMPv6 error message or a Redirect.
        if (Ipv6HeaderChain.TryParse(q.Bytes, out var chain, out _) && chain.End == Ipv6ChainEnd.UpperLayer && chain.Protocol == IpProtocol.Icmpv6
            && chain.ProtocolOffset < q.Bytes.Length)
        {
            byte t = q.Bytes[chain.ProtocolOffset];
            if (Icmpv6Packet.IsErrorType(t) || t == (byte)Icmpv6Type.Redirect) return;
        }
        else if (q.NextHeader == IpProtocol.Icmpv6 && q.Bytes.Length > Ipv6Packet.HeaderLength
            && (Icmpv6Packet.IsErrorType(q.Bytes[Ipv6Packet.HeaderLength]) || q.Bytes[Ipv6Packet.HeaderLength] == (byte)Icmpv6Type.Redirect))
        {
            return;
        }
        if (!_options.IcmpErrorsEnabled) return;
        // (f) rate limiting.
        if (!_icmpErrors.TryTake(now))
        {
            _stats.Drop(DropReason.IcmpRateLimited);
            return;
        }
        if (!TryRoute(origSrc, origSrc.IsLinkLocal ? ifc.Index : -1, now, out var outIfc, out var nextHop)) return;
        // The source: the address the packet was sent to when it is ours, else by RFC 6724 toward the reporter's peer.
        Ipv6Address src;
        if (!origDst.IsMulticast && IsOurUsableAddress(origDst)) src = origDst;
        else if (!TrySelectSourceFor(origSrc, outIfc, out src)) return;

        if (_options.IcmpExtensionMplsLabels.Count > 0 && type is Icmpv6Type.TimeExceeded or Icmpv6Type.DestinationUnreachable)
        {
            // RFC 4884 §4.1 + RFC 4950: the quote padded to at least 128 octets, then the MPLS label stack object.
            var stack = new byte[_options.IcmpExtensionMplsLabels.Count * MplsLabelEntry.Length];
            for (int i = 0; i < _options.IcmpExtensionMplsLabels.Count; i++) _options.IcmpExtensionMplsLabels[i].Write(stack.AsSpan(i * MplsLabelEntry.Length));
            var extension = new IcmpExtensionRepr(new[] { new IcmpExtensionObjectRepr(1, 1, stack) });
            var withExt = Icmpv6Repr.WithExtension(new Icmpv6Repr(type, code, parameter, q.Bytes.ToArray()), extension);
            var extMessage = new byte[withExt.BufferLength];
            withExt.Write(extMessage, src, origSrc);
            _stats.Icmpv6Sent++;
            SendPacket(outIfc, nextHop, src, origSrc, IpProtocol.Icmpv6, extMessage, outIfc.CurHopLimit, 0, 0, default, allowFragment: false, now);
            return;
        }
        // (c) as much of the invoking packet as fits in the minimum MTU.
        int quoteLen = Math.Min(q.Bytes.Length, Icmpv6Packet.MaxInvokingPacketLength);
        Span<byte> message = stackalloc byte[Icmpv6Packet.ErrorHeaderLength + quoteLen];
        var repr = new Icmpv6Repr(type, code, parameter, ReadOnlyMemory<byte>.Empty);
        repr.Write(message, src, origSrc);
        q.Bytes[..quoteLen].CopyTo(message[Icmpv6Packet.ErrorHeaderLength..]);
        Icmpv6Packet.FillChecksum(message, src, origSrc);
        _stats.Icmpv6Sent++;
        SendPacket(outIfc, nextHop, src, origSrc, IpProtocol.Icmpv6, message, outIfc.CurHopLimit, 0, 0, default, allowFragment: false, now);
    }

    /// <summary>An Echo Request (RFC 4443 §4.1) for an <see cref="IcmpEchoSocket"/>; its checksum covers the IPv6
    /// pseudo-header (RFC 8200 §8.1). The source is chosen by RFC 6724 when unspecified; large data is fragmented unless
    /// <see cref="IpSendOptions.DontFragment"/>.</summary>
    public IpSendResult SendEchoRequest(IpAddress sourceAddress, IpAddress destinationAddress, ushort identifier, ushort sequence,
        ReadOnlySpan<byte> data, in IpSendOptions options, Instant now)
    {
        var destination = destinationAddress.V6;
        var source = sourceAddress.IsV6 ? sourceAddress.V6 : Ipv6Address.Unspecified;
        byte hopLimit = options.Ttl;
        if (!TryRoute(destination, options.InterfaceIndex, now, out var ifc, out var nextHop)) return IpSendResult.NoRoute;
        if (destination.IsLoopback) source = Ipv6Address.Loopback;
        if (source.IsUnspecified && !TrySelectSourceFor(destination, ifc, out source)) return IpSendResult.NoSourceAddress;
        int len = Icmpv6Packet.ErrorHeaderLength + data.Length;
        if (len > 65535) return IpSendResult.TooBig;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(len);
        try
        {
            var message = buffer.AsSpan(0, len);
            new Icmpv6Repr(Icmpv6Type.EchoRequest, 0, (uint)identifier << 16 | sequence, ReadOnlyMemory<byte>.Empty).Write(message, source, destination);
            data.CopyTo(message[Icmpv6Packet.ErrorHeaderLength..]);
            Icmpv6Packet.FillChecksum(message, source, destination);
            _stats.Icmpv6Sent++;
            byte hop = hopLimit != 0 ? hopLimit : destination.IsMulticast ? (byte)1 : ifc.CurHopLimit;
            return SendPacket(ifc, nextHop, source, destination, IpProtocol.Icmpv6, message, hop, 0, 0, default, allowFragment: !options.DontFragment, now);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            DrainLoopback(now);
        }
    }
}
