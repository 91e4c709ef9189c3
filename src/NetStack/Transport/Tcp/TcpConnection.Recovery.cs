using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// Loss detection: which sent segments are deemed lost (RACK, RFC 8985 §6, or the DupThresh rules of RFC 5681 /
/// RFC 6675 §5 when RACK is off or SACK was not negotiated), entering fast recovery, and the TLP ACK rules
/// (RFC 8985 §7.4). The retransmissions themselves go out through RFC 6675 NextSeg / pipe in <c>.Output</c>.
/// </summary>
public sealed partial class TcpConnection
{
    private const int DupThresh = 3; // RFC 5681 §3.2 / RFC 6675 §2

    /// <summary>The RTT sample taken from the ACK being processed, or -1 (BBR's RTprop input).</summary>
    private long _ackRttSample = -1;

    /// <summary>An RTT measurement: RFC 6298 estimator, and RACK.min_RTT (RFC 8985 §6.2 step 1).</summary>
    private void SampleRtt(long micros, Instant now) => SampleRtt(micros, micros, now);

    /// <summary>
    /// An RTT measurement as Linux's tcp_ack_update_rtt: <paramref name="seqRtt"/> (from the earliest segment the ACK newly
    /// acknowledged) feeds the RFC 6298 estimator, <paramref name="caRtt"/> (from the latest one: the least delayed-ACK and
    /// send-spread bias) RACK.min_RTT (RFC 8985 §6.2 step 1) and the congestion controller's RTT input (BBR's RTprop).
    /// </summary>
    private void SampleRtt(long seqRtt, long caRtt, Instant now)
    {
        _rtt.Sample(seqRtt);
        _rack.OnRttSample(caRtt, now);
        _ackRttSample = caRtt;
        _layer.Stats.RttSamples++;
    }

    /// <summary>The send times of the segments one ACK newly delivered and never retransmitted (RFC 6298 §3, Karn).</summary>
    private struct AckRttSample
    {
        public Instant First, Last;
        public bool Any;

        public void Add(Instant xmitTs)
        {
            if (!Any || xmitTs < First) First = xmitTs;
            if (!Any || xmitTs > Last) Last = xmitTs;
            Any = true;
        }
    }

    /// <summary>
    /// The RTT this ACK measures, in µs from the segments' send times (as Linux, which keeps RFC 7323 timestamps for PAWS
    /// and uses TSecr only when no send time qualifies): the cumulatively acknowledged segments first, else the newly SACKed
    /// ones (Linux's sack_rtt), else, when the ACK advanced SND.UNA, RFC 7323 §4.1 from TSecr (1 ms clock), else Karn's
    /// timed segment of a connection without timestamps (RFC 6298 §3). Retransmitted segments never give a sample.
    /// </summary>
    private void TakeAckRtt(in AckRttSample acked, in AckRttSample sacked, bool advanced, uint? tsEcr, Instant now)
    {
        var s = acked.Any ? acked : sacked;
        if (s.Any)
        {
            SampleRtt((now - s.First).Ticks / 10, (now - s.Last).Ticks / 10, now);
            _layer.Stats.RttSamplesFromSendTime++;
            if (_timing && advanced && _sndUna > _timedSeq) _timing = false;
            return;
        }
        if (!advanced) return;
        // A TSecr sample has the 1 ms clock's granularity: on a LAN most are 0 ms. Linux's tcp_ack_update_rtt counts such
        // a delta as one tick ("if (!delta) delta = 1"), never 0: otherwise each ACK that advances over retransmitted
        // segments only (at a few per cent loss, every repaired hole whose followers were SACKed) told RACK and BBR the
        // path's RTT was 0, and BBR's RTprop became 1 µs (its BDP nothing, its cwnd its send quanta alone).
        if (tsEcr is { } echo) SampleRtt(Math.Max(TsRtt(now, echo), 1000), now);
        else if (_timing && _sndUna > _timedSeq) { SampleRtt((now - _timedAt).Ticks / 10, now); _timing = false; }
    }

    /// <summary>Marks records the scoreboard now covers as SACKed; each one is a RACK delivery (RFC 8985 §6.2 step 2).</summary>
    private void MarkNewlySacked(Instant now, uint? tsEcr, bool rack, bool rates, ref AckRttSample rtt)
    {
        int ri = 0;
        for (int i = 0; i < _sent.Count; i++)
        {
            ref var r = ref _sent[i];
            if (r.Sacked) continue;
            while (ri < _sack.Count && _sack[ri].End <= r.Start) ri++;
            if (ri == _sack.Count) break;
            var (s, e) = _sack[ri];
            // A SACK block covers data only (RFC 2018 §3, Linux's receiver includes a FIN, ours does not): the FIN's
            // octet at the end of the last record need not be covered for the record to count as delivered.
            var end = _finSent && r.End == _finSeq + 1 && r.End - r.Start > 1 ? r.End - 1 : r.End;
            if (s > r.Start || e < end) continue;
            if (rack) _rack.OnDelivered(r, now, tsEcr);
            if (rates) _sent.Rate.OnDelivered(r); // draft-cheng-iccrg-delivery-rate-estimation §3.1.2: SACKed segments count
            if (!r.Retransmitted) rtt.Add(r.XmitTs); // Linux's first_sackt / last_sackt (Karn)
            _sent.MarkSacked(i);
        }
    }

    /// <summary>
    /// Runs the loss detection for this ACK and enters fast recovery when something is newly deemed lost
    /// (<paramref name="entered"/>; <paramref name="recoverFs"/> is PRR's RecoverFS for it). Returns how many segments
    /// were newly marked lost.
    /// </summary>
    private int DetectLosses(Instant now, uint? tsEcr, bool dsack, bool exitedRecovery, int recoverFs, out bool entered)
    {
        _ = tsEcr;
        int marked;
        if (UseRack)
        {
            _rack.CommitDeliveries();
            _rack.UpdateReoWnd(dsack, exitedRecovery, _sndUna, _sndNxt);
            marked = RackDetectAndArm(now);
        }
        else
        {
            marked = DupThreshDetect();
        }
        // A segment deemed lost during the episode that has just ended, and not yet retransmitted, lies beyond its
        // recovery point: a new loss, which starts a new episode (RFC 6675 §5: fast recovery is entered on a loss not
        // covered by the current one). Without this nothing would resend it before the RTO: retransmissions of marked
        // segments happen only in recovery.
        if (exitedRecovery && marked == 0 && _sent.LostBytes > 0) marked = 1;
        entered = marked > 0 && OnLossDetected(now, recoverFs);
        return marked;
    }

    /// <summary>RFC 8985 §6.2 steps 5-6: mark losses by time, and arm the reordering timer for the segments not yet due.</summary>
    private int RackDetectAndArm(Instant now)
    {
        int marked = _rack.DetectLoss(_sent, now, _fastRecovery || _rtoRecovery, _rtt.SmoothedMicros, out long timeout);
        _layer.Stats.RackLosses += marked;
        _rackDeadline = timeout > 0 ? now + TimeSpan.FromTicks(timeout * 10) : Instant.MaxValue;
        return marked;
    }

    /// <summary>
    /// The classic rules (RACK off, or no SACK): RFC 5681 §3.2 DupThresh duplicate ACKs mark SND.UNA's segment lost;
    /// with SACK, RFC 6675 §4 IsLost marks a segment with more than (DupThresh − 1)·SMSS octets SACKed above it.
    /// </summary>
    private int DupThreshDetect()
    {
        int marked = 0;
        bool inRecovery = _fastRecovery || _rtoRecovery;
        if (!inRecovery && _sndUna >= _recover && _sent.Count > 0
            && (_dupAcks >= DupThresh || (_sackEnabled && _sack.SackedBytes >= DupThresh * _mss)))
        {
            // RFC 6675 §5 step 4 / RFC 6582 §3.2 step 2: the segment at SND.UNA is retransmitted first.
            if (_sent.MarkLost(0)) marked++;
        }
        if (_sackEnabled && (inRecovery || marked > 0) && !_sack.IsEmpty)
        {
            for (int i = 0; i < _sent.Count; i++)
            {
                ref var r = ref _sent[i];
                if (r.Sacked || r.Lost) continue;
                if (_sack.SackedIn(r.End, _sndNxt) > (DupThresh - 1) * _mss && _sent.MarkLost(i)) marked++;
            }
        }
        return marked;
    }

    /// <summary>
    /// Something is newly deemed lost: enter fast recovery unless already recovering (one reduction per episode).
    /// True when recovery was entered. <paramref name="recoverFs"/>: RFC 9937 RecoverFS (outstanding, not SACKed).
    /// </summary>
    private bool OnLossDetected(Instant now, int recoverFs)
    {
        _layer.MarkDirty(this);
        if (_fastRecovery || _rtoRecovery) return false;
        // RFC 6675 §5 step 4 / RFC 6582 §3.2 step 2: RecoveryPoint = HighData; ssthresh and cwnd from FlightSize.
        _recover = _sndNxt;
        _cc.OnCongestionEvent(BytesInFlight, _mss, now);
        _fastRecovery = true;
        _firstRetransmitPending = true;
        _timing = false;
        _tlpDeadline = Instant.MaxValue;
        _tlpOutstanding = false;
        _layer.Stats.FastRetransmits++;
        // RFC 9937 §6.1: PRR starts with ssthresh from the congestion control; it replaces cwnd = ssthresh while recovery lasts.
        if (_settings.ProportionalRateReduction) _prr.Start(recoverFs, _cc.SlowStartThreshold, _mss);
        return true;
    }

    /// <summary>RFC 8985 §6.3: the reordering timer expired: detect losses again and re-arm.</summary>
    private void OnRackTimer(Instant now)
    {
        _rackDeadline = Instant.MaxValue;
        if (!UseRack || BytesInFlight == 0) return;
        if (RackDetectAndArm(now) > 0 && OnLossDetected(now, BytesInFlight - _sack.SackedBytes) && PrrActive)
            _prr.OnAck(0, Pipe, safeAck: false, _mss, first: true); // RFC 9937 §6.2: no ACK, but the fast retransmit may go
    }

    /// <summary>
    /// RFC 8985 §7.4.2: what the ACK says about an outstanding loss probe. A probe of new data needs nothing; a
    /// retransmitted probe that a DSACK or a pure duplicate ACK shows arrived twice means no loss; an ACK beyond the
    /// probe means the probe repaired a loss, which congestion control must hear about.
    /// </summary>
    private void ProcessTlpAck(SeqNumber ack, bool advanced, bool newSack, bool dsack, SeqNumber dsackStart, SeqNumber dsackEnd,
        int flightBefore, in TcpSegment seg, int scaledWindow, Instant now)
    {
        if (!_tlpOutstanding || ack < _tlpEndSeq) return;
        if (!_tlpIsRetrans) { _tlpOutstanding = false; return; }
        if (dsack && dsackStart < _tlpEndSeq && dsackEnd >= _tlpEndSeq) { _tlpOutstanding = false; return; }
        if (ack > _tlpEndSeq)
        {
            _tlpOutstanding = false;
            // The probe repaired a loss: EnterRecovery() then ExitRecovery(), i.e. one window reduction.
            if (!_fastRecovery && !_rtoRecovery)
            {
                _cc.OnCongestionEvent(flightBefore, _mss, now);
                _cc.OnRecoveryEnd(_mss, now);
            }
            _layer.Stats.TailLossProbeRepairs++;
            return;
        }
        bool pureDupAck = !advanced && !newSack && seg.Payload.Length == 0 && !seg.Fin && scaledWindow == _sndWnd;
        if (pureDupAck) _tlpOutstanding = false;
    }
}
