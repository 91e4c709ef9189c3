using System.Buffers;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport.Udp;

/// <summary>
/// UDP (RFC 768, RFC 1122 §4.1, RFC 8085 where it applies to a stack): socket demultiplexing, checksums
/// (IPv4 zero accepted, IPv6 zero rejected), port unreachable for closed ports, broadcast and multicast
/// delivery, and ICMP errors handed to the socket that sent the quoted datagram.
/// <para>
/// A socket bound to an unspecified address (of either family) is dual-stack, as TCP's wildcard listeners are: it
/// sends to both families (the source address chosen per destination, RFC 6724 §5) and receives datagrams of both
/// families on its port, like a Linux socket bound to <c>::</c> with IPV6_V6ONLY off or a .NET <c>Socket</c> with
/// <c>DualMode</c> (which would show IPv4 peers as IPv4-mapped addresses; ours are plain IPv4). A socket of the
/// datagram's own family is more specific: wildcards of both families may share a port (each then receives its own
/// family), and an ephemeral port given to a wildcard is free in both families, so that replies come back to it.
/// </para>
/// </summary>
public sealed class UdpLayer : ITransportHandler
{
    private readonly ITransportContext _stack;
    private readonly UdpOptions _options;
    private readonly Dictionary<ushort, List<UdpSocket>> _byPort = [];
    private ushort _nextEphemeral;

    /// <summary>Creates the UDP layer and registers it with <paramref name="stack"/> for protocol 17.</summary>
    public UdpLayer(ITransportContext stack, UdpOptions? options = null)
    {
        _stack = stack;
        _options = options ?? new UdpOptions();
        int span = _options.EphemeralPortLast - _options.EphemeralPortFirst + 1;
        // RFC 6056 §3.3.1: start the search at a random point of the range.
        _nextEphemeral = (ushort)(_options.EphemeralPortFirst + stack.Random.Next(span));
        stack.RegisterTransport(IpProtocol.Udp, this);
    }

    internal StackStatistics Statistics => _stack.Statistics;

    /// <summary>Sockets bound now.</summary>
    public int SocketCount => _byPort.Values.Sum(l => l.Count);

    /// <summary>
    /// Binds a socket to <paramref name="local"/> (an unspecified address of either family: every address of both families,
    /// see the class summary; port 0 picks an ephemeral
    /// port). Throws <see cref="SocketException"/> with <see cref="SocketError.AddressAlreadyInUse"/> when taken, and
    /// <see cref="SocketError.TooManyOpenSockets"/> when the ephemeral range is exhausted.
    /// </summary>
    public UdpSocket Bind(IpEndpoint local)
    {
        ushort port = local.Port;
        if (port == 0)
        {
            port = AllocateEphemeral(local.Address);
        }
        else if (Conflicts(local.Address, port))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }
        var socket = new UdpSocket(this, new IpEndpoint(local.Address, port));
        if (!_byPort.TryGetValue(port, out var list)) _byPort[port] = list = [];
        list.Add(socket);
        return socket;
    }

    private bool Conflicts(IpAddress address, ushort port)
    {
        if (!_byPort.TryGetValue(port, out var list)) return false;
        foreach (var s in list)
        {
            var a = s.LocalEndpoint.Address;
            if (a.Version != address.Version) continue;
            if (a.IsUnspecified || address.IsUnspecified || a == address) return true;
        }
        return false;
    }

    private ushort AllocateEphemeral(IpAddress address)
    {
        int first = _options.EphemeralPortFirst, last = _options.EphemeralPortLast;
        int span = last - first + 1;
        for (int i = 0; i < span; i++)
        {
            ushort candidate = _nextEphemeral;
            _nextEphemeral = candidate >= last ? (ushort)first : (ushort)(candidate + 1);
            // A dual-stack wildcard needs the port free in both families: a socket of the other family already there
            // would be more specific for that family's replies and take them.
            if (address.IsUnspecified ? !_byPort.ContainsKey(candidate) : !Conflicts(address, candidate)) return candidate;
        }
        throw new SocketException((int)SocketError.TooManyOpenSockets);
    }

    /// <summary>
    /// Whether a socket bound to <paramref name="bound"/> takes datagrams to <paramref name="destination"/>: 2 bound to
    /// that very address, 1 a wildcard of its family, 0 a (dual-stack) wildcard of the other family, -1 not at all.
    /// </summary>
    private static int Accepts(IpAddress bound, IpAddress destination)
    {
        if (!bound.IsUnspecified) return bound == destination ? 2 : -1;
        return bound.Version == destination.Version ? 1 : 0;
    }

    internal void Unbind(UdpSocket socket)
    {
        if (_byPort.TryGetValue(socket.LocalEndpoint.Port, out var list))
        {
            list.Remove(socket);
            if (list.Count == 0) _byPort.Remove(socket.LocalEndpoint.Port);
        }
    }

    /// <summary>
    /// Linux's UDP GSO (<c>UDP_SEGMENT</c>, udp(7)): <paramref name="payload"/> leaves as datagrams of
    /// <paramref name="segmentSize"/> bytes, the last one shorter when the length is not a multiple. Toward a device that
    /// offers USO they go as one super-frame (virtio-net gso_type UDP_L4, <c>gso_size</c> = <paramref name="segmentSize"/>:
    /// the UDP header carries the whole length and the pseudo-header sum, as Linux's <c>udp_send_skb</c> leaves it for
    /// <c>__udp_gso_segment</c>); otherwise the link layer cuts them in software (<see cref="Link.SoftwareSegmentation"/>),
    /// so the wire carries the same datagrams either way. Refused (<see cref="IpSendResult.TooBig"/>, Linux's EINVAL) when a
    /// datagram would not fit the path MTU unfragmented, the whole exceeds a 64 KB UDP datagram, or there are more than
    /// <see cref="UdpSocket.MaxSegments"/> datagrams. To a multicast group (which may loop back) or an own address, or when
    /// the network layer takes no super-segments, the datagrams are sent one by one.
    /// </summary>
    internal IpSendResult SendSegmentedFrom(UdpSocket socket, IpEndpoint to, ReadOnlySpan<byte> payload, int segmentSize, in IpSendOptions options, Instant now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSize, 1);
        if (payload.Length <= segmentSize) return SendFrom(socket, to, payload, options, now);
        int segments = (payload.Length + segmentSize - 1) / segmentSize;
        if (segments > UdpSocket.MaxSegments || payload.Length > ushort.MaxValue - UdpDatagram.HeaderLength) return IpSendResult.TooBig;
        var source = socket.LocalEndpoint.Address;
        if (source.IsUnspecified || source.Version != to.Address.Version || source.IsMulticast)
        {
            if (!_stack.TrySelectSource(to.Address, out source))
                return _stack.MaxTransportPayload(to.Address) <= 0 ? IpSendResult.NoRoute : IpSendResult.NoSourceAddress;
        }
        if (UdpDatagram.HeaderLength + segmentSize > _stack.MaxTransportPayload(to.Address)) return IpSendResult.TooBig;
        int length = UdpDatagram.HeaderLength + payload.Length;
        var offload = _stack.TransmitOffloads(to.Address);
        if (to.Address.IsMulticast || !offload.PartialChecksum || offload.MaxSuperSegment < length)
        {
            for (int i = 0; i < segments; i++)
            {
                int start = i * segmentSize;
                var result = SendFrom(socket, to, payload.Slice(start, Math.Min(segmentSize, payload.Length - start)), options, now);
                if (result != IpSendResult.Sent) return result;
            }
            return IpSendResult.Sent;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            payload.CopyTo(span[UdpDatagram.HeaderLength..]);
            new UdpRepr(socket.LocalEndpoint.Port, to.Port, payload.Length).WriteWithoutChecksum(span);
            // The partial checksum (CHECKSUM_PARTIAL, virtio NEEDS_CSUM): the folded pseudo-header sum over the whole length.
            ulong pseudo = Checksum.PseudoHeader(source, to.Address, (byte)IpProtocol.Udp, length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(span[6..], Checksum.Fold(pseudo));
            var train = options with { PartialChecksum = true, SegmentSize = segmentSize };
            var result = _stack.Send(source, to.Address, IpProtocol.Udp, span, train, now);
            if (result == IpSendResult.Sent)
            {
                _stack.Statistics.UdpSent += segments;
                _stack.Statistics.UdpSuperDatagramsSent++;
            }
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal IpSendResult SendFrom(UdpSocket socket, IpEndpoint to, ReadOnlySpan<byte> payload, in IpSendOptions options, Instant now)
    {
        if (payload.Length > ushort.MaxValue - UdpDatagram.HeaderLength) return IpSendResult.TooBig;
        var source = socket.LocalEndpoint.Address;
        if (source.IsUnspecified || source.Version != to.Address.Version || source.IsMulticast)
        {
            // No source: no route at all (ENETUNREACH, as Linux reports it), or a route without an address of ours.
            if (!_stack.TrySelectSource(to.Address, out source))
                return _stack.MaxTransportPayload(to.Address) <= 0 ? IpSendResult.NoRoute : IpSendResult.NoSourceAddress;
        }
        int length = UdpDatagram.HeaderLength + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            payload.CopyTo(span[UdpDatagram.HeaderLength..]);
            new UdpRepr(socket.LocalEndpoint.Port, to.Port, payload.Length).Write(span, source, to.Address);
            var result = _stack.Send(source, to.Address, IpProtocol.Udp, span, options, now);
            if (result == IpSendResult.Sent) _stack.Statistics.UdpSent++;
            // Linux IP_MULTICAST_LOOP / IPV6_MULTICAST_LOOP (on by default): a datagram to a group this host has joined is
            // also received here, by every socket on the port (RFC 1112 §6.1 leaves it to the sender's choice), when the
            // group's source filter accepts our source address (RFC 3376 §3.2 / RFC 3810 §4.2).
            if (result == IpSendResult.Sent && to.Address.IsMulticast && socket.MulticastLoopback && _stack.IsMulticastMember(to.Address, source))
            {
                var info = new IpPacketInfo(source, to.Address, IpProtocol.Udp, _stack.MulticastHopLimit(to.Address, options.Ttl),
                    options.TrafficClass, to.Address.IsV6 ? options.FlowLabel : 0, Math.Max(options.InterfaceIndex, 0), true)
                { HeaderOptions = to.Address.IsV4 ? options.HeaderOptions : default };
                Receive(info, span, now);
            }
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc/>
    public TransportVerdict Receive(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now)
    {
        if (!UdpDatagram.TryParse(payload, out var udp, out _))
        {
            _stack.Statistics.Drop(DropReason.UdpMalformed);
            return TransportVerdict.Dropped;
        }
        // RFC 1122 §4.1.3.4 (silently discard on a bad checksum); RFC 8200 §8.1 (IPv6: zero checksum is bad). A checksum
        // the device vouched for (IpPacketInfo.ChecksumTrusted) is not computed again, as in Linux.
        if (!info.ChecksumTrusted && !udp.VerifyChecksum(info.Source, info.Destination))
        {
            _stack.Statistics.Drop(DropReason.UdpBadChecksum);
            return TransportVerdict.Dropped;
        }
        var data = udp.Payload;
        if (info.GsoSize <= 0 || data.Length <= info.GsoSize) return Deliver(info, udp.SourcePort, udp.DestinationPort, data, now);
        // A UDP super-frame (USO/UDP L4 GSO): the host's one send of many datagrams, each gso_size bytes (the last may be
        // shorter), cut apart as Linux's __udp_gso_segment would have done on the wire.
        var verdict = TransportVerdict.Delivered;
        for (int offset = 0; offset < data.Length; offset += info.GsoSize)
        {
            var v = Deliver(info, udp.SourcePort, udp.DestinationPort, data.Slice(offset, Math.Min(info.GsoSize, data.Length - offset)), now);
            if (offset == 0) verdict = v;
        }
        return verdict;
    }

    private TransportVerdict Deliver(in IpPacketInfo info, ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> data, Instant now)
    {
        // Source port 0 is allowed ("no reply expected"); destination port 0 is never bound.
        _stack.Statistics.UdpReceived++;
        var remote = new IpEndpoint(info.Source, sourcePort);
        // RFC 1122 §4.1.3.2: IP options go through to the application unchanged.
        var rinfo = new UdpReceiveInfo(remote, info.Destination, info.Ttl, info.TrafficClass, info.FlowLabel,
            info.InterfaceIndex, data.Length, now) { HeaderOptions = info.HeaderOptions };
        if (!_byPort.TryGetValue(destinationPort, out var list))
        {
            if (info.IsBroadcastOrMulticast) { _stack.Statistics.Drop(DropReason.UdpNoSocket); return TransportVerdict.Dropped; }
            _stack.Statistics.Drop(DropReason.UdpNoSocket);
            return TransportVerdict.PortUnreachable;
        }
        if (info.IsBroadcastOrMulticast)
        {
            // RFC 1122 §4.1.3.5 / RFC 8085 §3.5: a broadcast or multicast datagram goes to every socket bound to the port.
            // Sockets of the datagram's family take it; only when there is none do the other family's (dual-stack) wildcards.
            bool any = false;
            for (int pass = 0; pass < 2 && !any; pass++)
            {
                foreach (var s in list)
                {
                    int accepts = Accepts(s.LocalEndpoint.Address, info.Destination);
                    if (accepts < 0 || (pass == 0) != (accepts > 0) || !s.Matches(remote)) continue;
                    s.Enqueue(data, rinfo, _options.ReceiveQueueLimit);
                    any = true;
                }
            }
            if (!any) _stack.Statistics.Drop(DropReason.UdpNoSocket);
            return any ? TransportVerdict.Delivered : TransportVerdict.Dropped;
        }
        // Unicast: the most specific socket wins: a bound address, then connected, then a wildcard of the datagram's
        // family before a dual-stack wildcard of the other family.
        UdpSocket? best = null;
        int bestScore = -1;
        foreach (var s in list)
        {
            int accepts = Accepts(s.LocalEndpoint.Address, info.Destination);
            if (accepts < 0 || !s.Matches(remote)) continue;
            int score = (accepts == 2 ? 4 : 0) + (s.RemoteEndpoint.HasValue ? 2 : 0) + (accepts > 0 ? 1 : 0);
            if (score > bestScore) { best = s; bestScore = score; }
        }
        if (best is null)
        {
            _stack.Statistics.Drop(DropReason.UdpNoSocket);
            return TransportVerdict.PortUnreachable;
        }
        best.Enqueue(data, rinfo, _options.ReceiveQueueLimit);
        return TransportVerdict.Delivered;
    }

    /// <inheritdoc/>
    public void ReceiveIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now)
    {
        // The quote holds at least the 8-byte UDP header (RFC 792, RFC 1812 §4.3.2.3, RFC 4443 §2.4(c)).
        if (quotedTransport.Length < UdpDatagram.HeaderLength)
        {
            _stack.Statistics.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        ushort srcPort = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(quotedTransport);
        ushort dstPort = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(quotedTransport[2..]);
        var destination = new IpEndpoint(error.OriginalDestination, dstPort);
        if (!_byPort.TryGetValue(srcPort, out var list))
        {
            _stack.Statistics.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        // The socket that may have sent the quoted datagram, the most specific first (as for delivery).
        UdpSocket? best = null;
        int bestScore = -1;
        foreach (var s in list)
        {
            int accepts = Accepts(s.LocalEndpoint.Address, error.OriginalSource);
            if (accepts < 0 || (s.RemoteEndpoint is { } r && r != destination)) continue;
            int score = (accepts == 2 ? 4 : 0) + (s.RemoteEndpoint.HasValue ? 2 : 0) + (accepts > 0 ? 1 : 0);
            if (score > bestScore) { best = s; bestScore = score; }
        }
        if (best is null)
        {
            _stack.Statistics.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        best.EnqueueError(new UdpError(error, destination, srcPort, quotedTransport.ToArray(), icmpMessage.ToArray(), now), _options.ErrorQueueLimit);
    }
}
