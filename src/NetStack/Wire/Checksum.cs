using System.Buffers.Binary;

namespace NetStack.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the ones'-complement of the ones'-complement sum of 16-bit
/// big-endian words. Partial sums are carried as <see cref="ulong"/> so that pieces (pseudo-header,
/// header, payload) can be added before one final <see cref="Fold"/>.
/// </summary>
public static class Checksum
{
    /// <summary>
    /// Adds the bytes of <paramref name="data"/> to <paramref name="sum"/> as big-endian 16-bit words
    /// (an odd final byte is padded with zero, RFC 1071 §4.1). Only the last piece of a message may be odd.
    /// </summary>
    public static ulong Accumulate(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        int i = 0;
        // 32-bit big-endian reads: each adds two 16-bit words at once; folding happens at the end.
        for (; i + 4 <= data.Length; i += 4) sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        if (i + 2 <= data.Length) { sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]); i += 2; }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    /// <summary>Folds a partial sum to 16 bits (end-around carry), without complementing.</summary>
    public static ushort Fold(ulong sum)
    {
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFFFFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The checksum field value for <paramref name="data"/> (complemented fold).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, ulong initial = 0) => (ushort)~Fold(Accumulate(data, initial));

    /// <summary>True when data that includes its own checksum field sums to 0xFFFF.</summary>
    public static bool Verify(ReadOnlySpan<byte> data, ulong initial = 0) => Fold(Accumulate(data, initial)) == 0xFFFF;

    /// <summary>The IPv4 pseudo-header sum (RFC 768, RFC 9293 §3.1).</summary>
    public static ulong PseudoHeaderV4(Ipv4Address source, Ipv4Address destination, byte protocol, int length) =>
        (ulong)(source.Value >> 16) + (source.Value & 0xFFFF)
        + (destination.Value >> 16) + (destination.Value & 0xFFFF)
        + protocol + (ulong)(uint)length;

    /// <summary>The IPv6 pseudo-header sum (RFC 8200 §8.1): addresses, upper-layer length, next header.</summary>
    public static ulong PseudoHeaderV6(Ipv6Address source, Ipv6Address destination, byte nextHeader, int length) =>
        SumWords(source.High) + SumWords(source.Low) + SumWords(destination.High) + SumWords(destination.Low)
        + ((uint)length >> 16) + ((uint)length & 0xFFFF) + nextHeader;

    /// <summary>The pseudo-header sum for either family.</summary>
    public static ulong PseudoHeader(IpAddress source, IpAddress destination, byte protocol, int length) =>
        source.IsV4 ? PseudoHeaderV4(source.V4, destination.V4, protocol, length)
                    : PseudoHeaderV6(source.V6, destination.V6, protocol, length);

    private static ulong SumWords(ulong v) => (v >> 32) + (v & 0xFFFFFFFF);

    /// <summary>
    /// Incremental update (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')) after one 16-bit word of the
    /// covered data changes from <paramref name="oldWord"/> to <paramref name="newWord"/>.
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        uint sum = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)~sum;
    }
}
