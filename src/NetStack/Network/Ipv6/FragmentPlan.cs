namespace NetStack.Network.Ipv6;

/// <summary>
/// How a packet is cut to fit a path MTU (RFC 8200 §4.5): every fragment carries the unfragmentable part
/// and a Fragment header; the fragmentable data is split into chunks that are multiples of 8 bytes
/// except the last. Pure arithmetic; the layer writes the fragments.
/// </summary>
internal readonly record struct FragmentPlan(int ChunkSize, int PayloadLength)
{
    public const int FragmentHeaderLength = 8;

    /// <summary>Plans the fragmentation of <paramref name="fragmentableLength"/> bytes behind <paramref name="unfragmentableLength"/> bytes of headers (IPv6 header included).</summary>
    /// <returns>False when not even 8 bytes of data fit in one fragment.</returns>
    public static bool TryCreate(int unfragmentableLength, int fragmentableLength, int pathMtu, out FragmentPlan plan)
    {
        // RFC 8200 §5: a source never fragments to less than the minimum MTU's worth.
        int mtu = Math.Max(pathMtu, PathMtuCache.MinimumMtu);
        int chunk = (mtu - unfragmentableLength - FragmentHeaderLength) & ~7;
        plan = new FragmentPlan(chunk, fragmentableLength);
        return chunk >= 8;
    }

    public int Count => PayloadLength == 0 ? 1 : (PayloadLength + ChunkSize - 1) / ChunkSize;

    /// <summary>Offset (bytes) of fragment <paramref name="index"/> in the fragmentable part.</summary>
    public int Offset(int index) => index * ChunkSize;

    public int Length(int index) => Math.Min(ChunkSize, PayloadLength - Offset(index));

    public bool MoreFragments(int index) => index < Count - 1;
}
