using NetStack.Network.Fragmentation;
using NetStack.Network.PathMtu;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>RFC 791 §3.2: fragments belong to one datagram when source, destination, protocol and identification agree.</summary>
internal readonly record struct Ipv4FragmentKey(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, ushort Identification);

/// <summary>
/// IPv4's rules for the family-neutral machinery (<see cref="PathMtuCache{TAddress, TPolicy}"/> and the others under
/// Network/): a type with static members only, used as a generic argument, so the rules cost no call through an object.
/// </summary>
internal readonly struct Ipv4Family : IPathMtuPolicy, IReassemblyPolicy
{
    /// <summary>RFC 791 §3.2 / RFC 1191 §3: "A host MUST never reduce its estimate of the Path MTU below 68 octets."</summary>
    public static int MinimumMtu => 68;

    /// <summary>RFC 1191 §7 "Table 7-1" plateaus, for reports from routers that do not give the next-hop MTU (RFC 1191 §5).</summary>
    public static ReadOnlySpan<int> Plateaus => [65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

    /// <summary>
    /// RFC 1191 §5: an old-style report (MTU 0), or a nonsensical one not below the datagram's size, gives the next
    /// plateau below the size of the datagram that was too big (its Total Length, else the current estimate).
    /// </summary>
    public static int Estimate(int reportedMtu, int originalLength, int currentMtu) =>
        reportedMtu <= 0 || reportedMtu >= originalLength && originalLength > 0
            ? PlateauBelow(originalLength > 0 ? originalLength : currentMtu)
            : reportedMtu;

    /// <summary>The largest RFC 1191 plateau strictly below <paramref name="size"/> (68 at least).</summary>
    public static int PlateauBelow(int size)
    {
        foreach (int p in Plateaus) if (p < size) return p;
        return 68;
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> the options of <paramref name="options"/> (a validated options area)
    /// whose copy flag is set, for fragments after the first (RFC 791 §3.1: "the copied flag indicates that this
    /// option is copied into all fragments on fragmentation"); returns their length before padding.
    /// </summary>
    public static int CopiedOptions(ReadOnlySpan<byte> options, Span<byte> destination)
    {
        int length = 0;
        foreach (var option in new Ipv4OptionEnumerator(options))
        {
            if (!option.Copied) continue;
            length += Wire.Ipv4Options.Write(destination[length..], option.Type, option.Data);
        }
        return length;
    }

    // Reassembly (RFC 791 §3.2, RFC 815; Linux ip_fragment.c where the RFC leaves a choice).

    /// <summary>The largest IPv4 header (IHL 15, RFC 791 §3.1): the first fragment's header always fits in front of the data.</summary>
    public static int HeaderRoom => 60;

    /// <summary>Linux ip_frag_queue: a non-last fragment is trimmed to a multiple of 8 (RFC 791 §3.2 wants one), not refused.</summary>
    public static bool TrimsNonLastFragments => true;

    /// <summary>An empty last fragment (MF clear) fixes the datagram's end (RFC 791 §3.2: Total Length and offset give it).</summary>
    public static bool AcceptsEmptyLastFragment => true;

    /// <summary>RFC 791 §3.1: Total Length counts the header too.</summary>
    public static int CountedHeaderLength(int headerLength) => headerLength;

    /// <summary>The "ping of death" train (RFC 791 §3.1 limit) is dropped whole, as Linux's ip_frag_queue does.</summary>
    public static bool TooLargeDiscardsDatagram => true;

    /// <summary>IPv4 compares overlapping bytes (RFC 1858; RFC 5722 is IPv6's): identical ones are accepted.</summary>
    public static bool DiscardsOnAnyOverlap => false;

    /// <summary>A full reassembly table refuses new datagrams (the ones under way are not sacrificed to a flood).</summary>
    public static bool EvictsOldestWhenFull => false;

    /// <summary>The buffers themselves are counted (Linux's truesize accounting against ipfrag_high_thresh).</summary>
    public static bool CountsBufferCapacity => true;

    /// <summary>The first fragment's header is kept as received; the layer rewrites it as an unfragmented one (as Linux's
    /// ip_frag_reasm does) once it has parsed it.</summary>
    public static int FinishHeader(Span<byte> header, int headerTag, int payloadLength) => header.Length;
}
