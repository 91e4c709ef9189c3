using System.Buffers;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport.Udp;

/// <summary>What came with a received datagram besides its payload.</summary>
/// <param name="Remote">The sender.</param>
/// <param name="LocalAddress">The destination address it was sent to (ours, a broadcast or a group).</param>
/// <param name="Ttl">TTL / hop limit as received.</param>
/// <param name="TrafficClass">IPv4 TOS / IPv6 traffic class as received.</param>
/// <param name="FlowLabel">IPv6 flow label as received.</param>
/// <param name="InterfaceIndex">The interface it arrived on.</param>
/// <param name="Length">Payload length.</param>
/// <param name="ReceivedAt">When the stack received it.</param>
public readonly record struct UdpReceiveInfo(IpEndpoint Remote, IpAddress LocalAddress, byte Ttl, byte TrafficClass,
    uint FlowLabel, int InterfaceIndex, int Length, Instant ReceivedAt)
{
    /// <summary>The IPv4 options it came with, byte for byte, NOP / End-of-List padding aside (RFC 1122 §4.1.3.2: "UDP MUST
    /// pass any IP option that it receives from the IP layer transparently to the application layer"; Linux IP_RECVOPTS).
    /// Empty when none, and for IPv6.</summary>
    public IpHeaderOptions HeaderOptions { get; init; }
}

/// <summary>
/// An ICMP or ICMPv6 error about a datagram this socket sent (like Linux IP_RECVERR / IPV6_RECVERR):
/// who reported it, type and code, the MTU or pointer, and the datagram's destination as quoted.
/// </summary>
public sealed record UdpError(IcmpErrorInfo Icmp, IpEndpoint OriginalDestination, ushort OriginalSourcePort,
    byte[] QuotedTransport, byte[] IcmpMessage, Instant ReceivedAt);

/// <summary>
/// A UDP socket in the sans-IO core: bound to a local endpoint, optionally connected to one remote
/// endpoint, with bounded queues of received datagrams and of ICMP errors. Used on the stack's own thread;
/// the async API in the runtime wraps it.
/// </summary>
public sealed class UdpSocket : IDisposable
{
    private readonly UdpLayer _layer;
    private readonly Queue<(byte[] Buffer, UdpReceiveInfo Info)> _received = new();
    private readonly Queue<UdpError> _errors = new();

    internal UdpSocket(UdpLayer layer, IpEndpoint local)
    {
        _layer = layer;
        LocalEndpoint = local;
    }

    /// <summary>The address and port the socket is bound to.</summary>
    public IpEndpoint LocalEndpoint { get; internal set; }

    /// <summary>
    /// Datagrams this socket sends to a multicast group that this host has joined are also received here (Linux
    /// <c>IP_MULTICAST_LOOP</c> / <c>IPV6_MULTICAST_LOOP</c>, on by default), by every socket bound to the port.
    /// </summary>
    public bool MulticastLoopback { get; set; } = true;

    /// <summary>The peer set by <see cref="Connect"/>: only its datagrams are received, and it is the default destination.</summary>
    public IpEndpoint? RemoteEndpoint { get; private set; }

    /// <summary>True once disposed.</summary>
    public bool IsClosed { get; private set; }
    /// <summary>Datagrams waiting to be received.</summary>
    public int Available => _received.Count;
    /// <summary>ICMP errors waiting to be received.</summary>
    public int ErrorsAvailable => _errors.Count;
    /// <summary>Datagrams dropped because the receive queue was full.</summary>
    public long DroppedFull { get; private set; }

    /// <summary>Raised on the stack's thread when a datagram or an error was queued.</summary>
    public event Action<UdpSocket>? Readable;

    /// <summary>Limits receiving to <paramref name="remote"/> and makes it the default destination.</summary>
    public void Connect(IpEndpoint remote) => RemoteEndpoint = remote;

    /// <summary>
    /// Sends one datagram to <paramref name="remote"/> (or the connected peer) with per-datagram
    /// <paramref name="options"/> (TTL / hop limit, DF, traffic class, flow label, IPv4 header options).
    /// </summary>
    public IpSendResult Send(ReadOnlySpan<byte> payload, IpEndpoint? remote, in IpSendOptions options, Instant now)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var to = remote ?? RemoteEndpoint ?? throw new InvalidOperationException("No destination: the socket is not connected.");
        return _layer.SendFrom(this, to, payload, options, now);
    }

    /// <summary>The most datagrams one <see cref="SendSegmented"/> call makes (Linux's <c>UDP_MAX_SEGMENTS</c> of 5.x kernels).</summary>
    public const int MaxSegments = 64;

    /// <summary>
    /// Sends <paramref name="payload"/> as a train of datagrams of <paramref name="segmentSize"/> bytes each (the last may be
    /// shorter), Linux's <c>UDP_SEGMENT</c> (UDP GSO): toward a device with USO (a TAP with a virtio-net header) one
    /// super-frame leaves and the kernel cuts it; toward any other the link layer cuts it in software. The receiver sees
    /// ordinary datagrams. <see cref="IpSendResult.TooBig"/> when a datagram would exceed the path MTU, the whole a 64 KB
    /// datagram, or the count <see cref="MaxSegments"/>.
    /// </summary>
    public IpSendResult SendSegmented(ReadOnlySpan<byte> payload, int segmentSize, IpEndpoint? remote, in IpSendOptions options, Instant now)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var to = remote ?? RemoteEndpoint ?? throw new InvalidOperationException("No destination: the socket is not connected.");
        return _layer.SendSegmentedFrom(this, to, payload, segmentSize, options, now);
    }

    /// <summary>Copies the oldest datagram into <paramref name="buffer"/> (truncating, like recvfrom) and returns its details.</summary>
    public bool TryReceive(Span<byte> buffer, out UdpReceiveInfo info, out int copied)
    {
        if (!_received.TryDequeue(out var item))
        {
            info = default;
            copied = 0;
            return false;
        }
        info = item.Info;
        copied = Math.Min(buffer.Length, item.Info.Length);
        item.Buffer.AsSpan(0, copied).CopyTo(buffer);
        ArrayPool<byte>.Shared.Return(item.Buffer);
        return true;
    }

    /// <summary>Takes the oldest ICMP error reported for this socket's datagrams; false when none is queued.</summary>
    public bool TryReceiveError(out UdpError error) => _errors.TryDequeue(out error!);

    internal bool Matches(IpEndpoint remote) => RemoteEndpoint is not { } r || r == remote;

    internal void Enqueue(ReadOnlySpan<byte> payload, in UdpReceiveInfo info, int limit)
    {
        if (_received.Count >= limit)
        {
            DroppedFull++;
            _layer.Statistics.Drop(DropReason.UdpReceiveQueueFull);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, payload.Length));
        payload.CopyTo(buffer);
        _received.Enqueue((buffer, info));
        Readable?.Invoke(this);
    }

    internal void EnqueueError(UdpError error, int limit)
    {
        if (_errors.Count >= limit) _errors.Dequeue();
        _errors.Enqueue(error);
        Readable?.Invoke(this);
    }

    /// <summary>Closes the socket and releases its port.</summary>
    public void Dispose()
    {
        if (IsClosed) return;
        IsClosed = true;
        _layer.Unbind(this);
        while (_received.TryDequeue(out var item)) ArrayPool<byte>.Shared.Return(item.Buffer);
        _errors.Clear();
        Readable = null;
    }
}
