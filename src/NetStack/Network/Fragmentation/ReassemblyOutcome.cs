namespace NetStack.Network.Fragmentation;

/// <summary>
/// What the <see cref="Reassembler{TKey, TPolicy}"/> did with one fragment: one vocabulary for both families. Each
/// family's layer counts the drops under its own <see cref="DropReason"/>.
/// </summary>
internal enum ReassemblyOutcome
{
    /// <summary>Stored; the datagram still has holes.</summary>
    Incomplete,
    /// <summary>The datagram is whole.</summary>
    Complete,
    /// <summary>Data already held, identical: the fragment is dropped, the datagram kept (RFC 8200 §4.5 allows this).</summary>
    Duplicate,
    /// <summary>
    /// The fragment overlaps data already held: the whole datagram is discarded. IPv6: any overlap that is not an exact
    /// duplicate (RFC 5722 §4, RFC 8200 §4.5); IPv4: an overlap with different bytes (in the spirit of RFC 5722; RFC 1858).
    /// </summary>
    Overlap,
    /// <summary>The fragment contradicts the datagram's end (a different last fragment, data past the end, an empty
    /// non-atomic IPv6 fragment): the datagram is discarded.</summary>
    Inconsistent,
    /// <summary>IPv6: a fragment of a datagram already discarded, remembered until its timeout (RFC 5722 §4).</summary>
    AlreadyDiscarded,
    /// <summary>IPv6: M set and a length not a multiple of 8 (RFC 8200 §4.5: Parameter Problem code 0 at the Payload Length).
    /// IPv4 trims such a fragment instead, as Linux does.</summary>
    BadLength,
    /// <summary>The datagram would exceed 65,535 bytes (RFC 791 §3.1 "ping of death", RFC 8200 §4.5).</summary>
    TooLarge,
    /// <summary>A bound (datagrams, bytes held, holes or fragments per datagram) was hit: the fragment (or datagram) is dropped.</summary>
    LimitReached,
    /// <summary>IPv4: a fragment that cannot be part of any datagram (an empty non-last fragment).</summary>
    Malformed,
}
