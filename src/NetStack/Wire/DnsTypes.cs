namespace NetStack.Wire;

/// <summary>Resource record types (RFC 1035 §3.2.2, RFC 3596 §2.1). Others are carried as opaque rdata.</summary>
public enum DnsType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    OPT = 41,
    ANY = 255,
}

/// <summary>Classes (RFC 1035 §3.2.4).</summary>
public enum DnsClass : ushort
{
    IN = 1,
    ANY = 255,
}

/// <summary>Header OPCODE (RFC 1035 §4.1.1).</summary>
public enum DnsOpcode : byte
{
    Query = 0,
    InverseQuery = 1,
    Status = 2,
}

/// <summary>Header RCODE (RFC 1035 §4.1.1).</summary>
public enum DnsRcode : byte
{
    NoError = 0,
    FormatError = 1,
    ServerFailure = 2,
    NameError = 3,
    NotImplemented = 4,
    Refused = 5,
}

/// <summary>The section a resource record was found in (RFC 1035 §4.1).</summary>
public enum DnsSection : byte
{
    Question = 0,
    Answer = 1,
    Authority = 2,
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
    public const int Length = 12;

    internal ushort Flags =>
        (ushort)((IsResponse ? 0x8000 : 0) | (((int)Opcode & 0xF) << 11) | (Authoritative ? 0x0400 : 0)
            | (Truncated ? 0x0200 : 0) | (RecursionDesired ? 0x0100 : 0) | (RecursionAvailable ? 0x0080 : 0)
            | ((int)Rcode & 0xF));

    internal static DnsHeader FromFlags(ushort id, ushort f) => new(id,
        (f & 0x8000) != 0, (DnsOpcode)((f >> 11) & 0xF), (f & 0x0400) != 0, (f & 0x0200) != 0,
        (f & 0x0100) != 0, (f & 0x0080) != 0, (DnsRcode)(f & 0xF));
}
