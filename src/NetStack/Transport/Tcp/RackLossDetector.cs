using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// RACK, the time-based loss detection of RFC 8985 §6: a segment is deemed lost once a segment sent after it has been
/// delivered and more than RACK.rtt + RACK.reo_wnd have passed since it was sent. Pure state over a
/// <see cref="SentQueue"/>; the connection feeds it deliveries, RTT samples and DSACKs and acts on its verdicts.
/// Times in microseconds.
/// </summary>
internal sealed class RackLossDetector
{
    /// <summary>RFC 8985 §6.2 step 4: DSACK-free recoveries before the reordering window multiplier is reset.</summary>
    public const int ReoWndPersist = 16;
    private const int DupThresh = 3;

    private Instant _xmitTs;           // RACK.xmit_ts
    private SeqNumber _endSeq;         // RACK.end_seq
    private long _order;               // transmission order of that segment (the tie-break, see SentAfter)
    private bool _hasSample;
    private long _rtt;                 // RACK.rtt
    private WindowedMinFilter _minRtt;  // RACK.min_RTT: RFC 8985 §6.2 allows a windowed minimum
    private SeqNumber _fack;           // RACK.fack
    private bool _fackValid;
    private bool _dsackRoundValid;
    private SeqNumber _dsackRound;     // RACK.dsack_round
    private bool _ackHasSample;        // the newest valid delivery of the ACK being processed
    private Instant _ackXmitTs;
    private SeqNumber _ackEndSeq;
    private long _ackOrder;
    private long _ackRtt;

    /// <summary>A detector whose RACK.min_RTT is the minimum over the last <paramref name="minRttWindow"/> (Linux: 300 s).</summary>
    public RackLossDetector(TimeSpan minRttWindow) => _minRtt = new WindowedMinFilter(minRttWindow);

    /// <summary>RACK.xmit_ts: when the most recently sent delivered segment was sent.</summary>
    public Instant XmitTs => _xmitTs;
    /// <summary>RACK.end_seq: the end of that segment.</summary>
    public SeqNumber EndSeq => _endSeq;
    /// <summary>RACK.rtt: the RTT of the most recently sent segment that was delivered (µs).</summary>
    public long Rtt => _rtt;
    /// <summary>RACK.min_RTT (µs): the minimum RTT over the configured window, or 0 before the first sample.</summary>
    public long MinRtt => _minRtt.Get(0);
    /// <summary>RACK.reordering_seen.</summary>
    public bool ReorderingSeen { get; private set; }
    /// <summary>RACK.reo_wnd_mult.</summary>
    public int ReoWndMult { get; private set; } = 1;
    /// <summary>RACK.reo_wnd_persist.</summary>
    public int ReoWndPersistLeft { get; private set; }
    /// <summary>RACK.reo_wnd as last computed (µs).</summary>
    public long ReoWnd { get; private set; }

    /// <summary>Records <see cref="DetectLoss"/> has looked at, in all (its cost: a test bounds it per ACK).</summary>
    public long RecordsExamined { get; private set; }

    /// <summary>
    /// RFC 8985 §6.2 step 1: an RTT measurement (RFC 6298 or RFC 7323) updates RACK.min_RTT, here a windowed minimum
    /// (the RFC allows it; Linux keeps the minimum of the last 300 s with the same three-sample filter).
    /// </summary>
    public void OnRttSample(long rttMicros, Instant now)
    {
        if (rttMicros >= 0) _minRtt.Update(now, rttMicros);
    }

    /// <summary>
    /// RFC 8985 §6.2 steps 2 and 3 for one newly delivered (cumulatively or selectively acknowledged) segment.
    /// <paramref name="tsEcr"/> is the ACK's TSecr when timestamps are in use.
    /// </summary>
    public void OnDelivered(in SentRecord seg, Instant now, uint? tsEcr)
    {
        // Step 3: delivery below the highest delivered sequence of a never-retransmitted segment is reordering.
        if (!_fackValid || seg.End > _fack) { _fack = seg.End; _fackValid = true; }
        else if (seg.End < _fack && !seg.Retransmitted) ReorderingSeen = true;

        long rtt = (now - seg.XmitTs).Ticks / 10;
        if (seg.Retransmitted)
        {
            // Step 2, Karn-like: the ACK may be for the original transmission. With timestamps, an echo older than the
            // retransmission's TSval proves it; without, an RTT below min_RTT is implausible for the retransmission.
            if (tsEcr is { } ecr) { if (unchecked((int)(ecr - seg.TsVal)) < 0) return; }
            else if (rtt < MinRtt) return;
        }
        // Step 2 walks this ACK's deliveries in xmit_ts order, so RACK.rtt ends as the RTT of the one sent last:
        // keep that one and apply it in CommitDeliveries.
        if (!_ackHasSample || SentAfter(seg.XmitTs, seg.XmitOrder, _ackXmitTs, _ackOrder))
        {
            _ackRtt = Math.Max(0, rtt);
            _ackXmitTs = seg.XmitTs;
            _ackEndSeq = seg.End;
            _ackOrder = seg.XmitOrder;
            _ackHasSample = true;
        }
    }

    /// <summary>RFC 8985 §6.2 step 2 after the ACK's deliveries: RACK.rtt, and RACK.xmit_ts / RACK.end_seq when more recent.</summary>
    public void CommitDeliveries()
    {
        if (!_ackHasSample) return;
        _ackHasSample = false;
        _rtt = _ackRtt;
        if (!_hasSample || SentAfter(_ackXmitTs, _ackOrder, _xmitTs, _order))
        {
            _xmitTs = _ackXmitTs;
            _endSeq = _ackEndSeq;
            _order = _ackOrder;
            _hasSample = true;
        }
    }

    /// <summary>
    /// RFC 8985 §6.2 step 4: DSACK-driven adaptation of the reordering window. Call once per ACK, before
    /// <see cref="DetectLoss"/>; <paramref name="exitedRecovery"/> when this ACK ended fast or RTO recovery.
    /// </summary>
    public void UpdateReoWnd(bool dsack, bool exitedRecovery, SeqNumber sndUna, SeqNumber sndNxt)
    {
        if (_dsackRoundValid && sndUna >= _dsackRound) _dsackRoundValid = false;
        if (!_dsackRoundValid && dsack)
        {
            // Grow the window once per round trip that sees a DSACK, and keep it for 16 recoveries.
            _dsackRound = sndNxt;
            _dsackRoundValid = true;
            ReoWndMult++;
            ReoWndPersistLeft = ReoWndPersist;
        }
        else if (exitedRecovery && ReoWndPersistLeft > 0)
        {
            if (--ReoWndPersistLeft <= 0) ReoWndMult = 1;
        }
    }

    /// <summary>RFC 8985 §6.2 step 4: RACK.reo_wnd = min(reo_wnd_mult · min_RTT / 4, SRTT), or 0 (DupThresh-like) when no reordering was seen and recovery is on or DupThresh segments are SACKed.</summary>
    private long ComputeReoWnd(bool inRecovery, int segsSacked, long srtt)
    {
        if (!ReorderingSeen && (inRecovery || segsSacked >= DupThresh)) return 0;
        return Math.Min(ReoWndMult * MinRtt / 4, srtt);
    }

    /// <summary>
    /// RFC 8985 §6.2 step 5: marks lost every unacknowledged segment sent before RACK.xmit_ts (or at the same time with a
    /// lower end) whose RACK.rtt + RACK.reo_wnd has elapsed. Returns the number newly marked; <paramref name="timeout"/> is the
    /// §6.2 step 6 / §6.3 reordering timer (how long until the next segment will be due), or 0 for none.
    /// </summary>
    /// <remarks>
    /// This runs on every ACK, so it must not cost a walk of the whole flight (thousands of records once the buffers have
    /// grown on a fast path). Like Linux's walk of its time-sorted queue (tcp_rack_detect_loss stops at the first skb sent
    /// after RACK.xmit_ts), it stops at the first record, in sequence order, that was sent once only and not before the
    /// RACK segment: every later record was first sent after it (records are appended in sending order) and, if sent
    /// again, later still, so none of them can be due.
    /// </remarks>
    public int DetectLoss(SentQueue q, Instant now, bool inRecovery, long srtt, out long timeout)
    {
        timeout = 0;
        if (!_hasSample) return 0;
        ReoWnd = ComputeReoWnd(inRecovery, q.SackedCount, srtt);
        int marked = 0, i = 0;
        for (; i < q.Count; i++)
        {
            ref var seg = ref q[i];
            if (!SentAfter(_xmitTs, _order, seg.XmitTs, seg.XmitOrder))
            {
                if (!seg.Retransmitted) break;                          // this one and all after it were sent after RACK's
                continue;
            }
            if (seg.Sacked || seg.Lost) continue;                       // delivered, or already lost and awaiting retransmission
            long remaining = (seg.XmitTs - now).Ticks / 10 + _rtt + ReoWnd;
            if (remaining <= 0) { if (q.MarkLost(i)) marked++; }
            else timeout = Math.Max(timeout, remaining);
        }
        RecordsExamined += Math.Min(i + 1, q.Count);
        return marked;
    }

    /// <summary>
    /// RFC 8985 §6.3: on an RTO the first unacknowledged segment is lost (it was sent an RTO ago), and any other whose
    /// RACK.rtt + RACK.reo_wnd has elapsed since it was sent; segments sent more recently are left in flight.
    /// </summary>
    public int MarkLossesOnRto(SentQueue q, Instant now)
    {
        int marked = 0;
        for (int i = 0; i < q.Count; i++)
        {
            ref var seg = ref q[i];
            if (seg.Sacked || seg.Lost) continue;
            if (i == 0 || (seg.XmitTs - now).Ticks / 10 + _rtt + ReoWnd <= 0)
                if (q.MarkLost(i)) marked++;
        }
        return marked;
    }

    /// <summary>
    /// RFC 8985 §6.2 RACK_sent_after: t1 later than t2, or equal and sent later. The RFC breaks the tie with end_seq as
    /// a proxy for the send order; we have the order itself, which stays right when a retransmission of a lower
    /// sequence goes out in the same clock tick as higher originals.
    /// </summary>
    private static bool SentAfter(Instant t1, long order1, Instant t2, long order2) => t1 > t2 || (t1 == t2 && order1 > order2);
}
