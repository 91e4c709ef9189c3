namespace NetStack.Transport.Tcp;

/// <summary>
/// One delivery rate sample (draft-cheng-iccrg-delivery-rate-estimation-02 §3.1.3, Linux's <c>struct rate_sample</c>):
/// <see cref="Delivered"/> bytes were delivered over <see cref="IntervalMicros"/>. Invalid (<see cref="IsValid"/> false)
/// when no ACK of this round carried a send-time snapshot, or the interval is shorter than the minimum RTT (an
/// ACK-compression artefact the draft §3.1.3 discards).
/// </summary>
internal struct RateSample
{
    /// <summary>Bytes delivered (cumulatively ACKed or SACKed) between the snapshot's send and this ACK.</summary>
    public long Delivered;
    /// <summary>max(send interval, ACK interval) in µs (draft §3.1.3: the longer one bounds the rate from above).</summary>
    public long IntervalMicros;
    /// <summary>The send phase of the interval (first_sent_time of the sample's packet to its send time).</summary>
    public long SendIntervalMicros;
    /// <summary>The ACK phase of the interval (the packet's delivered_time snapshot to now).</summary>
    public long AckIntervalMicros;
    /// <summary>The snapshot's packet was sent while the connection was application limited (draft §3.2).</summary>
    public bool IsAppLimited;
    /// <summary>The snapshot's packet was a retransmission.</summary>
    public bool IsRetransmission;
    /// <summary>Bytes newly ACKed or SACKed by this ACK.</summary>
    public long AckedSacked;
    /// <summary>C.delivered at the snapshot's send (0: no snapshot).</summary>
    public long PriorDelivered;
    public bool IsValid;

    /// <summary>The delivery rate in bytes per second (0 when invalid).</summary>
    public readonly long BytesPerSecond => IsValid && IntervalMicros > 0 ? Delivered * 1_000_000 / IntervalMicros : 0;

    public override readonly string ToString() =>
        IsValid ? $"{Delivered} B / {IntervalMicros} µs = {BytesPerSecond} B/s{(IsAppLimited ? " app-limited" : "")}" : "invalid";
}

/// <summary>
/// Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02, as Linux's net/ipv4/tcp_rate.c): the
/// connection-level counters (C.delivered, C.delivered_time, C.first_sent_time, C.app_limited), the per-segment
/// snapshot taken at each (re)transmission (<see cref="OnSent"/>, kept in the <see cref="SentRecord"/> itself: no
/// allocation per segment), and one <see cref="RateSample"/> per ACK built from the most recently sent segment the ACK
/// delivered. Bytes, not packets (the draft counts either; BBR's model is in bytes here). Pure: time comes in.
/// </summary>
internal sealed class DeliveryRateEstimator
{
    /// <summary>C.delivered: total bytes cumulatively ACKed or SACKed over the connection's life.</summary>
    public long Delivered { get; private set; }
    /// <summary>C.delivered_time: when <see cref="Delivered"/> last grew.</summary>
    public Instant DeliveredTime { get; private set; }
    /// <summary>C.first_sent_time: the send time of the most recently delivered segment (start of the send phase).</summary>
    public Instant FirstSentTime { get; private set; }
    /// <summary>C.app_limited: 0, or the <see cref="Delivered"/> mark beyond which the app-limited bubble is gone.</summary>
    public long AppLimitedUntil { get; private set; }
    /// <summary>The sample of the last ACK that delivered data.</summary>
    public RateSample LastSample { get; private set; }

    // The sample being built for the ACK in progress (draft §3.1.2 UpdateRateSample per delivered packet).
    private RateSample _rs;
    private bool _haveSnapshot;
    private Wire.SeqNumber _lastEnd;
    private Instant _sampleSendTime;

    /// <summary>
    /// Draft §3.1.1 / tcp_rate_skb_sent: snapshots the connection's delivery state into the segment just (re)sent.
    /// <paramref name="nothingInFlight"/>: no other segment is outstanding, so the send and ACK phases restart now.
    /// </summary>
    public void OnSent(ref SentRecord r, Instant now, bool nothingInFlight)
    {
        if (nothingInFlight)
        {
            FirstSentTime = now;
            DeliveredTime = now;
        }
        r.TxFirstSentTime = FirstSentTime;
        r.TxDeliveredTime = DeliveredTime;
        r.TxDelivered = Delivered;
        r.TxAppLimited = AppLimitedUntil != 0;
        r.TxStamped = true;
    }

    /// <summary>
    /// Draft §3.1.2 UpdateRateSample / tcp_rate_skb_delivered: <paramref name="r"/> was just delivered (cumulatively
    /// ACKed without an earlier SACK, or SACKed). The most recently sent of the ACK's delivered segments gives the sample's
    /// snapshot (send time, ties by end sequence). A SACKed segment is used once: the caller marks it SACKed afterwards, and
    /// a SACKed record is not delivered again by the cumulative ACK.
    /// </summary>
    public void OnDelivered(in SentRecord r)
    {
        if (!r.TxStamped) return;
        if (!_haveSnapshot || r.XmitTs > FirstSentTime || (r.XmitTs == FirstSentTime && r.End > _lastEnd))
        {
            _rs.PriorDelivered = r.TxDelivered;
            _sampleSendTime = r.TxDeliveredTime;
            _rs.IsAppLimited = r.TxAppLimited;
            _rs.IsRetransmission = r.Retransmitted;
            _lastEnd = r.End;
            _haveSnapshot = true;
            // The send phase: from the first send of this flight to this segment's send.
            _rs.SendIntervalMicros = r.XmitTs.Microseconds - r.TxFirstSentTime.Microseconds;
            FirstSentTime = r.XmitTs;
        }
    }

    /// <summary>
    /// Draft §3.1.3 GenerateRateSample / tcp_rate_gen, after all of an ACK's deliveries were reported:
    /// <paramref name="deliveredBytes"/> newly ACKed or SACKed bytes, <paramref name="minRttMicros"/> the path's minimum RTT
    /// (0: unknown). Returns the sample (also kept in <see cref="LastSample"/> when it is valid).
    /// </summary>
    public RateSample GenerateSample(long deliveredBytes, Instant now, long minRttMicros)
    {
        var rs = _rs;
        bool stamped = _haveSnapshot;
        _rs = default;
        _haveSnapshot = false;
        if (deliveredBytes > 0)
        {
            Delivered += deliveredBytes;
            DeliveredTime = now;
        }
        // Draft §3.2: the app-limited bubble is gone once everything sent during it was delivered.
        if (AppLimitedUntil != 0 && Delivered > AppLimitedUntil) AppLimitedUntil = 0;
        rs.AckedSacked = deliveredBytes;
        if (!stamped || deliveredBytes <= 0) return rs;
        rs.Delivered = Delivered - rs.PriorDelivered;
        rs.AckIntervalMicros = now.Microseconds - _sampleSendTime.Microseconds;
        rs.IntervalMicros = Math.Max(rs.SendIntervalMicros, rs.AckIntervalMicros);
        // Draft §3.1.3: an interval below min_rtt is an artefact (ACK compression, a stretched send phase): no sample.
        if (rs.IntervalMicros <= 0 || (minRttMicros > 0 && rs.IntervalMicros < minRttMicros)) return rs;
        rs.IsValid = true;
        LastSample = rs;
        return rs;
    }

    /// <summary>
    /// Draft §3.2 / tcp_rate_check_app_limited: the sender ran out of data with room in cwnd and no loss left to repair;
    /// the samples of what is in flight now may understate the path, so they are marked application limited until
    /// <paramref name="bytesInFlight"/> more bytes have been delivered.
    /// </summary>
    public void MarkAppLimited(int bytesInFlight) => AppLimitedUntil = Math.Max(Delivered + bytesInFlight, 1);

    /// <summary>Forgets everything (a new connection on the same object).</summary>
    public void Reset()
    {
        Delivered = 0;
        DeliveredTime = default;
        FirstSentTime = default;
        AppLimitedUntil = 0;
        LastSample = default;
        _rs = default;
        _haveSnapshot = false;
    }
}
