namespace NetStack.Storage;

/// <summary>
/// Tracks which byte ranges past a moving front have arrived out of order (the TCP reassembly
/// bookkeeping; the bytes themselves live in a <see cref="RingBuffer"/>). Holds at most
/// <see cref="MaxRanges"/> disjoint ranges; a segment that would need more is refused (and the
/// sender retransmits it later). Offsets are relative to the front (RCV.NXT). The range table is
/// taken on demand (it starts empty and doubles up to the bound), so a connection that never sees
/// a hole keeps none.
/// </summary>
internal sealed class Assembler
{
    /// <summary>The default bound on disjoint out-of-order ranges.</summary>
    public const int DefaultMaxRanges = 8;

    private (int Start, int End)[] _ranges = [];
    private readonly int _maxRanges;
    private int _count;
    private int _lastIndexHint = -1;

    public Assembler(int maxRanges = DefaultMaxRanges)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRanges);
        _maxRanges = maxRanges;
    }

    public int MaxRanges => _maxRanges;
    public int Count => _count;
    public bool IsEmpty => _count == 0;

    /// <summary>The i-th range (start, end exclusive) in offset order.</summary>
    public (int Start, int End) this[int i] => (uint)i < (uint)_count ? _ranges[i] : default;

    /// <summary>The range that contains the most recently added bytes, or -1 (RFC 2018 §4: it goes first in SACK).</summary>
    public int LastChangedIndex => _lastIndexHint < _count ? _lastIndexHint : -1;

    /// <summary>
    /// Records that [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="size"/>) has arrived,
    /// merging with neighbours. False (and nothing changed) when it would need more than <see cref="MaxRanges"/> ranges.
    /// </summary>
    public bool Add(int offset, int size)
    {
        if (size <= 0 || offset < 0) return size == 0;
        int start = offset, end = offset + size;
        // Find the first range whose end >= start (can merge or lies after).
        int i = 0;
        while (i < _count && _ranges[i].End < start) i++;
        int j = i;
        while (j < _count && _ranges[j].Start <= end)
        {
            start = Math.Min(start, _ranges[j].Start);
            end = Math.Max(end, _ranges[j].End);
            j++;
        }
        int merged = j - i;
        if (merged == 0)
        {
            if (_count == _ranges.Length)
            {
                if (_count == _maxRanges) return false;
                Array.Resize(ref _ranges, Math.Min(_maxRanges, Math.Max(4, 2 * _count)));
            }
            Array.Copy(_ranges, i, _ranges, i + 1, _count - i);
            _count++;
        }
        else if (merged > 1)
        {
            Array.Copy(_ranges, j, _ranges, i + 1, _count - j);
            _count -= merged - 1;
        }
        _ranges[i] = (start, end);
        _lastIndexHint = i;
        return true;
    }

    /// <summary>Bytes contiguous from the front (offset 0), which become in-order data. Does not shift.</summary>
    public int FrontLength => _count > 0 && _ranges[0].Start == 0 ? _ranges[0].End : 0;

    /// <summary>Moves the front forward by <paramref name="count"/> bytes (ranges before it are dropped).</summary>
    public void Advance(int count)
    {
        if (count <= 0) return;
        int w = 0, removed = 0;
        for (int r = 0; r < _count; r++)
        {
            var (s, e) = _ranges[r];
            s -= count; e -= count;
            if (e <= 0) { removed++; continue; } // ranges are sorted: the removed ones are a prefix
            _ranges[w++] = (Math.Max(s, 0), e);
        }
        _lastIndexHint = _lastIndexHint < removed ? -1 : _lastIndexHint - removed;
        _count = w;
    }

    /// <summary>Takes the contiguous bytes at the front: returns their count and advances past them.</summary>
    public int RemoveFront()
    {
        int n = FrontLength;
        Advance(n);
        return n;
    }

    public void Clear()
    {
        _count = 0;
        _lastIndexHint = -1;
    }
}
