using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// The sender's record of SACKed ranges above SND.UNA (RFC 6675 §3 "scoreboard"), bounded to
/// <see cref="MaxRanges"/> disjoint ranges (when full, the highest range is forgotten: conservative,
/// it only causes a needless retransmission).
/// </summary>
internal sealed class SackScoreboard
{
    public const int MaxRanges = 16;
    private readonly (SeqNumber Start, SeqNumber End)[] _r = new (SeqNumber, SeqNumber)[MaxRanges];
    private int _count;

    public int Count => _count;
    public bool IsEmpty => _count == 0;
    public (SeqNumber Start, SeqNumber End) this[int i] => _r[i];

    /// <summary>The highest SACKed sequence number (end of the last range), or <paramref name="fallback"/>.</summary>
    public SeqNumber HighestSacked(SeqNumber fallback) => _count == 0 ? fallback : SeqNumber.Max(fallback, _r[_count - 1].End);

    public int SackedBytes
    {
        get
        {
            int n = 0;
            for (int i = 0; i < _count; i++) n += _r[i].End - _r[i].Start;
            return n;
        }
    }

    /// <summary>Adds a block reported by the peer, clipped to (<paramref name="una"/>, <paramref name="max"/>]. True when it covered new bytes.</summary>
    public bool Add(SeqNumber start, SeqNumber end, SeqNumber una, SeqNumber max)
    {
        // RFC 2018 §3 / RFC 6675 §4: ignore blocks below SND.UNA (D-SACK) or beyond what was sent.
        if (start < una) start = una;
        if (end > max) end = max;
        if (end <= start) return false;
        int before = SackedBytes;
        int i = 0;
        while (i < _count && _r[i].End < start) i++;
        int j = i;
        while (j < _count && _r[j].Start <= end)
        {
            start = SeqNumber.Min(start, _r[j].Start);
            end = SeqNumber.Max(end, _r[j].End);
            j++;
        }
        int merged = j - i;
        if (merged == 0)
        {
            if (_count == MaxRanges)
            {
                if (i == _count) return false; // would be the highest: forget it
                _count--;                      // forget the highest to make room
            }
            Array.Copy(_r, i, _r, i + 1, _count - i);
            _count++;
        }
        else if (merged > 1)
        {
            Array.Copy(_r, j, _r, i + 1, _count - j);
            _count -= merged - 1;
        }
        _r[i] = (start, end);
        return SackedBytes != before;
    }

    /// <summary>Drops everything below the new SND.UNA.</summary>
    public void Advance(SeqNumber una)
    {
        int w = 0;
        for (int i = 0; i < _count; i++)
        {
            var (s, e) = _r[i];
            if (e <= una) continue;
            _r[w++] = (SeqNumber.Max(s, una), e);
        }
        _count = w;
    }

    public void Clear() => _count = 0;

    /// <summary>The first sequence number at or after <paramref name="from"/> not SACKed, and where that hole ends (next SACKed start or <paramref name="limit"/>).</summary>
    public SeqNumber NextHole(SeqNumber from, SeqNumber limit, out SeqNumber holeEnd)
    {
        SeqNumber s = from;
        for (int i = 0; i < _count; i++)
        {
            if (_r[i].End <= s) continue;
            if (_r[i].Start <= s) { s = _r[i].End; continue; }
            holeEnd = SeqNumber.Min(_r[i].Start, limit);
            return s;
        }
        holeEnd = limit;
        return s;
    }

    /// <summary>SACKed bytes inside [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public int SackedIn(SeqNumber from, SeqNumber to)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
        {
            var s = SeqNumber.Max(_r[i].Start, from);
            var e = SeqNumber.Min(_r[i].End, to);
            if (e > s) n += e - s;
        }
        return n;
    }
}
