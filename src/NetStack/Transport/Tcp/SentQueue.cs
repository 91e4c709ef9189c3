using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>One transmitted and not yet cumulatively acknowledged segment (RFC 8985 §5.2 per-segment state).</summary>
internal struct SentRecord
{
    public SeqNumber Start;
    /// <summary>One past the last sequence number (a FIN counts as one).</summary>
    public SeqNumber End;
    /// <summary>RFC 8985 §5.2 Segment.xmit_ts: when it was last (re)transmitted.</summary>
    public Instant XmitTs;
    /// <summary>The TSval it was last sent with (RFC 7323), for the RFC 8985 §6.2 step 2 ambiguity test.</summary>
    public uint TsVal;
    /// <summary>A counter of transmissions: the order segments were sent in, which breaks ties of equal <see cref="XmitTs"/>.</summary>
    public long XmitOrder;
    /// <summary>RFC 8985 §5.2 Segment.retransmitted.</summary>
    public bool Retransmitted;
    /// <summary>RFC 8985 §5.2 Segment.lost: deemed lost and not yet retransmitted since.</summary>
    public bool Lost;
    /// <summary>Fully covered by the SACK scoreboard.</summary>
    public bool Sacked;
    // Delivery rate snapshot at the last (re)transmission (draft-cheng-iccrg-delivery-rate-estimation §3.1.1, P.* fields).
    /// <summary>P.delivered: C.delivered when it was sent.</summary>
    public long TxDelivered;
    /// <summary>P.delivered_time: C.delivered_time when it was sent.</summary>
    public Instant TxDeliveredTime;
    /// <summary>P.first_sent_time: C.first_sent_time when it was sent.</summary>
    public Instant TxFirstSentTime;
    /// <summary>P.is_app_limited.</summary>
    public bool TxAppLimited;
    /// <summary>The snapshot above was taken.</summary>
    public bool TxStamped;

    public readonly int Length => End - Start;
    public override readonly string ToString() => $"[{Start},{End}) t={XmitTs.Microseconds}{(Retransmitted ? " R" : "")}{(Lost ? " L" : "")}{(Sacked ? " S" : "")}";
}

/// <summary>
/// The sender's per-segment record of [SND.UNA, SND.NXT) in sequence order: what each segment's transmit time is,
/// whether it was retransmitted, SACKed or deemed lost. This is what RACK (RFC 8985 §5.2) needs and what RFC 6675's
/// pipe and NextSeg read. Bounded: the ring grows by doubling up to a limit set from the send buffer; when full, new
/// data joins the last record (conservative: the joint record carries the latest transmit time, which can only delay
/// a loss verdict, never hasten one).
/// </summary>
internal sealed class SentQueue
{
    private SentRecord[] _r;
    private int _head, _count;
    private int _limit;
    private long _order;

    /// <summary>The delivery rate estimator whose snapshots the records carry (stamped on every (re)transmission).</summary>
    public DeliveryRateEstimator Rate { get; } = new();

    /// <summary>
    /// The congestion controller the records feed (set by the connection whenever it creates one): its
    /// <see cref="ICongestionControl.UsesRateSamples"/> is the one place that says whether rate samples are wanted.
    /// </summary>
    public ICongestionControl? Controller { get; set; }

    /// <summary>Whether (re)transmissions take the <see cref="Rate"/> snapshot: only for a <see cref="Controller"/> that reads rate samples.</summary>
    public bool StampRates => Controller is { UsesRateSamples: true };

    public SentQueue(int initialCapacity, int limit)
    {
        _limit = Math.Max(limit, 4);
        _r = new SentRecord[Math.Clamp(initialCapacity, 4, _limit)];
    }

    public int Count => _count;

    /// <summary>Raises the bound on records (the send buffer grew); never lowers it.</summary>
    public void RaiseLimit(int limit) => _limit = Math.Max(_limit, limit);
    /// <summary>Bytes in records marked lost (and not SACKed): RFC 6675 pipe leaves them out until retransmitted.</summary>
    public int LostBytes { get; private set; }
    /// <summary>Records marked SACKed (kept as they change, so that RACK reads it per ACK without a scan).</summary>
    public int SackedCount { get; private set; }

    public ref SentRecord this[int i] => ref _r[(_head + i) % _r.Length];

    public void Clear() { _head = 0; _count = 0; LostBytes = 0; SackedCount = 0; }

    /// <summary>Forgets every SACK mark (RFC 6675 §5.1: the receiver may have reneged).</summary>
    public void ClearSacked()
    {
        for (int i = 0; i < _count; i++) this[i].Sacked = false;
        SackedCount = 0;
    }

    /// <summary>Records a first transmission of [<paramref name="start"/>, <paramref name="end"/>), which follows the last record.</summary>
    public void Append(SeqNumber start, SeqNumber end, Instant now, uint tsVal)
    {
        if (end <= start) return;
        if (_count > 0 && this[_count - 1].End != start) Clear(); // out of step (cannot happen): start over, conservatively
        if (_count == _r.Length && !Grow())
        {
            ref var last = ref this[_count - 1];
            if (last.Lost) LostBytes -= last.Length;
            if (last.Sacked) SackedCount--;
            last.End = end;
            last.XmitTs = now;
            last.TsVal = tsVal;
            last.XmitOrder = ++_order;
            last.Lost = false;
            last.Sacked = false;
            return;
        }
        bool nothingInFlight = _count == 0;
        ref var r = ref this[_count++];
        r = new SentRecord { Start = start, End = end, XmitTs = now, TsVal = tsVal, XmitOrder = ++_order };
        if (StampRates) Rate.OnSent(ref r, now, nothingInFlight);
    }

    private bool Grow()
    {
        if (_r.Length >= _limit) return false;
        var bigger = new SentRecord[Math.Min(_r.Length * 2, _limit)];
        for (int i = 0; i < _count; i++) bigger[i] = this[i];
        _r = bigger;
        _head = 0;
        return true;
    }

    /// <summary>Drops records below the cumulative ACK and trims a partly acknowledged first record.</summary>
    public void AckTo(SeqNumber una)
    {
        while (_count > 0)
        {
            ref var r = ref this[0];
            if (r.End <= una)
            {
                if (r.Lost) LostBytes -= r.Length;
                if (r.Sacked) SackedCount--;
                _head = (_head + 1) % _r.Length;
                _count--;
                continue;
            }
            if (r.Start < una)
            {
                if (r.Lost) LostBytes -= una - r.Start;
                r.Start = una;
            }
            break;
        }
        if (_count == 0) { _head = 0; LostBytes = 0; SackedCount = 0; }
    }

    /// <summary>Splits record <paramref name="i"/> at <paramref name="at"/>: true when it did (<paramref name="at"/> strictly inside, room in the ring).</summary>
    public bool Split(int i, SeqNumber at)
    {
        if ((uint)i >= (uint)_count) return false;
        ref var r = ref this[i];
        if (at <= r.Start || at >= r.End) return false;
        if (_count == _r.Length && !Grow()) return false;
        // Shift records after i up by one.
        for (int k = _count; k > i + 1; k--) this[k] = this[k - 1];
        _count++;
        ref var a = ref this[i];
        var second = a;
        second.Start = at;
        a.End = at;
        this[i + 1] = second;
        if (second.Sacked) SackedCount++;
        return true;
    }

    /// <summary>Marks record <paramref name="i"/> lost (RFC 8985 §6.2 step 5 / RFC 6675 IsLost). True when it was not already.</summary>
    public bool MarkLost(int i)
    {
        ref var r = ref this[i];
        if (r.Lost || r.Sacked) return false;
        r.Lost = true;
        LostBytes += r.Length;
        return true;
    }

    /// <summary>Record <paramref name="i"/> was just retransmitted: it is in flight again.</summary>
    public void MarkRetransmitted(int i, Instant now, uint tsVal)
    {
        ref var r = ref this[i];
        if (r.Lost) LostBytes -= r.Length;
        r.Lost = false;
        r.Retransmitted = true;
        r.XmitTs = now;
        r.TsVal = tsVal;
        r.XmitOrder = ++_order;
        if (StampRates) Rate.OnSent(ref r, now, nothingInFlight: false);
    }

    /// <summary>Record <paramref name="i"/> is now fully SACKed.</summary>
    public void MarkSacked(int i)
    {
        ref var r = ref this[i];
        if (r.Lost) LostBytes -= r.Length;
        if (!r.Sacked) SackedCount++;
        r.Lost = false;
        r.Sacked = true;
    }

    /// <summary>Index of the first record marked lost, or -1.</summary>
    public int FirstLost()
    {
        for (int i = 0; i < _count; i++) if (this[i].Lost) return i;
        return -1;
    }

    /// <summary>Index of the record holding <paramref name="seq"/>, or -1.</summary>
    public int IndexOf(SeqNumber seq)
    {
        for (int i = 0; i < _count; i++)
        {
            ref var r = ref this[i];
            if (seq >= r.Start && seq < r.End) return i;
        }
        return -1;
    }
}
