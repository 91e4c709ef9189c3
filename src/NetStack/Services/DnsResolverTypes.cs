using NetStack.Wire;

namespace NetStack.Services;

/// <summary>Identifies one query started on a <see cref="DnsResolverEngine"/>.</summary>
public readonly record struct DnsQueryHandle(long Id);

/// <summary>How a query ended.</summary>
public enum DnsQueryStatus
{
    /// <summary>Answers of the asked type were found (possibly through a CNAME chain).</summary>
    Success,
    /// <summary>The name exists but has no record of the asked type (RFC 2308 §2.2 NODATA).</summary>
    NoData,
    /// <summary>RCODE 3: the name does not exist (RFC 1035 §4.1.1, RFC 2308 §2.1).</summary>
    NameError,
    /// <summary>Every server failed (SERVFAIL, REFUSED, NOTIMP, FORMERR) on every try.</summary>
    ServerFailure,
    /// <summary>No server answered within the configured tries.</summary>
    Timeout,
    /// <summary>The answer had TC set: retry this query over TCP (RFC 7766 §5).</summary>
    Truncated,
    /// <summary>The name is not a valid domain name.</summary>
    InvalidName,
    /// <summary>Too many queries in flight; nothing was sent.</summary>
    TooManyQueries,
}

/// <summary>The outcome of a query.</summary>
public sealed record DnsResult(
    DnsQueryHandle Handle,
    string Name,
    DnsType Type,
    DnsQueryStatus Status,
    IReadOnlyList<IpAddress> Addresses,
    IReadOnlyList<string> Names,
    string? CanonicalName,
    TimeSpan Ttl,
    bool FromCache,
    DnsRcode Rcode = DnsRcode.NoError);

/// <summary>A datagram the shell must send (to UDP port 53 of <see cref="Server"/>, from a port it chose for <see cref="Handle"/>).</summary>
public readonly record struct DnsOutgoing(DnsQueryHandle Handle, IpAddress Server, ReadOnlyMemory<byte> Payload);

/// <summary>Configuration of a <see cref="DnsResolverEngine"/>.</summary>
public sealed record DnsResolverOptions(IReadOnlyList<IpAddress> Servers)
{
    /// <summary>Time to wait for one server before trying the next.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Rounds over the whole server list before giving up (resolv.conf "attempts").</summary>
    public int Attempts { get; init; } = 2;
    /// <summary>Cache entries kept; the one closest to expiry is evicted first.</summary>
    public int CacheCapacity { get; init; } = 256;
    /// <summary>Negative-cache time when no SOA came with a negative answer.</summary>
    public TimeSpan DefaultNegativeTtl { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>RFC 2308 §5: negative answers are cached at most a few hours.</summary>
    public TimeSpan MaxNegativeTtl { get; init; } = TimeSpan.FromHours(3);
    /// <summary>RFC 8767 §4: a cap on positive TTLs.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromDays(1);
    /// <summary>Queries in flight at once.</summary>
    public int MaxOutstanding { get; init; } = 64;
    /// <summary>CNAME links followed inside one answer.</summary>
    public int MaxCnameChain { get; init; } = 8;
}
