using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>A datagram as a raw socket received it: what the network layer knew, and a copy of the payload.</summary>
public sealed record RawDatagram(IpPacketInfo Info, byte[] Payload, Instant ReceivedAt);

/// <summary>
/// A raw IP socket (sans-IO): it receives a copy of every datagram of its family and protocol that is delivered
/// locally (ICMP and ICMPv6 messages included, errors among them, as Linux raw sockets do), and sends transport
/// payloads it built itself through the network layer. Tools such as traceroute use it for probes whose replies
/// they match by the quoted headers. The receive queue is bounded; overflow is counted.
/// </summary>
public sealed class RawSocket : IDisposable, Transport.IRawReceiver
{
    private readonly IIpLayer _ip;
    private readonly Action<RawSocket> _onClose;
    private readonly Queue<RawDatagram> _queue = new();

    internal RawSocket(IIpLayer ip, Action<RawSocket> onClose, IpVersion version, IpProtocol protocol, int capacity)
    {
        _ip = ip;
        _onClose = onClose;
        Version = version;
        Protocol = protocol;
        Capacity = capacity;
    }

    /// <summary>The IP version the socket receives.</summary>
    public IpVersion Version { get; }
    /// <summary>The IP protocol number the socket receives.</summary>
    public IpProtocol Protocol { get; }
    /// <summary>How many datagrams the socket queues before dropping.</summary>
    public int Capacity { get; }
    /// <summary>Datagrams waiting to be received.</summary>
    public int Available => _queue.Count;
    /// <summary>Datagrams dropped because the queue was full.</summary>
    public long Dropped { get; private set; }
    /// <summary>True once disposed.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Raised on the stack's thread when a datagram was queued.</summary>
    public event Action<RawSocket>? Readable;

    /// <summary>Takes the oldest datagram; false when none is queued.</summary>
    public bool TryReceive(out RawDatagram datagram) => _queue.TryDequeue(out datagram!);

    /// <summary>Sends <paramref name="transportPayload"/> (a complete transport header and data, checksum included) as one IP datagram.</summary>
    public IpSendResult Send(IpAddress source, IpAddress destination, ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now) =>
        _ip.Send(source, destination, Protocol, transportPayload, options, now);

    void Transport.IRawReceiver.Deliver(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now) => Deliver(info, payload, now);

    internal void Deliver(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now)
    {
        if (_queue.Count >= Capacity)
        {
            Dropped++;
            return;
        }
        _queue.Enqueue(new RawDatagram(info, payload.ToArray(), now));
        Readable?.Invoke(this);
    }

    /// <summary>Closes the socket: it receives nothing more.</summary>
    public void Dispose()
    {
        if (IsClosed) return;
        IsClosed = true;
        _onClose(this);
        _queue.Clear();
    }
}
