namespace NetStack.Wire;

/// <summary>Resource record types (RFC 1035 §3.2.2, RFC 3596 §2.1). Others are carried as opaque rdata.</summary>
public enum DnsType : ushort
{
    /// <summary>A host address (IPv4).</summary>
    A = 1,
    /// <summary>An authoritative name server.</summary>
    NS = 2,
    /// <summary>The canonical name of an alias.</summary>
    CNAME = 5,
    /// <summary>The start of a zone of authority.</summary>
    SOA = 6,
    /// <summary>A domain name pointer (reverse lookups).</summary>
    PTR = 12,
    /// <summary>A mail exchange.</summary>
    MX = 15,
    /// <summary>Text strings.</summary>
    TXT = 16,
    /// <summary>A host address (IPv6, RFC 3596).</summary>
    AAAA = 28,
    /// <summary>The EDNS(0) pseudo-record (RFC 6891).</summary>
    OPT = 41,
    /// <summary>Any type (queries only).</summary>
    ANY = 255,
}

/// <summary>Classes (RFC 1035 §3.2.4).</summary>
public enum DnsClass : ushort
{
    /// <summary>The Internet.</summary>
    IN = 1,
    /// <summary>Any class (queries only).</summary>
    ANY = 255,
}

/// <summary>Header OPCODE (RFC 1035 §4.1.1).</summary>
public enum DnsOpcode : byte
{
    /// <summary>A standard query.</summary>
    Query = 0,
    /// <summary>An inverse query (obsolete, RFC 3425).</summary>
    InverseQuery = 1,
    /// <summary>A server status request.</summary>
    Status = 2,
}

/// <summary>Header RCODE (RFC 1035 §4.1.1).</summary>
public enum DnsRcode : byte
{
    /// <summary>No error.</summary>
    NoError = 0,
    /// <summary>The server could not interpret the query.</summary>
    FormatError = 1,
    /// <summary>The server failed.</summary>
    ServerFailure = 2,
    /// <summary>The name does not exist (NXDOMAIN).</summary>
    NameError = 3,
    /// <summary>The server does not support the query.</summary>
    NotImplemented = 4,
    /// <summary>The server refused the query.</summary>
    Refused = 5,
}

/// <summary>The section a resource record was found in (RFC 1035 §4.1).</summary>
public enum DnsSection : byte
{
    /// <summary>The question section.</summary>
    Question = 0,
    /// <summary>The answer section.</summary>
    Answer = 1,
    /// <summary>The authority section.</summary>
    Authority = 2,
    /// <summary>The additional section.</summary>
    Additional = 3,
}

/// <summary>The meaningful header fields of a DNS message, without the counts (RFC 1035 §4.1.1).</summary>
public readonly record struct DnsHeader(
    ushort Id,
    bool IsResponse = false,
    DnsOpcode Opcode = DnsOpcode.Query,
    bool Authoritative = false,
    bool Truncated = false,
    bool RecursionDesired = true,
    bool RecursionAvailable = false,
    DnsRcode Rcode = DnsRcode.NoError)
{
    /// <summary>Bytes in the header.</summary>
    public const int Length = 12;

    internal ushort Flags =>
        (ushort)((IsResponse ? 0x8000 : 0) | (((int)Opcode & 0xF) << 11) | (Authoritative ? 0x0400 : 0)
            | (Truncated ? 0x0200 : 0) | (RecursionDesired ? 0x0100 : 0) | (RecursionAvailable ? 0x0080 : 0)
            | ((int)Rcode & 0xF));

    internal static DnsHeader FromFlags(ushort id, ushort f) => new(id,
        (f & 0x8000) != 0, (DnsOpcode)((f >> 11) & 0xF), (f & 0x0400) != 0, (f & 0x0200) != 0,
        (f & 0x0100) != 0, (f & 0x0080) != 0, (DnsRcode)(f & 0xF));
}
