using System.Buffers.Binary;
using NetStack.Network.Fragmentation;
using NetStack.Network.PathMtu;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>RFC 8200 §4.5: fragments of one original packet share source, destination and Fragment Identification.</summary>
internal readonly record struct Ipv6FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification);

/// <summary>
/// IPv6's rules for the family-neutral machinery (<see cref="PathMtuCache{TAddress, TPolicy}"/> and the others under
/// Network/): a type with static members only, used as a generic argument, so the rules cost no call through an object.
/// </summary>
internal readonly struct Ipv6Family : IPathMtuPolicy, IReassemblyPolicy
{
    /// <summary>RFC 8200 §5: every link carries 1280 bytes; RFC 8201 §4: a reported MTU below it still leaves 1280 (no atomic fragments, RFC 8021).</summary>
    public static int MinimumMtu => 1280;

    /// <summary>RFC 8201 §4: the Packet Too Big's MTU field is the estimate (the floor is applied by the cache).</summary>
    public static int Estimate(int reportedMtu, int originalLength, int currentMtu) => reportedMtu;

    /// <summary>The MTU a source fragments to: RFC 8200 §5, never less than the minimum MTU's worth.</summary>
    public static int SourceFragmentMtu(int pathMtu) => Math.Max(pathMtu, MinimumMtu);

    // Reassembly (RFC 8200 §4.5, hardened by RFC 5722 and RFC 6946; RFC 7112 is checked by the layer before a first
    // fragment gets here). The stored header of a fragment is its packet up to and including the Fragment header.

    private const int FixedHeaderSize = 40;
    private const int FragmentHeaderSize = 8;

    /// <summary>The fixed header and the Fragment header; a first fragment with extension headers before it widens the room.</summary>
    public static int HeaderRoom => FixedHeaderSize + FragmentHeaderSize;

    /// <summary>RFC 8200 §4.5: with M set, a length that is not a multiple of 8 is refused (Parameter Problem code 0).</summary>
    public static bool TrimsNonLastFragments => false;

    /// <summary>A non-atomic fragment without data carries nothing: it is inconsistent.</summary>
    public static bool AcceptsEmptyLastFragment => false;

    /// <summary>RFC 8200 §4.5: the unfragmentable part after the fixed header, plus offset and length, must not exceed 65,535.</summary>
    public static int CountedHeaderLength(int headerLength) => headerLength - FixedHeaderSize - FragmentHeaderSize;

    /// <summary>RFC 8200 §4.5: "that fragment must be discarded" (the packet's other fragments are kept).</summary>
    public static bool TooLargeDiscardsDatagram => false;

    /// <summary>RFC 5722 §4 (and RFC 8200 §4.5): overlapping fragments discard the whole packet silently, those not yet received too.</summary>
    public static bool DiscardsOnAnyOverlap => true;

    /// <summary>A full reassembly table makes room by forgetting the packet closest to its timeout.</summary>
    public static bool EvictsOldestWhenFull => true;

    /// <summary>The fragment data held is counted (<see cref="Ipv6Settings.ReassemblyMaxBytes"/>).</summary>
    public static bool CountsBufferCapacity => false;

    /// <summary>
    /// RFC 8200 §4.5: the reassembled packet is the first fragment's unfragmentable part, its Next Header (of the last
    /// unfragmentable header, at <paramref name="headerTag"/>) taken from the Fragment header's Next Header, with the
    /// Payload Length covering the reassembled packet, followed by the fragmentable part; the Fragment header goes.
    /// </summary>
    public static int FinishHeader(Span<byte> header, int headerTag, int payloadLength)
    {
        int unfragmentable = header.Length - FragmentHeaderSize;
        byte nextHeader = header[unfragmentable];
        header[..unfragmentable].CopyTo(header[FragmentHeaderSize..]); // overlapping: CopyTo moves as memmove does
        var finished = header[FragmentHeaderSize..];
        finished[headerTag] = nextHeader;
        BinaryPrimitives.WriteUInt16BigEndian(finished[4..], (ushort)(unfragmentable - FixedHeaderSize + payloadLength));
        return unfragmentable;
    }
}
