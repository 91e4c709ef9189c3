namespace NetStack.Transport.Tcp;

/// <summary>
/// Proportional Rate Reduction (RFC 9937, which obsoletes RFC 6937): how much a sender in fast recovery may send per
/// ACK, so that the data in flight falls smoothly from the window before the loss to ssthresh (the proportional part)
/// and, after heavy losses, climbs back toward ssthresh no faster than slow start (the reduction bound). It decides
/// only how much is sent; what is sent stays RFC 6675 NextSeg. Pure state in bytes and integer arithmetic; the
/// connection feeds it the start of recovery, every ACK's DeliveredData and every byte it sends.
/// </summary>
internal sealed class ProportionalRateReduction
{
    private readonly PrrReductionBound _bound;
    private long _recoverFs;     // RecoverFS
    private long _prrDelivered;  // prr_delivered
    private long _prrOut;        // prr_out
    private long _ssthresh;
    private long _dupAckCredit;  // without SACK: SMSS counted as delivered per duplicate ACK, not yet acknowledged

    public ProportionalRateReduction(PrrReductionBound bound) => _bound = bound;

    /// <summary>The congestion window PRR computed on the last ACK (cwnd = pipe + sndcnt), in bytes.</summary>
    public int Window { get; private set; }
    /// <summary>RecoverFS: the outstanding, not yet SACKed, bytes when recovery started.</summary>
    public long RecoverFs => _recoverFs;
    /// <summary>prr_delivered: bytes delivered to the receiver since recovery started.</summary>
    public long Delivered => _prrDelivered;
    /// <summary>prr_out: bytes sent (new data and retransmissions) since recovery started.</summary>
    public long Out => _prrOut;

    /// <summary>
    /// RFC 9937 §6.1 initialization on entering fast recovery: prr_delivered = prr_out = 0, ssthresh from the
    /// congestion control, RecoverFS = SND.NXT − SND.UNA less what was SACKed before this recovery (those bytes will
    /// never be delivered again, so they must not dilute the proportion).
    /// </summary>
    public void Start(int recoverFs, int ssthresh, int smss)
    {
        _recoverFs = Math.Max(recoverFs, Math.Max(smss, 1)); // a divisor: at least one segment
        _ssthresh = ssthresh;
        _prrDelivered = 0;
        _prrOut = 0;
        _dupAckCredit = 0;
        Window = 0;
    }

    /// <summary>
    /// RFC 9937 §6.2 DeliveredData without SACK: a duplicate ACK delivered one SMSS (it reports a segment that
    /// arrived); the partial or full ACK that follows delivered the change in SND.UNA less what those duplicate ACKs
    /// were already credited with. Only one RecoverFS worth of duplicate ACKs is credited.
    /// </summary>
    public int EstimateDeliveredWithoutSack(bool dupAck, int acked, int smss)
    {
        if (dupAck)
        {
            // At most RecoverFS worth of duplicate ACKs count (a receiver splitting ACKs must not clock out more).
            if (_dupAckCredit >= _recoverFs) return 0;
            _dupAckCredit += smss;
            return smss;
        }
        long delivered = Math.Max(0, acked - _dupAckCredit);
        _dupAckCredit = Math.Max(0, _dupAckCredit - acked);
        return (int)delivered;
    }

    /// <summary>RFC 9937 §6.2: data sent or retransmitted during recovery: prr_out += bytes.</summary>
    public void OnSent(int bytes) => _prrOut += bytes;

    /// <summary>
    /// RFC 9937 §6.2, on every ACK that starts or continues recovery (not the one that ends it): returns the new
    /// cwnd = pipe + sndcnt. <paramref name="deliveredData"/> = change in SND.UNA + change in SACKed bytes;
    /// <paramref name="safeAck"/> = SND.UNA advanced and this ACK indicated no further loss. <paramref name="first"/>
    /// is the ACK (or timer) that started recovery, which always computes a window (for the fast retransmit).
    /// </summary>
    public int OnAck(int deliveredData, int pipe, bool safeAck, int smss, bool first)
    {
        // RFC 9937 §6.2: an ACK that delivered nothing changes nothing.
        if (deliveredData <= 0 && !first) return Window;
        if (deliveredData > 0) _prrDelivered += deliveredData;
        long sndcnt;
        if (pipe > _ssthresh)
        {
            // RFC 9937 §6.2 proportional part: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
            sndcnt = (_prrDelivered * _ssthresh + _recoverFs - 1) / _recoverFs - _prrOut;
        }
        else
        {
            // RFC 9937 §6.2 reduction bound: PRR-CRB, sndcnt = MAX(prr_delivered - prr_out, DeliveredData), plus one
            // SMSS (PRR-SSRB, slow start) when the ACK is safe; never beyond ssthresh - pipe. RFC 6937 §3.1 added the
            // SMSS on every ACK (PrrReductionBound.SlowStartOnEveryAck).
            sndcnt = Math.Max(_prrDelivered - _prrOut, deliveredData);
            if (safeAck || _bound == PrrReductionBound.SlowStartOnEveryAck) sndcnt += smss;
            sndcnt = Math.Min(_ssthresh - pipe, sndcnt);
        }
        sndcnt = Math.Max(sndcnt, 0);
        // RFC 9937 §6.2: force the fast retransmit on entering recovery: sndcnt = SMSS when prr_out and sndcnt are 0.
        if (_prrOut == 0 && sndcnt == 0) sndcnt = smss;
        Window = (int)Math.Min((long)pipe + sndcnt, int.MaxValue);
        return Window;
    }
}
