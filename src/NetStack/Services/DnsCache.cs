using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// A bounded cache of query outcomes keyed by (lower-cased name, type), positive and negative
/// (RFC 2308). Entries expire at their TTL; when full, expired entries go first, then the entry
/// closest to expiry.
/// </summary>
internal sealed class DnsCache
{
    private readonly Dictionary<(string Name, DnsType Type), Entry> _entries = new();
    private readonly int _capacity;

    private readonly record struct Entry(DnsResult Result, Instant Stored, Instant Expires);

    public DnsCache(int capacity) => _capacity = Math.Max(0, capacity);

    public int Count => _entries.Count;
    public long Evictions { get; private set; }

    /// <summary>A live entry with its TTL reduced by the time it has spent in the cache.</summary>
    public bool TryGet(string key, DnsType type, Instant now, out DnsResult result)
    {
        if (_entries.TryGetValue((key, type), out var e))
        {
            if (now < e.Expires)
            {
                result = e.Result with { Ttl = e.Expires - now, FromCache = true };
                return true;
            }
            _entries.Remove((key, type));
        }
        result = null!;
        return false;
    }

    public void Store(string key, DnsType type, DnsResult result, Instant now)
    {
        // A zero TTL means "use for this transaction only" (RFC 1035 §3.2.1).
        if (_capacity == 0 || result.Ttl <= TimeSpan.Zero) return;
        if (!_entries.ContainsKey((key, type)) && _entries.Count >= _capacity) Evict(now);
        _entries[(key, type)] = new Entry(result, now, now + result.Ttl);
    }

    private void Evict(Instant now)
    {
        (string, DnsType)? soonest = null;
        Instant soonestAt = Instant.MaxValue;
        List<(string, DnsType)>? expired = null;
        foreach (var (k, e) in _entries)
        {
            if (e.Expires <= now) (expired ??= []).Add(k);
            else if (e.Expires < soonestAt) { soonestAt = e.Expires; soonest = k; }
        }
        if (expired is not null)
        {
            foreach (var k in expired) _entries.Remove(k);
            return;
        }
        if (soonest is { } s) { _entries.Remove(s); Evictions++; }
    }

    public void Clear() => _entries.Clear();
}
