using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport;

/// <summary>
/// A receiver of raw copies of datagrams addressed to this host, for one IP version and protocol (the raw sockets of the
/// floor above implement it, so the demultiplexer needs nothing above the transport floor).
/// </summary>
internal interface IRawReceiver
{
    /// <summary>The IP version whose datagrams it wants.</summary>
    IpVersion Version { get; }

    /// <summary>The protocol number whose datagrams it wants.</summary>
    IpProtocol Protocol { get; }

    /// <summary>Takes a copy of one datagram (the transport payload, header information in <paramref name="info"/>).</summary>
    void Deliver(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now);
}

/// <summary>
/// The transport demultiplexer (gVisor's <c>transportDemuxer</c>, smoltcp's socket dispatch in <c>iface</c>): the table of
/// <see cref="ITransportHandler"/>s by IP protocol number, and the raw receivers. The family layers hand it every datagram
/// addressed to us after validation and reassembly (through the composer's <see cref="ILocalDelivery"/>), and every ICMP
/// error quoting one of our datagrams.
/// </summary>
internal sealed class TransportDemultiplexer(StackStatistics statistics)
{
    private readonly ITransportHandler?[] _handlers = new ITransportHandler?[256];
    private readonly List<IRawReceiver> _raw = [];

    /// <summary>Registers the handler of <paramref name="protocol"/>, replacing any earlier one.</summary>
    public void Register(IpProtocol protocol, ITransportHandler handler) => _handlers[(int)protocol] = handler;

    /// <summary>True when some handler is registered for <paramref name="protocol"/>.</summary>
    public bool HasHandler(IpProtocol protocol) => _handlers[(int)protocol] is not null;

    /// <summary>Adds a raw receiver.</summary>
    public void AddRaw(IRawReceiver receiver) => _raw.Add(receiver);

    /// <summary>Removes a raw receiver.</summary>
    public void RemoveRaw(IRawReceiver receiver) => _raw.Remove(receiver);

    /// <summary>
    /// Local delivery: copies go to matching raw receivers, then the datagram goes to its transport. ICMP and ICMPv6
    /// messages (which the family layers handle themselves) are also passed here, so raw receivers see them; for those no
    /// transport is registered and the verdict is <see cref="TransportVerdict.Delivered"/>. Returns
    /// <see cref="TransportVerdict.PortUnreachable"/> from the transport when no socket wants it, and
    /// <see cref="TransportVerdict.Dropped"/> with no handler for a non-ICMP protocol: the caller then sends protocol
    /// unreachable (RFC 1122 §3.2.2.1) or Parameter Problem code 1 (RFC 8200 §4).
    /// </summary>
    public TransportVerdict Deliver(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now, out bool unknownProtocol)
    {
        unknownProtocol = false;
        bool raw = false;
        foreach (var s in _raw)
        {
            if (s.Protocol == info.Protocol && s.Version == info.Source.Version)
            {
                s.Deliver(info, payload, now);
                raw = true;
            }
        }
        if (info.Protocol is IpProtocol.Icmp or IpProtocol.Icmpv6) return TransportVerdict.Delivered;
        if (info.Protocol == IpProtocol.Igmp && info.Source.IsV4) return TransportVerdict.Delivered; // the IPv4 layer's own (RFC 3376)
        var handler = _handlers[(int)info.Protocol];
        if (handler is null)
        {
            if (raw) return TransportVerdict.Delivered;
            unknownProtocol = true;
            statistics.Drop(DropReason.UnknownProtocol);
            return TransportVerdict.Dropped;
        }
        return handler.Receive(info, payload, now);
    }

    /// <summary>Hands a decoded ICMP/ICMPv6 error to the transport whose datagram it quotes (RFC 1122 §3.2.2, RFC 4443 §3).</summary>
    public void DeliverIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now)
    {
        var handler = _handlers[(int)error.OriginalProtocol];
        if (handler is null)
        {
            statistics.Drop(DropReason.IcmpErrorUnmatched);
            return;
        }
        handler.ReceiveIcmpError(error, quotedTransport, icmpMessage, now);
    }
}
