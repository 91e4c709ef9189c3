namespace NetStack.Wire;

/// <summary>
/// Why a buffer was not accepted as a well-formed header. Every parse failure in the stack is one
/// of these, counted in the statistics under the layer that saw it; none is ever an exception.
/// </summary>
public enum WireError : byte
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The buffer ends before the fixed header, or before a length the header announces.</summary>
    Truncated,
    /// <summary>A length field is impossible (smaller than the header, larger than the buffer allows, not a multiple it must be).</summary>
    BadLength,
    /// <summary>A version field we do not speak.</summary>
    BadVersion,
    /// <summary>A checksum did not verify.</summary>
    BadChecksum,
    /// <summary>An option or TLV has a length that overruns its container or is below its minimum.</summary>
    BadOption,
    /// <summary>A field holds a value the format forbids (reserved bits, impossible combinations).</summary>
    BadField,
    /// <summary>A well-formed header of a kind this parser does not handle (for example, ARP for a non-IPv4 protocol).</summary>
    Unsupported,
    /// <summary>Compression pointers loop or exceed limits, or a name is longer than the format allows.</summary>
    BadName,
    /// <summary>A chain (IPv6 extension headers, VLAN tags) is longer than the configured limit.</summary>
    TooLong,
}
