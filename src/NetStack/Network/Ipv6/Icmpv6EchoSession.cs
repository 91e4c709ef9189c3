using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>The answer to one Echo Request: a reply, or an ICMPv6 error quoting the request.</summary>
/// <param name="From">Who answered (the target, or the router reporting an error).</param>
/// <param name="Sequence">The sequence number of the request answered.</param>
/// <param name="HopLimit">The hop limit of the answer as received.</param>
/// <param name="RoundTrip">Time since the request with this sequence number was sent (zero when unknown).</param>
/// <param name="DataLength">Echo data length of a reply.</param>
/// <param name="IsError">An ICMPv6 error rather than a reply.</param>
/// <param name="ErrorType">ICMPv6 type of the error (1-4), 0 for a reply.</param>
/// <param name="ErrorCode">ICMPv6 code of the error.</param>
/// <param name="ErrorParameter">MTU of a Packet Too Big, pointer of a Parameter Problem.</param>
/// <param name="ReceivedAt">When it arrived.</param>
/// <param name="DataMatches">A reply whose data equals what was sent (RFC 4443 §4.2: the reply carries the request's data).</param>
public readonly record struct Icmpv6EchoResult(Ipv6Address From, ushort Sequence, byte HopLimit, TimeSpan RoundTrip, int DataLength,
    bool IsError, byte ErrorType, byte ErrorCode, uint ErrorParameter, Instant ReceivedAt, bool DataMatches);

/// <summary>
/// A sans-IO ICMPv6 echo endpoint (for the async ping API and ICMP traceroute): sends Echo Requests with an
/// identifier of its own, then matches replies and errors quoting its requests, with round-trip times from
/// the instants the requests were sent. Results wait in a bounded queue (overflow counted in <see cref="Dropped"/>).
/// Use it on the stack's thread only.
/// </summary>
public sealed class Icmpv6EchoSession : IDisposable
{
    private const int SentSlots = 256;
    private readonly Ipv6Layer _layer;
    private readonly Queue<Icmpv6EchoResult> _results = new();
    private readonly Instant[] _sentAt = new Instant[SentSlots];
    private readonly ushort[] _sentSeq = new ushort[SentSlots];
    private readonly bool[] _sentValid = new bool[SentSlots];
    private readonly int[] _sentHash = new int[SentSlots];

    internal Icmpv6EchoSession(Ipv6Layer layer, ushort identifier, int capacity)
    {
        _layer = layer;
        Identifier = identifier;
        Capacity = capacity;
    }

    /// <summary>The echo identifier of this session's requests.</summary>
    public ushort Identifier { get; }
    /// <summary>How many results the session queues before dropping.</summary>
    public int Capacity { get; }
    /// <summary>Results dropped because the queue was full.</summary>
    public long Dropped { get; private set; }
    /// <summary>True once disposed.</summary>
    public bool IsClosed { get; private set; }
    /// <summary>Results waiting to be received.</summary>
    public int Available => _results.Count;

    /// <summary>Raised (on the stack's thread) when a result was queued.</summary>
    public event Action<Icmpv6EchoSession>? Readable;

    /// <summary>
    /// Sends an Echo Request to <paramref name="destination"/>. <paramref name="hopLimit"/> 0 = default;
    /// <paramref name="source"/> unspecified = chosen by RFC 6724; <paramref name="interfaceIndex"/> -1 = by route
    /// (needed for link-local destinations on hosts with several interfaces). Large data is fragmented.
    /// </summary>
    public IpSendResult Send(Ipv6Address destination, ushort sequence, ReadOnlySpan<byte> data, Instant now,
        byte hopLimit = 0, Ipv6Address source = default, int interfaceIndex = -1)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        int slot = sequence % SentSlots;
        _sentAt[slot] = now;
        _sentSeq[slot] = sequence;
        _sentValid[slot] = true;
        _sentHash[slot] = Hash(data);
        return _layer.SendEchoRequest(destination, source, Identifier, sequence, data, hopLimit, interfaceIndex, now);
    }

    /// <summary>Takes the oldest result (a reply or an error quoting a request); false when none is queued.</summary>
    public bool TryReceive(out Icmpv6EchoResult result) => _results.TryDequeue(out result);

    internal void OnReply(Ipv6Address from, ushort sequence, byte hopLimit, ReadOnlySpan<byte> data, Instant now)
    {
        int slot = sequence % SentSlots;
        bool known = _sentValid[slot] && _sentSeq[slot] == sequence;
        var rtt = known ? now - _sentAt[slot] : TimeSpan.Zero;
        Enqueue(new Icmpv6EchoResult(from, sequence, hopLimit, rtt, data.Length, false, 0, 0, 0, now, known && _sentHash[slot] == Hash(data)));
    }

    internal void OnError(in IcmpErrorInfo error, ushort sequence, Instant now)
    {
        int slot = sequence % SentSlots;
        bool known = _sentValid[slot] && _sentSeq[slot] == sequence;
        var rtt = known ? now - _sentAt[slot] : TimeSpan.Zero;
        Enqueue(new Icmpv6EchoResult(error.Reporter.V6, sequence, error.ReceivedTtl, rtt, 0, true, error.Type, error.Code, error.Parameter, now, false));
    }

    private void Enqueue(in Icmpv6EchoResult r)
    {
        if (IsClosed) return;
        if (_results.Count >= Capacity) { Dropped++; return; }
        _results.Enqueue(r);
        Readable?.Invoke(this);
    }

    private static int Hash(ReadOnlySpan<byte> data)
    {
        var h = new HashCode();
        h.AddBytes(data);
        return h.ToHashCode() ^ data.Length;
    }

    /// <summary>Closes the session: it receives nothing more.</summary>
    public void Dispose()
    {
        if (IsClosed) return;
        IsClosed = true;
        _layer.CloseEcho(this);
    }
}
