using System.Buffers;
using NetStack.Wire;

namespace NetStack.Network;

/// <summary>What arrived for an <see cref="IcmpEchoSocket"/>: an echo reply, or an ICMP error about one of its requests.</summary>
public enum IcmpEchoResultKind
{
    /// <summary>An echo reply.</summary>
    Reply,
    /// <summary>An ICMP (or ICMPv6) error quoting one of our requests.</summary>
    Error,
}

/// <summary>
/// One reply or error received by an <see cref="IcmpEchoSocket"/>, of either family.
/// <paramref name="Ttl"/> is the answer's IPv4 TTL or IPv6 hop limit as received. <paramref name="RoundTripTime"/> is
/// measured from the <see cref="Instant"/> the matching request was sent, when it is still remembered. For errors,
/// <paramref name="Error"/> describes the ICMP or ICMPv6 error (type, code, MTU or pointer) and <paramref name="From"/> is its
/// sender.
/// </summary>
public readonly record struct IcmpEchoResult(
    IcmpEchoResultKind Kind,
    IpAddress From,
    ushort Sequence,
    byte Ttl,
    TimeSpan? RoundTripTime,
    Instant Received,
    int PayloadLength,
    IcmpErrorInfo Error = default)
{
    /// <summary>The reply's IPv4 options (RFC 1122 §3.2.1.8: options of an ICMP message go to ICMP processing), e.g. the
    /// Record Route a <c>ping -R</c> prints; empty when none (always for IPv6).</summary>
    public IpHeaderOptions HeaderOptions { get; init; }

    /// <summary>A reply whose data equals what the request with its sequence number carried (RFC 792, RFC 4443 §4.2: the
    /// reply returns the request's data).</summary>
    public bool DataMatches { get; init; }
}

/// <summary>
/// A sans-IO ICMP or ICMPv6 echo ("ping") endpoint over a <c>NetworkStack</c>: sends echo requests (RFC 792, RFC 4443 §4.1)
/// with its identifier and the caller's sequence, TTL / hop limit, data and DF; receives the matching replies and the
/// errors that quote its requests (time exceeded for traceroute, unreachable, fragmentation needed / packet too big), with
/// round-trip times. One type for both families: the family's layer writes the message (ICMP type 8, or ICMPv6 type 128 with
/// its pseudo-header checksum) and hands back what matches the identifier, which is unique per family. Bounded queue;
/// drive the stack with <c>Poll</c> and read with <see cref="TryReceive"/>. The async API wraps this.
/// </summary>
public sealed class IcmpEchoSocket : IDisposable
{
    /// <summary>Send times remembered for RTTs (older ones are forgotten: their replies come without an RTT).</summary>
    public const int MaxOutstanding = 1024;

    private readonly IFamilyLayer _layer;
    private readonly EchoEndpoints _endpoints;
    private readonly Queue<(IcmpEchoResult Result, byte[]? Data)> _queue = new();
    private readonly Dictionary<ushort, (Instant SentAt, int DataHash)> _sent = [];
    private readonly Queue<ushort> _sentOrder = new();
    private readonly int _capacity;
    private bool _disposed;

    /// <summary>Opens an IPv4 echo socket with <paramref name="identifier"/> (random and unused when null).</summary>
    /// <exception cref="InvalidOperationException">The identifier is taken, or too many echo sockets are open.</exception>
    public IcmpEchoSocket(IIpFamilies stack, ushort? identifier = null)
        : this(stack, IpVersion.V4, identifier)
    {
    }

    /// <summary>
    /// Opens an echo socket of <paramref name="version"/> with <paramref name="identifier"/> (random and unused when null);
    /// <paramref name="capacity"/> results are queued (0: the family's setting, <c>EchoSocketQueueLength</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The identifier is taken, or too many echo sockets are open.</exception>
    public IcmpEchoSocket(IIpFamilies stack, IpVersion version, ushort? identifier = null, int capacity = 0)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _layer = version switch
        {
            IpVersion.V4 => stack.Ipv4,
            IpVersion.V6 => stack.Ipv6,
            _ => throw new ArgumentOutOfRangeException(nameof(version)),
        };
        Version = version;
        _endpoints = _layer.EchoEndpoints;
        _capacity = capacity > 0 ? capacity : _endpoints.QueueLength;
        ushort id = identifier ?? _endpoints.PickIdentifier();
        Identifier = id;
        if (!_endpoints.TryRegister(this))
            throw new InvalidOperationException($"ICMP echo identifier {id} is in use, or too many echo sockets are open.");
    }

    /// <summary>The family of the requests (ICMP for IPv4, ICMPv6 for IPv6).</summary>
    public IpVersion Version { get; }

    /// <summary>The echo identifier of every request this socket sends (RFC 792, RFC 4443 §4.1).</summary>
    public ushort Identifier { get; }

    /// <summary>Results waiting to be read.</summary>
    public int Available => _queue.Count;

    /// <summary>Replies or errors dropped because the queue was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>Called (on the stack's thread) when a result has been queued; the async API hooks in here.</summary>
    public Action<IcmpEchoSocket>? Readable { get; set; }

    /// <summary>
    /// Sends an echo request to <paramref name="destination"/> (of the socket's family) with <paramref name="payload"/> as its
    /// data. <paramref name="ttl"/>: TTL / hop limit, 0 = default; <paramref name="dontFragment"/>: IPv4 DF, IPv6 no
    /// fragmentation at the source; <paramref name="source"/> unspecified = chosen by route (RFC 6724 for IPv6);
    /// <paramref name="interfaceIndex"/> -1 = by route (needed for IPv6 link-local destinations on hosts with several
    /// interfaces); <paramref name="options"/> go in the IPv4 header (e.g. Record Route, as <c>ping -R</c>; ignored for IPv6).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is of the other family.</exception>
    public IpSendResult SendEcho(IpAddress destination, ushort sequence, ReadOnlySpan<byte> payload, Instant now,
        byte ttl = 0, bool dontFragment = false, IpAddress source = default, int interfaceIndex = -1,
        in IpHeaderOptions options = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (destination.Version != Version) throw new ArgumentException($"Not an IP{Version} address.", nameof(destination));
        Remember(sequence, now, Hash(payload));
        var sendOptions = new IpSendOptions(ttl, dontFragment: dontFragment, interfaceIndex: interfaceIndex) { HeaderOptions = options };
        return _layer.SendEchoRequest(source.Version == Version ? source : default, destination, Identifier, sequence, payload,
            sendOptions, now);
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

    /// <summary>An echo reply with our identifier (RFC 792 / RFC 4443 §4.2), from the family's layer.</summary>
    internal void DeliverReply(IpAddress from, ushort sequence, byte ttl, ReadOnlySpan<byte> data, in IpHeaderOptions options, Instant now)
    {
        if (!HasRoom()) return;
        byte[]? copy = null;
        if (!data.IsEmpty)
        {
            copy = ArrayPool<byte>.Shared.Rent(data.Length);
            data.CopyTo(copy);
        }
        // The send record stays until it ages out, so that a duplicated reply has its RTT too (as ping's "DUP!").
        bool known = _sent.TryGetValue(sequence, out var sent);
        var result = new IcmpEchoResult(IcmpEchoResultKind.Reply, from, sequence, ttl, known ? now - sent.SentAt : null, now, data.Length)
        {
            HeaderOptions = options,
            DataMatches = known && sent.DataHash == Hash(data),
        };
        Enqueue(result, copy);
    }

    /// <summary>An ICMP error quoting one of our requests, from the family's layer.</summary>
    internal void DeliverError(in IcmpErrorInfo error, ushort sequence, Instant now)
    {
        if (!HasRoom()) return;
        // The request is not answered by an error; its send time stays so that a late reply still has an RTT,
        // and the error reports the time it took (traceroute's per-hop time).
        TimeSpan? rtt = _sent.TryGetValue(sequence, out var sent) ? now - sent.SentAt : null;
        Enqueue(new IcmpEchoResult(IcmpEchoResultKind.Error, error.Reporter, sequence, error.ReceivedTtl, rtt, now, 0, error), null);
    }

    private bool HasRoom()
    {
        if (_queue.Count < _capacity) return true;
        Dropped++;
        _endpoints.Statistics.Drop(DropReason.IcmpEchoQueueFull);
        return false;
    }

    private void Enqueue(in IcmpEchoResult result, byte[]? data)
    {
        _queue.Enqueue((result, data));
        Readable?.Invoke(this);
    }

    private void Remember(ushort sequence, Instant now, int dataHash)
    {
        if (!_sent.ContainsKey(sequence))
        {
            if (_sentOrder.Count >= MaxOutstanding && _sentOrder.TryDequeue(out var oldest)) _sent.Remove(oldest);
            _sentOrder.Enqueue(sequence);
        }
        _sent[sequence] = (now, dataHash);
    }

    private static int Hash(ReadOnlySpan<byte> data)
    {
        var h = new HashCode();
        h.AddBytes(data);
        return h.ToHashCode() ^ data.Length;
    }

    /// <summary>Closes the socket: it receives nothing more.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _endpoints.Unregister(this);
        while (_queue.TryDequeue(out var item)) if (item.Data != null) ArrayPool<byte>.Shared.Return(item.Data);
    }
}

/// <summary>
/// One family's open <see cref="IcmpEchoSocket"/>s by identifier (ICMP and ICMPv6 identifiers are separate spaces), bounded;
/// the family's layer looks replies and quoted requests up here.
/// </summary>
internal sealed class EchoEndpoints(StackStatistics statistics, IRandomSource random, int maxSockets, int queueLength)
{
    private readonly Dictionary<ushort, IcmpEchoSocket> _open = [];

    public StackStatistics Statistics { get; } = statistics;

    /// <summary>Results an echo socket queues unless it was opened with its own capacity.</summary>
    public int QueueLength { get; } = queueLength;

    public bool TryGet(ushort identifier, out IcmpEchoSocket socket) => _open.TryGetValue(identifier, out socket!);

    public bool TryRegister(IcmpEchoSocket socket)
    {
        if (_open.Count >= maxSockets || _open.ContainsKey(socket.Identifier)) return false;
        _open.Add(socket.Identifier, socket);
        return true;
    }

    public void Unregister(IcmpEchoSocket socket)
    {
        if (_open.TryGetValue(socket.Identifier, out var s) && ReferenceEquals(s, socket)) _open.Remove(socket.Identifier);
    }

    /// <summary>A random identifier not in use (tried 64 times; then any random one, which registering may refuse).</summary>
    public ushort PickIdentifier()
    {
        for (int i = 0; i < 64; i++)
        {
            ushort id = (ushort)random.NextUInt32();
            if (!_open.ContainsKey(id)) return id;
        }
        return (ushort)random.NextUInt32();
    }
}
