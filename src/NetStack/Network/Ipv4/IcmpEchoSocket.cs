using System.Buffers;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>What arrived for an <see cref="IcmpEchoSocket"/>: an echo reply, or an ICMP error about one of its requests.</summary>
public enum IcmpEchoResultKind
{
    /// <summary>An echo reply.</summary>
    Reply,
    /// <summary>An ICMP error quoting one of our requests.</summary>
    Error,
}

/// <summary>
/// One reply or error received by an <see cref="IcmpEchoSocket"/>.
/// <paramref name="RoundTripTime"/> is measured from the <see cref="Instant"/> the matching request was sent, when it is
/// still remembered. For errors, <paramref name="Error"/> describes the ICMP error and <paramref name="From"/> is its sender.
/// </summary>
public readonly record struct IcmpEchoResult(
    IcmpEchoResultKind Kind,
    Ipv4Address From,
    ushort Sequence,
    byte Ttl,
    TimeSpan? RoundTripTime,
    Instant Received,
    int PayloadLength,
    IcmpErrorInfo Error = default)
{
    /// <summary>The reply's IPv4 options (RFC 1122 §3.2.1.8: options of an ICMP message go to ICMP processing), e.g. the
    /// Record Route a <c>ping -R</c> prints; empty when none.</summary>
    public IpHeaderOptions HeaderOptions { get; init; }
}

/// <summary>
/// A sans-IO ICMP echo ("ping") endpoint over a <c>NetworkStack</c>: sends echo requests with its identifier
/// and chosen sequence, TTL, payload and DF; receives the matching replies and the ICMP errors that quote its requests
/// (time exceeded for traceroute, unreachable, fragmentation needed), with round-trip times. Bounded queue; drive the
/// stack with <c>Poll</c> and read with <see cref="TryReceive"/>. The async API wraps this.
/// </summary>
public sealed class IcmpEchoSocket : IDisposable
{
    /// <summary>Send times remembered for RTTs (older ones are forgotten: their replies come without an RTT).</summary>
    public const int MaxOutstanding = 1024;

    private readonly Ipv4Layer _layer;
    private readonly Queue<(IcmpEchoResult Result, byte[]? Data)> _queue = new();
    private readonly Dictionary<ushort, Instant> _sent = [];
    private readonly Queue<ushort> _sentOrder = new();
    private readonly int _capacity;
    private bool _disposed;

    /// <summary>Opens an echo socket with <paramref name="identifier"/> (random and unused when null).</summary>
    /// <exception cref="InvalidOperationException">The identifier is taken, or too many echo sockets are open.</exception>
    public IcmpEchoSocket(IIpFamilies stack, ushort? identifier = null)
    {
        ArgumentNullException.ThrowIfNull(stack);
        _layer = stack.Ipv4;
        _capacity = _layer.Options.EchoSocketQueueLength;
        ushort id = identifier ?? PickIdentifier(_layer);
        Identifier = id;
        if (!_layer.TryRegisterEchoSocket(this))
            throw new InvalidOperationException($"ICMP echo identifier {id} is in use, or too many echo sockets are open.");
    }

    /// <summary>The ICMP echo identifier of every request this socket sends (RFC 792).</summary>
    public ushort Identifier { get; }

    /// <summary>Results waiting to be read.</summary>
    public int Available => _queue.Count;

    /// <summary>Replies or errors dropped because the queue was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Called (on the stack's thread) when a result has been queued; the async API hooks in here.</summary>
    public Action<IcmpEchoSocket>? Readable { get; set; }

    /// <summary>
    /// Sends an echo request to <paramref name="destination"/> (RFC 792) with <paramref name="payload"/> as its data.
    /// <paramref name="ttl"/> 0 = default; <paramref name="source"/> unspecified = chosen by route; <paramref name="options"/>
    /// go in the IPv4 header (e.g. Record Route, as <c>ping -R</c>).
    /// </summary>
    public IpSendResult SendEcho(Ipv4Address destination, ushort sequence, ReadOnlySpan<byte> payload, Instant now,
        byte ttl = 0, bool dontFragment = false, Ipv4Address source = default, int interfaceIndex = -1,
        in IpHeaderOptions options = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var repr = Icmpv4EchoRepr.Request(Identifier, sequence, payload.Length);
        var buffer = ArrayPool<byte>.Shared.Rent(repr.BufferLength);
        try
        {
            int length = repr.Write(buffer, payload);
            Remember(sequence, now);
            _layer.Statistics.IcmpSent++;
            return _layer.SendDatagram(source, destination, IpProtocol.Icmp, buffer.AsSpan(0, length),
                ttl != 0 ? ttl : _layer.Options.DefaultHopLimit, 0, dontFragment, interfaceIndex, now, options.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Takes the oldest result; its reply data (if any) is copied into <paramref name="payload"/> (cut to fit).</summary>
    public bool TryReceive(out IcmpEchoResult result, Span<byte> payload = default)
    {
        if (!_queue.TryDequeue(out var item))
        {
            result = default;
            return false;
        }
        result = item.Result;
        if (item.Data is { } data)
        {
            int n = Math.Min(item.Result.PayloadLength, payload.Length);
            data.AsSpan(0, n).CopyTo(payload);
            ArrayPool<byte>.Shared.Return(data);
        }
        return true;
    }

    internal void DeliverReply(Ipv4Address from, ushort sequence, byte ttl, ReadOnlySpan<byte> data, int interfaceIndex,
        in IpHeaderOptions options, Instant now)
    {
        if (!HasRoom()) return;
        byte[]? copy = null;
        if (!data.IsEmpty)
        {
            copy = ArrayPool<byte>.Shared.Rent(data.Length);
            data.CopyTo(copy);
        }
        _ = interfaceIndex;
        var rtt = _sent.Remove(sequence, out var sentAt) ? now - sentAt : (TimeSpan?)null;
        Enqueue(new IcmpEchoResult(IcmpEchoResultKind.Reply, from, sequence, ttl, rtt, now, data.Length) { HeaderOptions = options }, copy);
    }

    internal void DeliverError(in IcmpErrorInfo error, ushort sequence, Instant now)
    {
        if (!HasRoom()) return;
        // The request is not answered by an error; keep its send time so that a late reply still has an RTT,
        // but report the time the error took (traceroute's per-hop time).
        TimeSpan? rtt = _sent.TryGetValue(sequence, out var sentAt) ? now - sentAt : null;
        Enqueue(new IcmpEchoResult(IcmpEchoResultKind.Error, error.Reporter.V4, sequence, error.ReceivedTtl, rtt, now, 0, error), null);
    }

    private bool HasRoom()
    {
        if (_queue.Count < _capacity) return true;
        Dropped++;
        _layer.Statistics.Drop(DropReason.IcmpEchoQueueFull);
        return false;
    }

    private void Enqueue(in IcmpEchoResult result, byte[]? data)
    {
        _queue.Enqueue((result, data));
        Readable?.Invoke(this);
    }

    private void Remember(ushort sequence, Instant now)
    {
        if (!_sent.ContainsKey(sequence))
        {
            if (_sentOrder.Count >= MaxOutstanding && _sentOrder.TryDequeue(out var oldest)) _sent.Remove(oldest);
            _sentOrder.Enqueue(sequence);
        }
        _sent[sequence] = now;
    }

    private static ushort PickIdentifier(Ipv4Layer layer)
    {
        for (int i = 0; i < 64; i++)
        {
            ushort id = (ushort)layer.Random.NextUInt32();
            if (!layer.IsEchoIdentifierInUse(id)) return id;
        }
        return (ushort)layer.Random.NextUInt32();
    }

    /// <summary>Closes the socket: it receives nothing more.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _layer.UnregisterEchoSocket(this);
        while (_queue.TryDequeue(out var item)) if (item.Data != null) ArrayPool<byte>.Shared.Return(item.Data);
    }
}
