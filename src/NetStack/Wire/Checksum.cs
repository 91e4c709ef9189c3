using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// <para>
    /// The bulk is summed with Vector256/Vector128 in native (little-endian) word order and byte-swapped
    /// once after folding: RFC 1071 §2(B) byte-order independence makes that equal, modulo 0xFFFF, to the
    /// big-endian sum, so <see cref="Fold"/> of the result is exactly that of a word-by-word sum.
    /// </para>
    /// </summary>
    public static ulong Accumulate(ReadOnlySpan<byte> data, ulong sum = 0)
    {
        int i = 0;
        if (data.Length >= 64 && BitConverter.IsLittleEndian)
        {
            ulong native = Vector256.IsHardwareAccelerated ? SumNative256(data, out i) : SumNative128(data, out i);
            // RFC 1071 §2(B): a sum of swapped words is the swapped sum; fold first so the swap is exact.
            ushort folded = Fold(native);
            sum += (ushort)((folded << 8) | (folded >> 8));
        }
        // Scalar tail: 64-bit big-endian reads add four words at once (two 32-bit halves).
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong v = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (v >> 32) + (v & 0xFFFFFFFF);
        }
        if (i + 4 <= data.Length) { sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]); i += 4; }
        if (i + 2 <= data.Length) { sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]); i += 2; }
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    // Each 32-bit lane takes its two 16-bit halves per load (at most 2 * 0xFFFF), so a lane cannot
    // overflow within 32,768 loads; chunks of 4 * 8,192 loads are flushed into a 64-bit total.
    private const int LoadsPerFlush = 8192;

    private static ulong SumNative256(ReadOnlySpan<byte> data, out int consumed)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        var low = Vector256.Create(0xFFFFu);
        ulong total = 0;
        int i = 0;
        int end4 = data.Length - 4 * 32;
        while (i <= end4)
        {
            var a0 = Vector256<uint>.Zero;
            var a1 = Vector256<uint>.Zero;
            int stop = Math.Min(end4, i + (LoadsPerFlush - 1) * 4 * 32);
            for (; i <= stop; i += 4 * 32)
            {
                var v0 = Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32();
                var v1 = Vector256.LoadUnsafe(ref start, (nuint)(i + 32)).AsUInt32();
                var v2 = Vector256.LoadUnsafe(ref start, (nuint)(i + 64)).AsUInt32();
                var v3 = Vector256.LoadUnsafe(ref start, (nuint)(i + 96)).AsUInt32();
                a0 += (v0 & low) + (v0 >>> 16) + (v1 & low) + (v1 >>> 16);
                a1 += (v2 & low) + (v2 >>> 16) + (v3 & low) + (v3 >>> 16);
            }
            total += WidenSum(a0) + WidenSum(a1);
        }
        var a = Vector256<uint>.Zero;
        for (; i + 32 <= data.Length; i += 32)
        {
            var v = Vector256.LoadUnsafe(ref start, (nuint)i).AsUInt32();
            a += (v & low) + (v >>> 16);
        }
        total += WidenSum(a);
        consumed = i;
        return total;
    }

    private static ulong SumNative128(ReadOnlySpan<byte> data, out int consumed)
    {
        ref byte start = ref MemoryMarshal.GetReference(data);
        var low = Vector128.Create(0xFFFFu);
        ulong total = 0;
        int i = 0;
        int end = data.Length - 16;
        while (i <= end)
        {
            var a = Vector128<uint>.Zero;
            int stop = Math.Min(end, i + (LoadsPerFlush - 1) * 16);
            for (; i <= stop; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref start, (nuint)i).AsUInt32();
                a += (v & low) + (v >>> 16);
            }
            var (lo, hi) = Vector128.Widen(a);
            total += Vector128.Sum(lo + hi);
        }
        consumed = i;
        return total;
    }

    private static ulong WidenSum(Vector256<uint> a)
    {
        var (lo, hi) = Vector256.Widen(a);
        return Vector256.Sum(lo + hi);
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
