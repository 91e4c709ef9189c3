using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>One fragment of a plan: <see cref="Offset"/> and <see cref="Length"/> within the payload being split.</summary>
/// <param name="Offset">Offset within the payload being split, in bytes (a multiple of 8).</param>
/// <param name="Length">Data bytes in this fragment (a multiple of 8 unless it is the last).</param>
/// <param name="More">The MF flag to write (RFC 791 §3.2: set on all but the last; kept when re-fragmenting a non-last fragment).</param>
/// <param name="IsFirst">Carries the whole header (all options); later fragments carry only the copied ones.</param>
public readonly record struct Ipv4FragmentSlice(int Offset, int Length, bool More, bool IsFirst);

/// <summary>
/// Fragmentation on send and when forwarding (RFC 791 §3.2 "An Example Fragmentation Procedure"):
/// the payload is cut at multiples of 8 bytes so that each fragment, header included, fits the MTU.
/// The first fragment keeps every option; later ones keep only options whose copy flag is set
/// (RFC 791 §3.1), so they may have a shorter header and hence carry more data.
/// </summary>
public static class Ipv4Fragmenter
{
    /// <summary>The largest data a non-last fragment may carry under <paramref name="mtu"/> with a header of <paramref name="headerLength"/>.</summary>
    public static int MaxFragmentData(int mtu, int headerLength) => (mtu - headerLength) & ~7;

    /// <summary>
    /// Plans the fragments of <paramref name="payloadLength"/> bytes. <paramref name="originalMore"/> is the MF flag of the
    /// datagram being split (true when a router re-fragments a non-last fragment: its last piece keeps MF).
    /// Returns an empty plan when the MTU leaves no room for 8 data bytes.
    /// </summary>
    public static FragmentPlan Plan(int payloadLength, int mtu, int firstHeaderLength, int laterHeaderLength, bool originalMore = false) =>
        new(payloadLength, MaxFragmentData(mtu, firstHeaderLength), MaxFragmentData(mtu, laterHeaderLength), originalMore);

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

    /// <summary>How many fragments <see cref="Plan"/> yields (0 when impossible).</summary>
    public static int Count(int payloadLength, int mtu, int firstHeaderLength, int laterHeaderLength)
    {
        int n = 0;
        foreach (var _ in Plan(payloadLength, mtu, firstHeaderLength, laterHeaderLength)) n++;
        return n;
    }

    /// <summary>A lazily enumerated fragmentation plan (no allocation).</summary>
    public struct FragmentPlan
    {
        private readonly int _payloadLength;
        private readonly int _firstMax;
        private readonly int _laterMax;
        private readonly bool _originalMore;
        private int _next;
        private Ipv4FragmentSlice _current;

        internal FragmentPlan(int payloadLength, int firstMax, int laterMax, bool originalMore)
        {
            _payloadLength = payloadLength;
            _firstMax = firstMax;
            _laterMax = laterMax;
            _originalMore = originalMore;
            _next = firstMax < 8 || laterMax < 8 ? -1 : 0;
            _current = default;
        }

        public readonly Ipv4FragmentSlice Current => _current;

        public readonly FragmentPlan GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_next < 0 || (_next >= _payloadLength && !(_next == 0 && _payloadLength == 0))) return false;
            bool first = _next == 0;
            int max = first ? _firstMax : _laterMax;
            int length = Math.Min(max, _payloadLength - _next);
            bool last = _next + length >= _payloadLength;
            _current = new Ipv4FragmentSlice(_next, length, !last || _originalMore, first);
            _next = last ? int.MaxValue : _next + length;
            return true;
        }
    }
}
