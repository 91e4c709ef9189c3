using NetStack.Wire;

namespace NetStack.Transport.Tcp;

public sealed partial class TcpConnection
{
    /// <summary>Fires the timers due at <paramref name="now"/>.</summary>
    internal void OnTimers(Instant now)
    {
        if (now >= _timeWaitDeadline)
        {
            // RFC 9293 §3.10.8: TIME-WAIT timeout deletes the TCB.
            _timeWaitDeadline = Instant.MaxValue;
            Terminate(TcpError.None);
            return;
        }
        // RFC 8985 §7.2: a PTO capped at the RTO expiry fires instead of the RTO (the probe then re-arms the RTO).
        if (now >= _tlpDeadline && _tlpDeadline <= _rtxDeadline) OnTailLossProbe(now);
        else if (now >= _rtxDeadline) OnRetransmitTimeout(now);
        if (State == TcpState.Closed) return;
        if (now >= _rackDeadline) OnRackTimer(now);
        if (now >= _delayedAckDeadline)
        {
            _delayedAckDeadline = Instant.MaxValue;
            _ackNow = true;
            _layer.MarkDirty(this);
        }
        if (now >= _persistDeadline) OnPersist(now);
        if (now >= _keepaliveDeadline) OnKeepalive(now);
        if (now >= _pacingDeadline)
        {
            // The pacing gap is over: what was held back may go.
            _pacingDeadline = Instant.MaxValue;
            _layer.MarkDirty(this);
        }
    }

    /// <summary>
    /// RFC 8985 §7.2: after sending new data or on an ACK of new data, with SACK, outside recovery and with no probe
    /// outstanding (TLP.end_seq is None), schedule a probe timeout PTO = 2·SRTT (plus WCDelAckT when one segment is in
    /// flight; 1 s without an RTT sample), no later than the RTO would expire.
    /// Also in fast recovery once nothing is left to retransmit (see <see cref="RecoveryTailStalled"/>).
    /// </summary>
    private void ArmTailLossProbe(Instant now)
    {
        if (!_sackEnabled || _tlpOutstanding || (_fastRecovery && !RecoveryTailStalled) || _rtoRecovery || BytesInFlight == 0
            || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck or TcpState.Closing))
        {
            // A further probe stays armed across ACKs that do not reach TLP.end_seq (ScheduleFurtherProbe): they show the
            // path works but say nothing of the probe, whose ACK may be the one lost; it goes no earlier than a PTO from now.
            if (_tlpOutstanding && _tlpRetryPending && !_rtoRecovery && BytesInFlight > 0)
            {
                var earliest = now + TimeSpan.FromTicks((ProbeTimeoutMicros() << Math.Min(_tlpBackoff, 20)) * 10);
                var at = _tlpDeadline == Instant.MaxValue ? earliest : Instant.Max(_tlpDeadline, earliest);
                _tlpDeadline = at < _rtxDeadline ? at : Instant.MaxValue;
                return;
            }
            _tlpDeadline = Instant.MaxValue;
            return;
        }
        var deadline = now + TimeSpan.FromTicks(ProbeTimeoutMicros() * 10);
        _tlpDeadline = Instant.Min(deadline, _rtxDeadline); // "If Now() + PTO > TCP_RTO_expire(): PTO = TCP_RTO_expire() - Now()"
    }

    /// <summary>
    /// RFC 8985 §7.2 PTO: 2·SRTT, plus WCDelAckT when one segment is in flight; 1 s before any RTT sample; at least
    /// <see cref="TcpSettings.TailLossProbeMinimum"/> (timer granularity).
    /// </summary>
    private long ProbeTimeoutMicros()
    {
        if (!_rtt.HasSample) return 1_000_000;
        long pto = 2 * _rtt.SmoothedMicros;
        if (BytesInFlight <= _mss) pto += 200_000; // WCDelAckT
        return Math.Max(pto, _settings.TailLossProbeMinimum.Ticks / 10);
    }

    /// <summary>The least delayed-ACK time of a Linux receiver (TCP_ATO_MIN, 40 ms): how long a lone new segment may wait for its ACK.</summary>
    private const long PeerDelayedAckMicros = 40_000;

    /// <summary>
    /// RFC 8985 §7.3: send one new segment if there is one and the receive window allows (cwnd does not apply), else
    /// retransmit the last segment sent; remember TLP.end_seq / TLP.is_retrans and re-arm the RTO. A further probe
    /// (<see cref="TcpSettings.MaxTailLossProbes"/>) retransmits: the last segment, or in recovery the first hole.
    /// </summary>
    private void OnTailLossProbe(Instant now)
    {
        _tlpDeadline = Instant.MaxValue;
        bool further = _tlpOutstanding && _tlpRetryPending;
        _tlpRetryPending = false;
        if (further && _fastRecovery && !RecoveryTailStalled && BytesInFlight > 0)
        {
            // Recovery has something to send or a RACK timer to wait for: not a stalled tail yet; look again a PTO later.
            _tlpRetryPending = true;
            var at = now + TimeSpan.FromTicks(ProbeTimeoutMicros() * 10);
            _tlpDeadline = at < _rtxDeadline ? at : Instant.MaxValue;
            return;
        }
        if (BytesInFlight == 0 || (_fastRecovery && !RecoveryTailStalled) || _rtoRecovery || (_tlpOutstanding && !further)) return;
        if (!further) _tlpProbes = _tlpBackoff = 0;
        var seq = _sndNxt;
        int available = DataEnd - seq;
        int wnd = (_sndUna + _sndWnd) - seq;
        int len = Math.Min(Math.Min(available, _mss), wnd);
        if (_fastRecovery && (_sent.LostBytes > 0 || len <= 0 || _finSent || (further && _tlpIsRetrans)))
        {
            // A further probe after an unanswered retransmitted one: the hole again (the retransmission or its ACK was lost).
            // In recovery the tail is the first hole: a segment deemed lost that waits for PRR's cwnd, or, with no new data
            // to probe with, the first unSACKed segment (a retransmission whose loss nothing later can reveal). The probe is
            // its retransmission, sent regardless of cwnd (as RFC 6675 §5 step 4.2 sends the first one); the last segment,
            // RFC 8985 §7.3's choice outside recovery, is SACKed already here and would tell nothing.
            if (_sent.LostBytes == 0)
            {
                int hole = 0;
                while (hole < _sent.Count && _sent[hole].Sacked) hole++;
                if (hole == _sent.Count) return;
                _sent.MarkLost(hole);
            }
            _firstRetransmitPending = true;
            if (!TrySendRetransmission(now)) { _firstRetransmitPending = false; return; }
            _tlpDeadline = Instant.MaxValue; // (TrySendRetransmission re-armed it before the probe was outstanding)
            _tlpOutstanding = true;
            _tlpIsRetrans = true;
            _tlpEndSeq = _sndNxt;
            _layer.Stats.TailLossProbes++;
            if (!further) _rtxDeadline = now + Rto;
            ScheduleFurtherProbe(now, retransmitted: true, loneNewSegment: false);
            return;
        }
        bool isRetrans;
        int probeLen;
        if (len > 0 && !_finSent && !further)
        {
            probeLen = 0;
            // RFC 8985 §7.3 sends one new segment. A receiver that has acknowledged everything before it may hold the ACK
            // of one lone in-order segment for its delayed-ACK time (RFC 9293 §3.8.6.3; 40 ms or more on Linux), and that
            // is the common case on a lossy LAN, where the probe follows a lost (stretch) ACK: the whole flight arrived.
            // A second full segment must be acknowledged at once ("at least every second full-sized segment", RFC 9293
            // §3.8.6.3 / RFC 5681 §4.2; Linux's __tcp_ack_snd_check acknowledges more than one MSS immediately), so with
            // TailLossProbeSegments = 2 (the default) the probe is two segments when the data and window allow.
            for (int k = 0; k < Math.Max(1, _settings.TailLossProbeSegments) && len > 0; k++)
            {
                bool fin = _finQueued && seq + len == DataEnd;
                SendData(seq, len, fin, now);
                _sent.Append(seq, seq + len + (fin ? 1 : 0), now, TsNow(now));
                probeLen += len + (fin ? 1 : 0);
                seq += len + (fin ? 1 : 0);
                _sndNxt = seq;
                if (fin) { _finSent = true; _finSeq = seq - 1; break; }
                if (len < _mss) break;
                len = Math.Min(Math.Min(DataEnd - seq, _mss), (_sndUna + _sndWnd) - seq);
            }
            isRetrans = false;
        }
        else if (further && FirstUnsackedBelowSacked() is int hole and >= 0)
        {
            // A further probe while part of the flight is SACKed: the last segment is SACKed (or beyond a hole), and its
            // retransmission would draw a D-SACK that tells nothing; the hole at the left is what is missing. It stays
            // undetected when the only delivery after it was a retransmission whose SACK echoes an older timestamp (RFC 8985
            // §6.2 step 2 cannot use it), so the probe retransmits it, as an RTO would (RFC 6298 §5.4) but without the cut.
            var rec = _sent[hole];
            var start = _sack.NextHole(rec.Start, rec.End, out var holeEnd);
            var dataEnd = _finSent ? _finSeq : DataEnd;
            int dataLen = Math.Max(0, Math.Min(SeqNumber.Min(holeEnd, dataEnd) - start, _mss));
            bool fin = _finSent && start + dataLen == _finSeq && holeEnd > _finSeq;
            if (dataLen == 0 && !fin) return;
            SendData(start, dataLen, fin, now);
            probeLen = dataLen + (fin ? 1 : 0);
            if (start > rec.Start && _sent.Split(hole, start)) { _sent.MarkSacked(hole); hole++; }
            _sent.Split(hole, start + probeLen);
            _sent.MarkRetransmitted(hole, now, TsNow(now));
            Retransmissions++;
            _layer.Stats.Retransmissions++;
            isRetrans = true;
        }
        else
        {
            int i = _sent.Count - 1;
            if (i < 0) return;
            var last = _sent[i];
            var end = last.End;
            bool fin = _finSent && end == _finSeq + 1;
            var dataEnd = fin ? _finSeq : end;
            var start = SeqNumber.Max(last.Start, dataEnd - _mss);
            int dataLen = Math.Max(0, dataEnd - start);
            if (dataLen == 0 && !fin) return;
            if (dataLen == 0) start = _finSeq;
            SendData(start, dataLen, fin, now);
            probeLen = dataLen + (fin ? 1 : 0);
            if (start > last.Start && _sent.Split(i, start)) i++;
            _sent.MarkRetransmitted(i, now, TsNow(now));
            Retransmissions++;
            _layer.Stats.Retransmissions++;
            isRetrans = true;
        }
        if (PrrActive) _prr.OnSent(probeLen); // RFC 9937 §6.2: prr_out counts every byte sent in recovery
        _tlpOutstanding = true;
        _tlpIsRetrans = isRetrans;
        _tlpEndSeq = _sndNxt;
        _layer.Stats.TailLossProbes++;
        _timing = false;
        if (!further) _rtxDeadline = now + Rto; // RFC 8985 §7.3: re-arm the RTO after the probe (further ones leave it)
        ScheduleFurtherProbe(now, isRetrans, loneNewSegment: !isRetrans && probeLen < 2 * _mss);
    }

    /// <summary>The first segment not SACKed when a later one is SACKed (a hole), or -1.</summary>
    private int FirstUnsackedBelowSacked()
    {
        if (_sack.SackedBytes == 0) return -1;
        int hole = -1;
        for (int i = 0; i < _sent.Count; i++)
        {
            if (!_sent[i].Sacked) { if (hole < 0) hole = i; }
            else if (hole >= 0) return hole;
        }
        return -1;
    }

    /// <summary>
    /// RFC 8985 leaves a tail whose probe draws no ACK at all to the RTO: the probe or its ACK was lost (at 5 % loss each
    /// way, one probe in ten), and the RTO (200 ms at least) then costs hundreds of LAN round trips and cwnd. Instead, while
    /// the next probe would still go before the RTO and fewer than <see cref="TcpSettings.MaxTailLossProbes"/> were sent,
    /// another probe retransmits after PTO (plus the peer's delayed-ACK time after a lone new segment, whose ACK the
    /// receiver may hold, RFC 9293 §3.8.6.3), doubled after each retransmitted probe: QUIC's repeated probe timeouts
    /// (RFC 9002 §6.2.1, "the PTO period is doubled each time a PTO expires"), and the second probe of the original TLP
    /// (draft-dukkipati-tcpm-tcp-loss-probe). A retransmission is acknowledged at once (RFC 5681 §4.2, with a D-SACK,
    /// RFC 2883), which also tells whether the earlier probes arrived. cwnd is not cut by the probes; the RTO stays armed
    /// from the first one and, if every probe goes unanswered, fires as before (RFC 6298 §5).
    /// </summary>
    private void ScheduleFurtherProbe(Instant now, bool retransmitted, bool loneNewSegment)
    {
        if (++_tlpProbes >= Math.Max(1, _settings.MaxTailLossProbes)) return;
        if (retransmitted) _tlpBackoff++;
        long interval = ProbeTimeoutMicros() << Math.Min(_tlpBackoff, 20);
        if (loneNewSegment) interval += PeerDelayedAckMicros;
        var retry = now + TimeSpan.FromTicks(interval * 10);
        if (retry >= _rtxDeadline) return;
        _tlpRetryPending = true;
        _tlpDeadline = retry;
    }

    /// <summary>
    /// Fast recovery with nothing more to send: no RACK reordering timer is pending, and no segment is marked lost (every
    /// hole has been retransmitted) or PRR's cwnd holds back the one that is. RACK finds a lost retransmission only when a segment sent after it is delivered
    /// (RFC 8985 §6.2), and with the windows random loss leaves (2-4 segments) nothing more may be sent: a lost
    /// retransmission, or the lost ACK of the last segments, then waited for the RTO (200 ms at least, thousands of
    /// round trips on a LAN). RFC 8985 §7.2 schedules no probe in recovery; we do in this one state, as the RFC's own
    /// rationale for TLP (§7.1: a tail whose loss only the RTO would otherwise find) applies to it: after PTO the probe
    /// (one new segment, else the last one again) draws a SACK that lets RACK mark the lost retransmission, or a
    /// cumulative ACK that replaces the lost ones; when a lost segment waits for cwnd, the probe is its retransmission.
    /// One probe until its TLP.end_seq is acknowledged, as outside recovery; the RTO stays armed behind it.
    /// </summary>
    private bool RecoveryTailStalled => UseRack && _rackDeadline == Instant.MaxValue && (_sent.LostBytes == 0 || Pipe + _mss > SendWindow);

    private void OnRetransmitTimeout(Instant now)
    {
        _rtxDeadline = Instant.MaxValue;
        _tlpDeadline = Instant.MaxValue;
        _rackDeadline = Instant.MaxValue;
        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            // RFC 9293 §3.8.3: SYN retransmissions are "handled in the general way": R1 advice, then R2.
            int r2 = State == TcpState.SynReceived && Listener is not null ? _settings.MaxSynAckRetries : _settings.MaxSynRetries;
            _layer.OnRetransmissionTimeout(this, _retries + 1);
            if (++_retries > r2)
            {
                if (_peerAckedOverflow) { ResetOverflowedPeer(_iss + 1, now); return; }
                TimeOut();
                return;
            }
            if (_retries == _settings.RetransmissionsBeforeAdvice) ReportExcessiveRetransmissions(now);
            _rtt.Backoff();
            _sndNxt = _iss; // resend SYN (or SYN,ACK)
            _timing = false;
            _layer.Stats.Retransmissions++;
            Retransmissions++;
            _layer.MarkDirty(this);
            return;
        }
        if (BytesInFlight == 0) return;
        _layer.OnRetransmissionTimeout(this, _retries + 1);
        // RFC 9293 §3.8.3 (RFC 1122 §4.2.3.5): R2 closes the connection; R1 gives the IP layer negative advice (MUST-20).
        if (++_retries > MaxRetransmissions) { TimeOut(); return; }
        if (_retries == _settings.RetransmissionsBeforeAdvice) ReportExcessiveRetransmissions(now);
        _layer.Stats.Timeouts++;
        // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back off, restart the timer.
        _cc.OnRetransmitTimeout(Pipe, _mss, now);
        _rtt.Backoff();
        // RFC 6675 §5.1: after a second timeout forget SACK state, in case the receiver reneged.
        if (_retries > 1)
        {
            _sack.Clear();
            _sent.ClearSacked();
        }
        if (UseRack) _rack.MarkLossesOnRto(_sent, now); // RFC 8985 §6.3
        else for (int i = 0; i < _sent.Count; i++) _sent.MarkLost(i); // RFC 5681 §3.1 / RFC 6582 §3.2 step 1: go back N
        _fastRecovery = false;
        _rtoRecovery = true;
        _firstRetransmitPending = true;
        _recover = _sndNxt;
        _tlpOutstanding = _tlpRetryPending = false;
        _dupAcks = 0;
        _timing = false;
        _layer.MarkDirty(this);
    }

    /// <summary>
    /// R1 reached (RFC 9293 §3.8.3): negative advice to the IP layer (MUST-20) and a soft error for the application
    /// (SHLD-9), unless an ICMP soft error already explains the silence.
    /// </summary>
    private void ReportExcessiveRetransmissions(Instant now)
    {
        _layer.ReachabilityAdvice(Remote.Address, forwardProgress: false, now);
        if (SoftError.Kind is TcpSoftErrorKind.None or TcpSoftErrorKind.ExcessiveRetransmissions)
            NoteSoftError(new TcpSoftError(TcpSoftErrorKind.ExcessiveRetransmissions, default, 0, 0, now));
    }

    private TimeSpan PersistInterval()
    {
        long us = Math.Clamp(_rtt.RtoMicros << Math.Min(_persistBackoff, 10), 200_000, 60_000_000);
        return TimeSpan.FromTicks(us * 10);
    }

    private void OnPersist(Instant now)
    {
        // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe a zero window with exponential back-off, never giving up.
        _persistDeadline = Instant.MaxValue;
        if (_sndWnd > 0 || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck or TcpState.Closing)) return;
        if (DataEnd - _sndNxt <= 0 && !(_finQueued && !_finSent)) return;
        SendProbe(now);
        _layer.Stats.WindowProbes++;
        _persistBackoff++;
        _persistDeadline = now + PersistInterval();
    }

    private void ArmKeepalive(Instant now)
    {
        _keepaliveDeadline = KeepAlive ? now + _settings.KeepAliveIdle : Instant.MaxValue;
    }

    private void OnKeepalive(Instant now)
    {
        _keepaliveDeadline = Instant.MaxValue;
        if (!KeepAlive || State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait2)) return;
        var idle = now - _lastReceived;
        if (_keepaliveProbes == 0 && idle < _settings.KeepAliveIdle)
        {
            _keepaliveDeadline = _lastReceived + _settings.KeepAliveIdle;
            return;
        }
        // RFC 1122 §4.2.3.6: after the idle time, probe every interval; give up after the configured count.
        if (_keepaliveProbes >= _settings.KeepAliveProbes) { Terminate(TcpError.TimedOut); return; }
        _keepaliveProbes++;
        SendProbe(now);
        _layer.Stats.KeepAliveProbes++;
        _keepaliveDeadline = now + _settings.KeepAliveInterval;
    }

    /// <summary>Called by the layer when any segment arrived, to push the keep-alive deadline (cheaply).</summary>
    internal void TouchKeepalive(Instant now)
    {
        if (KeepAlive && State is TcpState.Established or TcpState.CloseWait or TcpState.FinWait2)
            _keepaliveDeadline = now + _settings.KeepAliveIdle;
    }
}
