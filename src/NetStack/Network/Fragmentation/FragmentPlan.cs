namespace NetStack.Network.Fragmentation;

/// <summary>One fragment of a <see cref="FragmentPlan"/>.</summary>
/// <param name="Offset">Offset within the payload being split, in bytes (a multiple of 8: the wire field counts 8-byte units).</param>
/// <param name="Length">Data bytes in this fragment (a multiple of 8 unless it is the last).</param>
/// <param name="More">The More Fragments flag to write: set on all but the last (kept on the last when re-fragmenting a non-last fragment).</param>
/// <param name="IsFirst">The first fragment (IPv4: carries every option; later ones only the copied ones).</param>
internal readonly record struct FragmentSlice(int Offset, int Length, bool More, bool IsFirst);

/// <summary>
/// How a payload is cut to fit an MTU, for either family (RFC 791 §3.2 "An Example Fragmentation Procedure", RFC 8200
/// §4.5): offsets are multiples of 8 bytes, every fragment, its header included, fits the MTU. The headers are the
/// writer's business: the plan takes only their lengths (IPv4: the first fragment's header with all options and the
/// later ones' with the copied options, RFC 791 §3.1; IPv6: the unfragmentable part plus the Fragment header, the same
/// for every fragment). Pure arithmetic, enumerated lazily without allocation.
/// </summary>
internal struct FragmentPlan
{
    private readonly int _payloadLength;
    private readonly int _firstMax;
    private readonly int _laterMax;
    private readonly bool _originalMore;
    private int _next;
    private FragmentSlice _current;

    private FragmentPlan(int payloadLength, int firstMax, int laterMax, bool originalMore)
    {
        _payloadLength = payloadLength;
        _firstMax = firstMax;
        _laterMax = laterMax;
        _originalMore = originalMore;
        _next = IsPossibleFor(firstMax, laterMax) ? 0 : -1;
        _current = default;
    }

    /// <summary>The largest data a non-last fragment may carry under <paramref name="mtu"/> behind <paramref name="headerLength"/> bytes of headers.</summary>
    public static int MaxFragmentData(int mtu, int headerLength) => (mtu - headerLength) & ~7;

    /// <summary>
    /// Plans the fragments of <paramref name="payloadLength"/> bytes. <paramref name="originalMore"/> is the MF flag of the
    /// packet being split (true when a router re-fragments a non-last IPv4 fragment: its last piece keeps MF).
    /// The plan is empty (<see cref="IsPossible"/> false) when the MTU leaves no room for 8 data bytes.
    /// </summary>
    public static FragmentPlan Create(int payloadLength, int mtu, int firstHeaderLength, int laterHeaderLength, bool originalMore = false) =>
        new(payloadLength, MaxFragmentData(mtu, firstHeaderLength), MaxFragmentData(mtu, laterHeaderLength), originalMore);

    /// <summary>Every fragment can carry at least 8 bytes of data.</summary>
    public readonly bool IsPossible => IsPossibleFor(_firstMax, _laterMax);

    /// <summary>Data bytes of every fragment but the last (the first when the headers differ).</summary>
    public readonly int ChunkSize => _firstMax;

    /// <summary>How many fragments (0 when impossible; 1 for an empty payload).</summary>
    public readonly int Count =>
        !IsPossible ? 0
        : _payloadLength <= _firstMax ? 1
        : 1 + (_payloadLength - _firstMax + _laterMax - 1) / _laterMax;

    /// <summary>Fragment <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>).</summary>
    public readonly FragmentSlice this[int index]
    {
        get
        {
            int offset = index == 0 ? 0 : _firstMax + (index - 1) * _laterMax;
            int length = Math.Min(index == 0 ? _firstMax : _laterMax, _payloadLength - offset);
            bool last = index == Count - 1;
            return new FragmentSlice(offset, length, !last || _originalMore, index == 0);
        }
    }

    public readonly FragmentSlice Current => _current;

    public readonly FragmentPlan GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_next < 0 || (_next >= _payloadLength && !(_next == 0 && _payloadLength == 0))) return false;
        bool first = _next == 0;
        int max = first ? _firstMax : _laterMax;
        int length = Math.Min(max, _payloadLength - _next);
        bool last = _next + length >= _payloadLength;
        _current = new FragmentSlice(_next, length, !last || _originalMore, first);
        _next = last ? int.MaxValue : _next + length;
        return true;
    }

    private static bool IsPossibleFor(int firstMax, int laterMax) => firstMax >= 8 && laterMax >= 8;
}
