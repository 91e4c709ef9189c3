using System.Text;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// A sans-IO DNS stub resolver: A, AAAA and PTR queries over UDP to a list of recursive servers.
/// <see cref="StartQuery"/> begins a query (answering from the cache when it can), the shell sends what
/// <see cref="TryDequeueOutgoing"/> yields and feeds replies to <see cref="Receive"/>; <see cref="Poll"/>
/// fires per-try timeouts; outcomes come out of <see cref="TryDequeueResult"/>. No clock, no socket:
/// time comes in as <see cref="Instant"/>, query ids from the injected <see cref="IRandomSource"/>.
/// <para>
/// Replies are accepted only if they match id, a server this query was sent to, and the question
/// (RFC 5452 §9.1); everything else is dropped and counted.
/// </para>
/// </summary>
public sealed class DnsResolverEngine : IPollable
{
    /// <summary>RFC 1035 §4.2.1: UDP messages are limited to 512 octets (no EDNS here).</summary>
    public const int MaxUdpMessage = 512;

    private readonly DnsResolverOptions _options;
    private readonly IRandomSource _random;
    private readonly DnsCache _cache;
    private readonly List<Query> _pending = [];
    private readonly Queue<DnsOutgoing> _outbox = new();
    private readonly Queue<DnsResult> _results = new();
    private long _nextHandle = 1;

    private sealed class Query
    {
        public required DnsQueryHandle Handle;
        public required string Name;       // as the caller wrote it
        public required string Key;        // lower-cased wire form, the cache key
        public required byte[] WireName;   // uncompressed wire form
        public required DnsType Type;
        public required byte[] Payload;
        public ushort Id;
        public int Try;                    // index into the (server x attempt) sequence
        public ulong SentTo;               // bit per server index
        public Instant Deadline;
        public DnsRcode LastRcode;
    }

    /// <summary>Creates a resolver with <paramref name="options"/> (servers, timeouts, limits); <paramref name="random"/> picks query identifiers and ports.</summary>
    public DnsResolverEngine(DnsResolverOptions options, IRandomSource random)
    {
        _options = options;
        _random = random;
        _cache = new DnsCache(options.CacheCapacity);
    }

    internal DnsCache Cache => _cache;
    /// <summary>Queries sent and not yet answered.</summary>
    public int Outstanding => _pending.Count;
    /// <summary>Responses dropped as malformed.</summary>
    public long DroppedMalformed { get; private set; }
    /// <summary>Responses dropped because they matched no outstanding query (identifier, server, question).</summary>
    public long DroppedUnmatched { get; private set; }
    /// <summary>Queries dropped because the outgoing queue was full.</summary>
    public long DroppedOutboxFull { get; private set; }

    /// <summary>Earliest per-try deadline among queries in flight.</summary>
    public Instant NextDeadline
    {
        get
        {
            var d = Instant.MaxValue;
            foreach (var q in _pending) d = Instant.Min(d, q.Deadline);
            return d;
        }
    }

    /// <summary>Begins a query for <paramref name="name"/> (A, AAAA or PTR; others are sent as-is, answers opaque).</summary>
    public DnsQueryHandle StartQuery(string name, DnsType type, Instant now)
    {
        var handle = new DnsQueryHandle(_nextHandle++);
        Span<byte> wire = stackalloc byte[DnsName.MaxLength];
        if (!DnsName.TryEncode(name, wire, out int n))
        {
            Complete(Fail(handle, name, type, DnsQueryStatus.InvalidName));
            return handle;
        }
        for (int i = 0; i < n; i++) wire[i] = DnsNameLower(wire[i]);
        string key = KeyOf(wire[..n]);
        if (_cache.TryGet(key, type, now, out var cached))
        {
            Complete(cached with { Handle = handle, Name = name });
            return handle;
        }
        if (_pending.Count >= _options.MaxOutstanding || _options.Servers.Count == 0)
        {
            Complete(Fail(handle, name, type, _options.Servers.Count == 0 ? DnsQueryStatus.Timeout : DnsQueryStatus.TooManyQueries));
            return handle;
        }
        var q = new Query
        {
            Handle = handle, Name = name, Key = key, WireName = wire[..n].ToArray(), Type = type,
            Payload = new byte[MaxUdpMessage],
        };
        // RFC 5452 §9.2: an unpredictable id, unique among our queries in flight.
        do q.Id = (ushort)_random.Next(65536); while (_pending.Exists(p => p.Id == q.Id));
        var w = new DnsWriter(q.Payload, new DnsHeader(q.Id, RecursionDesired: true));
        if (!w.TryAddQuestion(q.WireName, type))
        {
            Complete(Fail(handle, name, type, DnsQueryStatus.InvalidName));
            return handle;
        }
        q.Payload = q.Payload[..w.Length];
        _pending.Add(q);
        Transmit(q, now);
        return handle;
    }

    /// <summary>Forgets a query in flight; its late reply will be dropped.</summary>
    public bool Cancel(DnsQueryHandle handle) => _pending.RemoveAll(q => q.Handle == handle) > 0;

    /// <summary>Takes the next query to send (the caller sends it over UDP); false when none is waiting.</summary>
    public bool TryDequeueOutgoing(out DnsOutgoing outgoing) => _outbox.TryDequeue(out outgoing);

    /// <summary>Takes the next finished lookup; false when none has finished.</summary>
    public bool TryDequeueResult(out DnsResult result) => _results.TryDequeue(out result!);

    /// <summary>Moves queries whose try timed out on to the next server, or fails them with Timeout.</summary>
    public Instant Poll(Instant now)
    {
        for (int i = _pending.Count - 1; i >= 0; i--)
        {
            var q = _pending[i];
            if (now < q.Deadline) continue;
            q.Try++;
            if (q.Try >= TotalTries)
            {
                _pending.RemoveAt(i);
                Complete(Fail(q.Handle, q.Name, q.Type, q.LastRcode == DnsRcode.NoError ? DnsQueryStatus.Timeout : DnsQueryStatus.ServerFailure, q.LastRcode));
                continue;
            }
            Transmit(q, now);
        }
        return NextDeadline;
    }

    /// <summary>Handles a UDP payload that came from port 53 of <paramref name="server"/>.</summary>
    public void Receive(IpAddress server, ReadOnlySpan<byte> payload, Instant now)
    {
        if (!DnsMessage.TryParse(payload, out var m, out _)) { DroppedMalformed++; return; }
        int serverIndex = IndexOfServer(server);
        ushort id = m.Id;
        var q = serverIndex < 0 ? null : _pending.Find(p => p.Id == id && (p.SentTo & (1UL << serverIndex)) != 0);
        if (q is null || !m.IsResponse || m.Opcode != DnsOpcode.Query || !QuestionMatches(m, q))
        {
            DroppedUnmatched++;
            return;
        }
        if (m.Truncated)
        {
            // RFC 7766 §5 / RFC 1035 §4.2.1: a truncated UDP answer is retried over TCP by the caller.
            Finish(q, Fail(q.Handle, q.Name, q.Type, DnsQueryStatus.Truncated, m.Rcode));
            return;
        }
        switch (m.Rcode)
        {
            case DnsRcode.NoError:
                Finish(q, Answer(m, q, now));
                return;
            case DnsRcode.NameError:
            {
                var r = Fail(q.Handle, q.Name, q.Type, DnsQueryStatus.NameError, DnsRcode.NameError) with { Ttl = NegativeTtl(m) };
                _cache.Store(q.Key, q.Type, r, now);
                Finish(q, r);
                return;
            }
            default:
                // SERVFAIL, REFUSED, NOTIMP, FORMERR: this server cannot help; try the next one now.
                q.LastRcode = m.Rcode;
                q.Try++;
                if (q.Try >= TotalTries) Finish(q, Fail(q.Handle, q.Name, q.Type, DnsQueryStatus.ServerFailure, m.Rcode));
                else Transmit(q, now);
                return;
        }
    }

    private int TotalTries => _options.Servers.Count * Math.Max(1, _options.Attempts);

    private int IndexOfServer(IpAddress server)
    {
        for (int i = 0; i < _options.Servers.Count && i < 64; i++)
        {
            if (_options.Servers[i] == server) return i;
        }
        return -1;
    }

    private void Transmit(Query q, Instant now)
    {
        int s = q.Try % _options.Servers.Count;
        if (s < 64) q.SentTo |= 1UL << s;
        q.Deadline = now + _options.Timeout;
        if (_outbox.Count >= 4 * _options.MaxOutstanding) { DroppedOutboxFull++; return; }
        _outbox.Enqueue(new DnsOutgoing(q.Handle, _options.Servers[s], q.Payload));
    }

    private static bool QuestionMatches(DnsMessage m, Query q)
    {
        // RFC 5452 §9.1: the reply must repeat our question exactly (name case-insensitively).
        if (m.QuestionCount != 1) return false;
        foreach (var question in m.Questions)
        {
            return question.Type == q.Type && question.Class == DnsClass.IN && question.Name.NameEquals(q.WireName);
        }
        return false;
    }

    private DnsResult Answer(DnsMessage m, Query q, Instant now)
    {
        Span<byte> current = stackalloc byte[DnsName.MaxLength];
        q.WireName.CopyTo(current);
        int currentLength = q.WireName.Length;
        var addresses = new List<IpAddress>();
        var names = new List<string>();
        string? canonical = null;
        uint ttl = uint.MaxValue;
        // RFC 1034 §3.6.2 / §5.3.3: follow the CNAME chain inside the answer section.
        for (int hop = 0; hop <= _options.MaxCnameChain; hop++)
        {
            bool followed = false;
            foreach (var rr in m.Records)
            {
                if (rr.Section != DnsSection.Answer || rr.Class != DnsClass.IN || !rr.Name.NameEquals(current[..currentLength])) continue;
                if (rr.Type == q.Type)
                {
                    if (rr.TryGetA(out var a4)) addresses.Add(a4);
                    else if (rr.TryGetAaaa(out var a6)) addresses.Add(a6);
                    else if (rr.TryGetTargetName(out var target)) names.Add(target.ToString());
                    ttl = Math.Min(ttl, rr.Ttl);
                }
                else if (rr.Type == DnsType.CNAME && !followed && rr.TryGetTargetName(out var alias)
                    && alias.TryCopyWire(current, out currentLength, lowerCase: true))
                {
                    canonical = alias.ToString();
                    ttl = Math.Min(ttl, rr.Ttl);
                    followed = true;
                }
            }
            if (!followed || addresses.Count > 0 || names.Count > 0) break;
        }
        DnsResult result;
        if (addresses.Count == 0 && names.Count == 0)
        {
            // RFC 2308 §2.2: NODATA, cached negatively like NXDOMAIN.
            result = Fail(q.Handle, q.Name, q.Type, DnsQueryStatus.NoData) with { CanonicalName = canonical, Ttl = NegativeTtl(m) };
        }
        else
        {
            var t = TimeSpan.FromSeconds(ttl);
            result = new DnsResult(q.Handle, q.Name, q.Type, DnsQueryStatus.Success, addresses, names, canonical,
                t > _options.MaxTtl ? _options.MaxTtl : t, FromCache: false);
        }
        _cache.Store(q.Key, q.Type, result, now);
        return result;
    }

    /// <summary>RFC 2308 §5: the negative TTL is the lesser of the SOA's own TTL and its MINIMUM field.</summary>
    private TimeSpan NegativeTtl(DnsMessage m)
    {
        foreach (var rr in m.Records)
        {
            if (rr.Section == DnsSection.Authority && rr.TryGetSoaMinimum(out uint minimum))
            {
                var t = TimeSpan.FromSeconds(Math.Min(minimum, rr.Ttl));
                return t > _options.MaxNegativeTtl ? _options.MaxNegativeTtl : t;
            }
        }
        return _options.DefaultNegativeTtl;
    }

    private void Finish(Query q, DnsResult result)
    {
        _pending.Remove(q);
        Complete(result);
    }

    private void Complete(DnsResult result)
    {
        // Bounded: a caller that never drains results loses the oldest, never memory.
        if (_results.Count >= 4 * _options.MaxOutstanding) _results.Dequeue();
        _results.Enqueue(result);
    }

    private static DnsResult Fail(DnsQueryHandle h, string name, DnsType type, DnsQueryStatus status, DnsRcode rcode = DnsRcode.NoError) =>
        new(h, name, type, status, [], [], null, TimeSpan.Zero, FromCache: false, rcode);

    private static byte DnsNameLower(byte c) => c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c;

    private static string KeyOf(ReadOnlySpan<byte> wire) => Encoding.Latin1.GetString(wire);
}
