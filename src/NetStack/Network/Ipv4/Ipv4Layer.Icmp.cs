using System.Buffers;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
    /// <summary>ICMPv4 for us (RFC 792, RFC 1122 §3.2.2).</summary>
    private void ReceiveIcmp(Ipv4Interface v4, in Ipv4Packet ip, in LinkInfo link, Ipv4DestinationKind kind, Instant now)
    {
        if (!Icmpv4Packet.TryParse(ip.Payload, out var icmp, out _))
        {
            _stats.Drop(DropReason.IcmpMalformed);
            return;
        }
        // RFC 792: the checksum covers the ICMP message; a bad one is silently discarded.
        if (!icmp.ChecksumValid)
        {
            _stats.Drop(DropReason.IcmpBadChecksum);
            return;
        }
        _stats.IcmpReceived++;
        switch (icmp.Type)
        {
            case Icmpv4Type.EchoRequest:
                ReplyToEcho(v4, ip, icmp, kind, now);
                return;
            case Icmpv4Type.EchoReply:
                if (EchoEndpoints.TryGet(icmp.Identifier, out var socket))
                    socket.DeliverReply(ip.Source, icmp.SequenceNumber, ip.Ttl, icmp.EchoData, IpHeaderOptions.FromHeader(ip.Options), now);
                else
                    _stats.Drop(DropReason.IcmpEchoUnmatched);
                return;
            case Icmpv4Type.DestinationUnreachable:
            case Icmpv4Type.TimeExceeded:
            case Icmpv4Type.ParameterProblem:
                ReceiveIcmpError(v4, ip, icmp, now);
                return;
            case Icmpv4Type.SourceQuench:
                // RFC 6633 §3: hosts MUST silently ignore Source Quench.
                _stats.Drop(DropReason.IcmpIgnored);
                return;
            case Icmpv4Type.Redirect:
                ReceiveRedirect(v4, ip, icmp);
                return;
            default:
                _stats.Drop(DropReason.IcmpUnknownType);
                return;
        }
    }

    /// <summary>RFC 792 / RFC 1122 §3.2.2.6: the reply carries the request's identifier, sequence number and data unchanged.</summary>
    private void ReplyToEcho(Ipv4Interface v4, in Ipv4Packet ip, in Icmpv4Packet request, Ipv4DestinationKind kind, Instant now)
    {
        // RFC 1122 §3.2.2.6: "An ICMP Echo Request destined to an IP broadcast or IP multicast address MAY be silently
        // discarded" — Linux does (icmp_echo_ignore_broadcasts=1), and so do we unless configured otherwise.
        if (kind != Ipv4DestinationKind.Local && !_options.ReplyToBroadcastEcho)
        {
            _stats.Drop(DropReason.IcmpEchoIgnored);
            return;
        }
        // RFC 1122 §3.2.2.6: the reply's source is the request's specific destination (or ours on that link for a broadcast).
        var source = kind == Ipv4DestinationKind.Local ? ip.Destination : Ipv4Address.Any;
        if (source.IsUnspecified && !Addresses.TryGetPrimary(v4.Index, out source)) return;
        var repr = Icmpv4EchoRepr.ReplyTo(request);
        var buffer = ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int length = repr.Write(buffer, request.EchoData);
            // RFC 1122 §3.2.2.6: Record Route and Timestamp of the request go back in the reply, updated with this host
            // (SendDatagram stamps them); source routes never get here (dropped on receipt, Linux accept_source_route=0).
            Span<byte> options = stackalloc byte[Ipv4Options.MaxLength];
            int optionsLength = ip.Options.IsEmpty ? 0 : Ipv4OptionStamp.EchoOptions(ip.Options, options);
            _stats.IcmpSent++;
            SendDatagram(source, ip.Source, IpProtocol.Icmp, buffer.AsSpan(0, length), _options.DefaultHopLimit, ip.Tos,
                dontFragment: false, interfaceIndex: -1, now, options[..optionsLength]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A received error: validate the quote, apply fragmentation-needed to the path-MTU cache (RFC 1191 §4), and
    /// deliver it to the transport (or echo socket) whose datagram it quotes (RFC 1122 §3.2.2: "MUST be passed to the
    /// transport layer", which is what traceroute and PMTU discovery rely on).
    /// </summary>
    private void ReceiveIcmpError(Ipv4Interface v4, in Ipv4Packet ip, in Icmpv4Packet icmp, Instant now)
    {
        if (!icmp.TryGetQuotedDatagram(out var quoted, out _))
        {
            _stats.Drop(DropReason.IcmpMalformed);
            return;
        }
        // Only errors about datagrams we sent mean anything (others are spoofed or misdirected).
        if (!Addresses.IsLocal(quoted.Source))
        {
            _stats.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        uint parameter = 0;
        if (icmp.Type == Icmpv4Type.ParameterProblem) parameter = icmp.Pointer;
        if (icmp.Type == Icmpv4Type.DestinationUnreachable && icmp.Code == (byte)Icmpv4UnreachableCode.FragmentationNeeded)
        {
            int linkMtu = Routes.TryLookup(quoted.Destination, out var route) && Interface(route.InterfaceIndex) is { } oif
                ? oif.Link.Mtu : v4.Link.Mtu;
            PathMtu.Update(quoted.Destination, icmp.NextHopMtu, quoted.TotalLength, linkMtu, now);
            parameter = (uint)PathMtu.Get(quoted.Destination, linkMtu, now);
        }
        var info = new IcmpErrorInfo(ip.Source, (byte)icmp.Type, icmp.Code, parameter, quoted.Source, quoted.Destination,
            quoted.Protocol, ip.Ttl, v4.Index);

        if (quoted.Protocol == IpProtocol.Icmp)
        {
            // An error about one of our echo requests goes to the echo socket that sent it (ping, ICMP traceroute).
            if (quoted.FragmentOffset == 0 && Icmpv4Packet.TryParse(quoted.Payload, out var echo, out _)
                && echo.Type == Icmpv4Type.EchoRequest && EchoEndpoints.TryGet(echo.Identifier, out var socket))
            {
                socket.DeliverError(info, echo.SequenceNumber, now);
                return;
            }
            _stats.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        _context.Delivery.DeliverIcmpError(info, quoted.Payload, icmp.Bytes, now);
    }

    /// <summary>
    /// RFC 1122 §3.2.2.2: "A host receiving a Redirect message MUST update its routing information accordingly", for
    /// host and network redirects alike (as RFC 1812 §5.2.7.2 and Linux, we install a host route for the quoted
    /// destination). It "SHOULD be silently discarded if the new gateway address it specifies is not on the same
    /// connected (sub-) net through which the Redirect arrived, or if the source of the Redirect is not the current
    /// first-hop gateway for the specified destination". Routers ignore redirects (Linux accept_redirects off when forwarding).
    /// </summary>
    private void ReceiveRedirect(Ipv4Interface v4, in Ipv4Packet ip, in Icmpv4Packet icmp)
    {
        if (v4.Forwarding || !icmp.TryGetQuotedDatagram(out var quoted, out _) || !Addresses.IsLocal(quoted.Source))
        {
            _stats.Drop(DropReason.IcmpRedirectRejected);
            return;
        }
        var target = quoted.Destination;
        var gateway = icmp.Gateway;
        bool gatewayOnLink = false;
        foreach (var c in Addresses.AddressesOf(v4.Index)) gatewayOnLink |= c.Contains(gateway);
        if (!gatewayOnLink || !gateway.IsUnicast || Addresses.IsLocal(gateway)
            || !Routes.TryLookup(target, out var current) || current.InterfaceIndex != v4.Index
            || current.IsOnLink || current.Gateway != ip.Source)
        {
            _stats.Drop(DropReason.IcmpRedirectRejected);
            return;
        }
        var host = new Ipv4Cidr(target, 32);
        // A redirect route replaces an earlier one for the same destination; their number is bounded.
        if (current.Destination == host) Routes.Remove(current);
        else if (_redirectRoutes.Count >= _options.MaxRedirectRoutes && _redirectRoutes.TryDequeue(out var oldest)) Routes.Remove(oldest);
        var route = new Ipv4Route(host, gateway, v4.Index);
        if (Routes.TryAdd(route)) _redirectRoutes.Enqueue(route);
    }

    /// <summary>
    /// Sends an ICMP error about <paramref name="offending"/> if RFC 1122 §3.2.2 / RFC 1812 §4.3.2.7 allow it and the
    /// rate limit (RFC 1812 §4.3.2.8) has a token, quoting as much of the datagram as fits in 576 bytes (RFC 1812 §4.3.2.3).
    /// </summary>
    private void SendIcmpError(in Ipv4Packet offending, int interfaceIndex, bool linkBroadcast, Icmpv4Type type, byte code,
        uint parameter, Instant now, bool? destinationIsBroadcast = null)
    {
        // The ICMP type of an ICMP offender decides whether it is an error; a truncated one counts as an error (never answer).
        int icmpType = -1;
        if (offending.Protocol == IpProtocol.Icmp && offending.FragmentOffset == 0)
            icmpType = Icmpv4Packet.TryParse(offending.Payload, out var inner, out _) ? (int)inner.Type : 255;
        bool broadcast = destinationIsBroadcast ?? Addresses.Classify(offending.Destination, interfaceIndex)
            is Ipv4DestinationKind.LimitedBroadcast or Ipv4DestinationKind.DirectedBroadcast or Ipv4DestinationKind.Multicast;
        var facts = new OffendingDatagram(offending.Source, broadcast, linkBroadcast, offending.FragmentOffset,
            offending.Protocol, icmpType, Addresses.IsDirectedBroadcast(offending.Source));
        if (IcmpErrorPolicy.Check(facts) != IcmpErrorVeto.None) return;
        if (!_options.IcmpErrorsEnabled) return;
        if (!_icmpErrorBucket.TryTake(now))
        {
            _stats.Drop(DropReason.IcmpRateLimited);
            return;
        }
        // RFC 1812 §4.3.2.4: the source is one of our addresses: the one the datagram was sent to when it was for us,
        // else the address we would use toward its source (Linux: the route's preferred source).
        Ipv4Address source;
        if (Addresses.IsLocal(offending.Destination)) source = offending.Destination;
        else if (!TrySelectSource(offending.Source, -1, out source)) return;

        // RFC 4884 §4.2 / RFC 4950: only time exceeded, unreachable and parameter problem carry extensions.
        var labels = type is Icmpv4Type.TimeExceeded or Icmpv4Type.DestinationUnreachable ? _mplsLabels : [];
        var repr = Icmpv4ErrorRepr.ForDatagram(type, code, parameter, offending.Bytes.Length, labels.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int length = repr.Write(buffer, offending.Bytes, labels);
            _stats.IcmpSent++;
            // RFC 1812 §4.3.2.5: TOS of an error; Linux uses the offender's TOS with precedence "internetwork control" (0xC0).
            SendDatagram(source, offending.Source, IpProtocol.Icmp, buffer.AsSpan(0, length), _options.DefaultHopLimit,
                (byte)(0xC0 | (offending.Tos & 0x1C)), dontFragment: false, interfaceIndex: -1, now);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>ICMP Echo (RFC 792 type 8) for an <see cref="IcmpEchoSocket"/>; the checksum covers the ICMP message alone.</summary>
    public IpSendResult SendEchoRequest(IpAddress source, IpAddress destination, ushort identifier, ushort sequence,
        ReadOnlySpan<byte> data, in IpSendOptions options, Instant now)
    {
        var repr = Icmpv4EchoRepr.Request(identifier, sequence, data.Length);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int length = repr.Write(buffer, data);
            _stats.IcmpSent++;
            return SendDatagram(source.IsV4 ? source.V4 : default, destination.V4, IpProtocol.Icmp, buffer.AsSpan(0, length),
                options.Ttl != 0 ? options.Ttl : _options.DefaultHopLimit, 0, options.DontFragment, options.InterfaceIndex, now,
                options.HeaderOptions.Span);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
