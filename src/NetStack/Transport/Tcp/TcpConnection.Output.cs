using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport.Tcp;

public sealed partial class TcpConnection
{
    /// <summary>Sends everything that may be sent now: SYN, retransmissions, new data, FIN, a pending ACK.</summary>
    internal void Transmit(Instant now)
    {
        switch (State)
        {
            case TcpState.Closed:
            case TcpState.Listen:
                return;
            case TcpState.SynSent:
            case TcpState.SynReceived:
                if (_sndNxt == _iss)
                {
                    SendSyn(now);
                    return;
                }
                if (_ackNow) SendAck(now);
                return;
            case TcpState.TimeWait:
                if (_ackNow) SendAck(now);
                return;
        }

        bool sent = false;
        for (int guard = 0; guard < 4096; guard++)
        {
            if (TrySendRetransmission(now) || TrySendNew(now)) { sent = true; continue; }
            break;
        }
        if (!sent && _ackNow) SendAck(now);
        // Draft-cheng-iccrg-delivery-rate-estimation §3.2 (Linux tcp_rate_check_app_limited): less than a segment left
        // to send, cwnd not the limit and no loss left to repair: what is in flight now is application limited.
        if (_cc.UsesRateSamples && DataEnd - _sndNxt < _mss && Pipe < SendWindow && _sent.LostBytes == 0)
            _sent.Rate.MarkAppLimited(BytesInFlight);
    }

    private void SendSyn(Instant now)
    {
        bool synAck = State == TcpState.SynReceived;
        var repr = NewRepr(_iss, synAck ? TcpFlags.Syn | TcpFlags.Ack : TcpFlags.Syn);
        repr.Mss = _ourMss;
        // RFC 7323 §2.2 / RFC 2018 §2: options in a SYN,ACK only if the SYN carried them.
        if (_settings.WindowScaling && (!synAck || _peerOfferedWs)) repr.WindowScale = synAck ? _rcvShift : OurWindowShift();
        if (_settings.Sack && (!synAck || _peerOfferedSack)) repr.SackPermitted = true;
        if (_settings.Timestamps && (!synAck || _peerOfferedTs)) repr.Timestamps = new TcpTimestamps(TsNow(now), synAck ? _tsRecent : 0);
        repr.Window = (ushort)Math.Min(_recvBuffer.Free, 65535); // RFC 7323 §2.2: never scaled in a SYN
        if (synAck) _rcvAdvRight = _rcvNxt + repr.Window;
        Emit(repr, 0, 0, now);
        if (_sndNxt == _iss && _rtt.Backoffs == 0 && !_timing) { _timing = true; _timedSeq = _iss; _timedAt = now; }
        else _timing = false; // Karn
        _sndNxt = _iss + 1;
        if (_rtxDeadline == Instant.MaxValue) _rtxDeadline = now + Rto;
    }

    /// <summary>
    /// RFC 6675 §5 NextSeg rule 1: the first segment deemed lost (by RACK, DupThresh, a partial ACK or the RTO), its
    /// unSACKed part, at most one MSS, sent when pipe allows (RFC 6675 §5 step C).
    /// </summary>
    private bool TrySendRetransmission(Instant now)
    {
        if (!_fastRecovery && !_rtoRecovery) return false;
        while (true)
        {
            int i = _sent.FirstLost();
            if (i < 0) return false;
            var rec = _sent[i];
            var start = _sack.NextHole(rec.Start, rec.End, out var holeEnd);
            if (start >= rec.End) { _sent.MarkSacked(i); continue; } // all SACKed meanwhile
            var dataEnd = _finSent ? _finSeq : DataEnd;
            int dataLen = Math.Max(0, Math.Min(SeqNumber.Min(holeEnd, dataEnd) - start, _mss));
            bool fin = _finSent && start + dataLen == _finSeq && holeEnd > _finSeq;
            int segLen = dataLen + (fin ? 1 : 0);
            if (segLen <= 0) { _sent.MarkSacked(i); continue; } // nothing left to send in it (cannot happen)
            // RFC 6675 §5 step 4.2: the first retransmission goes regardless of cwnd; later ones need pipe + len <= cwnd.
            // With PRR (RFC 9937) cwnd is pipe + sndcnt, so this sends sndcnt bytes' worth per ACK.
            if (!_firstRetransmitPending && Pipe + segLen > SendWindow && !(_rtoRecovery && Pipe == 0)) return false;
            long rate = PacingRate;
            if (PacingHolds(now, rate)) return false;
            _firstRetransmitPending = false;
            SendData(start, dataLen, fin, now);
            Paced(segLen, now, rate);
            if (PrrActive) _prr.OnSent(segLen); // RFC 9937 §6.2: prr_out counts retransmissions
            // The record now describes exactly what went out (split off a SACKed front and an unsent tail when there is room).
            if (start > rec.Start && _sent.Split(i, start)) { _sent.MarkSacked(i); i++; }
            _sent.Split(i, start + segLen);
            _sent.MarkRetransmitted(i, now, TsNow(now));
            _timing = false; // Karn: no timing across retransmissions
            Retransmissions++;
            _layer.Stats.Retransmissions++;
            if (_rtxDeadline == Instant.MaxValue) _rtxDeadline = now + Rto;
            if (_fastRecovery) ArmTailLossProbe(now); // the last hole repaired: a stalled tail gets a probe (RecoveryTailStalled)
            return true;
        }
    }

    private bool TrySendNew(Instant now)
    {
        if (State is not (TcpState.Established or TcpState.CloseWait or TcpState.FinWait1 or TcpState.LastAck or TcpState.Closing)) return false;
        var seq = _sndNxt;
        int available = DataEnd - seq;
        if (available < 0) available = 0;
        bool finPending = _finQueued && !_finSent;
        if (available == 0 && !finPending) return false;
        long rate = PacingRate;
        if (PacingHolds(now, rate)) return false;

        int flight = BytesInFlight;
        int wndLimit = (_sndUna + _sndWnd) - seq;
        int cwndLimit = SendWindow - Pipe;
        if (TrySendSuperSegment(seq, available, wndLimit, cwndLimit, finPending, now, rate)) return true;
        int len = Math.Min(Math.Min(available, _mss), Math.Min(wndLimit, cwndLimit));
        if (len < 0) len = 0;
        if (available > 0 && len == 0)
        {
            // RFC 9293 §3.8.6.1: zero window with nothing in flight: the persist timer probes it.
            if (wndLimit <= 0 && flight == 0 && _persistDeadline == Instant.MaxValue)
                _persistDeadline = now + PersistInterval();
            return false;
        }
        if (available > 0 && len < _mss)
        {
            bool allQueued = len == available;
            bool send =
                // RFC 9293 §3.7.4 Nagle (RFC 1122 §4.2.3.4), Minshall's variant: hold a small segment only while another small one is unacknowledged.
                (allQueued && (NoDelay || flight == 0 || finPending || _nagleEnd <= _sndUna || InUrgentMode(seq)))
                || (!allQueued && len >= _maxSndWnd / 2 && len == wndLimit) // RFC 9293 §3.8.6.2.1 SWS: half the max window
                || flight == 0;                                          // nothing outstanding: send what fits (override)
            if (!send) return false;
        }
        bool fin = finPending && seq + len == DataEnd;
        if (len == 0 && !fin) return false;
        SendData(seq, len, fin, now);
        Paced(len + (fin ? 1 : 0), now, rate);
        if (PrrActive) _prr.OnSent(len + (fin ? 1 : 0)); // RFC 9937 §6.2: prr_out counts new data too
        _sent.Append(seq, seq + len + (fin ? 1 : 0), now, TsNow(now));
        if (len < _mss) _nagleEnd = seq + len;
        _sndNxt = seq + len + (fin ? 1 : 0);
        if (fin) { _finSent = true; _finSeq = seq + len; }
        if (!_timing && !_tsEnabled && len > 0) { _timing = true; _timedSeq = seq + len; _timedAt = now; }
        if (_rtxDeadline == Instant.MaxValue) _rtxDeadline = now + Rto; // RFC 6298 §5.1
        ArmTailLossProbe(now);
        return true;
    }

    /// <summary>
    /// TSO/GSO: two or more full segments of new data that the peer's window and cwnd both allow, outside loss recovery,
    /// go down as one super-segment (<see cref="TcpSettings.SegmentationOffload"/>, where IP takes them: up to
    /// <see cref="TransmitOffloadSupport.MaxSuperSegment"/>), cut into MSS-sized segments by the device or in software.
    /// Everything else is accounted per segment exactly as if each had been sent alone: one <see cref="SentQueue"/> record
    /// per MSS (RACK, SACK, PRR and the RTO count MSS-sized segments), PSH and FIN on the last, the RTT timed on the first.
    /// The wire bytes are those the segment-at-a-time path sends. A sub-MSS tail, retransmissions (one MSS at a time,
    /// RFC 6675 NextSeg; Linux retransmits whole skbs, we keep the RFC's granularity), probes, urgent data and a pending
    /// D-SACK take the one-segment path.
    /// </summary>
    private bool TrySendSuperSegment(SeqNumber seq, int available, int wndLimit, int cwndLimit, bool finPending, Instant now, long rate)
    {
        // In fast recovery only for a controller that sets its own recovery window (BBR): as Linux's tcp_write_xmit,
        // which sends TSO-sized skbs of new data in recovery too. Without it a paced BBR sender at a few per cent loss
        // (in recovery nearly all the time) paced every new segment alone, one timer wake-up each. Under PRR (CUBIC,
        // NewReno) new data keeps going one segment per sndcnt.
        if (!_settings.SegmentationOffload || (_fastRecovery && !_cc.SetsRecoveryWindow) || _rtoRecovery || _dsackPending
            || InUrgentMode(seq) || _mss <= 0) return false;
        int max = PacedSuperSegmentLimit(rate, TransmitSupport.MaxSuperSegment - TcpSegment.MaxHeaderLength);
        int limit = Math.Min(Math.Min(available, max), Math.Min(wndLimit, cwndLimit));
        int segments = limit / _mss;
        if (segments < 2) return false;
        int len = segments * _mss;
        bool fin = finPending && seq + len == DataEnd;
        SendData(seq, len, fin, now, _mss);
        Paced(len + (fin ? 1 : 0), now, rate);
        if (PrrActive) _prr.OnSent(len + (fin ? 1 : 0)); // (not in recovery: kept for symmetry with TrySendNew)
        for (int i = 0; i < segments; i++)
        {
            var start = seq + i * _mss;
            bool last = i == segments - 1;
            _sent.Append(start, start + _mss + (last && fin ? 1 : 0), now, TsNow(now));
        }
        _sndNxt = seq + len + (fin ? 1 : 0);
        if (fin) { _finSent = true; _finSeq = seq + len; }
        if (!_timing && !_tsEnabled) { _timing = true; _timedSeq = seq + _mss; _timedAt = now; } // the first segment's, as alone
        if (_rtxDeadline == Instant.MaxValue) _rtxDeadline = now + Rto; // RFC 6298 §5.1
        ArmTailLossProbe(now);
        return true;
    }

    private TransmitOffloadSupport? _transmitSupport;

    /// <summary>What IP takes from this connection (asked once: the route to a peer does not turn into loopback).</summary>
    private TransmitOffloadSupport TransmitSupport => _transmitSupport ??= _layer.TransmitOffloads(Remote.Address);

    private void SendData(SeqNumber seq, int dataLen, bool fin, Instant now, int segmentSize = 0)
    {
        var flags = TcpFlags.Ack;
        if (fin) flags |= TcpFlags.Fin;
        if (dataLen > 0 && seq + dataLen == DataEnd) flags |= TcpFlags.Psh;
        var repr = NewRepr(seq, flags);
        Emit(repr, seq - _sndBufSeq, dataLen, now, segmentSize: segmentSize);
        _layer.Stats.BytesSent += dataLen;
    }

    private void SendAck(Instant now)
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent) return;
        Emit(NewRepr(_sndNxt, TcpFlags.Ack), 0, 0, now);
    }

    /// <summary>RFC 5961 §7: challenge ACKs are rate limited stack-wide.</summary>
    private void SendChallengeAck(Instant now)
    {
        if (!_layer.TryTakeChallengeAck(now)) return;
        _layer.Stats.ChallengeAcks++;
        SendAck(now);
    }

    private void SendRst(SeqNumber seq, Instant now, bool withAck)
    {
        var repr = NewRepr(seq, withAck ? TcpFlags.Rst | TcpFlags.Ack : TcpFlags.Rst);
        if (!withAck) repr.AckNumber = default;
        repr.Window = 0;
        repr.Timestamps = null;
        repr.SackBlocks = default;
        Emit(repr, 0, 0, now, rst: true);
    }

    /// <summary>A keep-alive or zero-window probe: an old sequence number (SND.UNA − 1) that forces an ACK (RFC 1122 §4.2.3.6).</summary>
    private void SendProbe(Instant now) => Emit(NewRepr(_sndUna - 1, TcpFlags.Ack), 0, 0, now);

    private TcpRepr NewRepr(SeqNumber seq, TcpFlags flags)
    {
        var repr = new TcpRepr
        {
            SourcePort = Local.Port,
            DestinationPort = Remote.Port,
            SequenceNumber = seq,
            Flags = flags,
            AckNumber = (flags & TcpFlags.Ack) != 0 ? _rcvNxt : default,
        };
        return repr;
    }

    /// <summary>Fills window, timestamps and SACK, writes the segment in the layer's scratch buffer and hands it to IP.</summary>
    private void Emit(TcpRepr repr, int dataOffset, int dataLen, Instant now, bool rst = false, int segmentSize = 0)
    {
        bool syn = (repr.Flags & TcpFlags.Syn) != 0;
        bool ack = (repr.Flags & TcpFlags.Ack) != 0;
        if (!syn && !rst)
        {
            repr.Window = AdvertiseWindow();
            if (_tsEnabled) repr.Timestamps = new TcpTimestamps(TsNow(now), _tsRecent);
            if (_sackEnabled && ack && (!_assembler.IsEmpty || _dsackPending)) repr.SackBlocks = BuildSack(_tsEnabled ? 3 : 4);
        }
        // RFC 9293 §3.8.5 / §3.9.1.2: while urgent data is unacknowledged every segment before the urgent pointer carries
        // URG and the offset to it (MUST-62). An offset beyond 16 bits is sent as 65535, "more urgent data follows" (as
        // Linux): later segments bring the pointer within reach.
        if (!syn && !rst && InUrgentMode(repr.SequenceNumber))
        {
            repr.Flags |= TcpFlags.Urg;
            repr.UrgentPointer = (ushort)Math.Min(_sndUp - repr.SequenceNumber, ushort.MaxValue);
        }
        // The segment is built where it will leave from (DESIGN principle 7, smoltcp's TxToken): a frame buffer with
        // IpSendBuffers.TransportHeadroom free in front, into which IP and the link layer write their headers. The payload
        // is copied once, from the send ring into the frame; the device writes the frame out (TAP) or queues it (in memory).
        // A buffer per segment (pooled, so no allocation) rather than one per layer: a segment sent to ourselves is
        // received, and answered, before this call returns.
        int h = repr.HeaderLength;
        int o = IpSendBuffers.TransportHeadroom;
        var frame = System.Buffers.ArrayPool<byte>.Shared.Rent(o + h + dataLen);
        try
        {
            var buffer = frame.AsSpan(o, h + dataLen);
            var payload = buffer.Slice(h, dataLen);
            if (dataLen > 0) _sendBuffer.Peek(dataOffset, payload);
            // The checksum is left partial where IP takes it: the device (checksum offload) or the link layer completes it.
            bool partial = TransmitSupport.PartialChecksum;
            int total = repr.Write(buffer, payload, Checksum.PseudoHeader(Local.Address, Remote.Address, (byte)IpProtocol.Tcp, h + dataLen), partial);
            if (ack)
            {
                _lastAckSent = _rcvNxt;
                _ackNow = false;
                _unackedBytes = 0;
                _compressedAcks = 0;
                if (_sackEnabled) _sackFresh = 0; // the blocks of this ACK: reported (BuildSack, above)
                _delayedAckDeadline = Instant.MaxValue;
            }
            int segments = segmentSize > 0 && dataLen > segmentSize ? (dataLen + segmentSize - 1) / segmentSize : 1;
            _layer.Output(Local.Address, Remote.Address, frame, o, total, now, _trafficClass, HopLimit, partial,
                segments > 1 ? segmentSize : 0, segments);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>Send-side urgent mode (RFC 9293 §3.8.5): SND.UP not yet acknowledged and <paramref name="seq"/> before it.</summary>
    private bool InUrgentMode(SeqNumber seq) => _sndUrgent && _sndUna < _sndUp && seq < _sndUp;

    private ushort AdvertiseWindow()
    {
        var right = _rcvNxt + _recvBuffer.Free;
        // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: hold the right edge until it can move by min(buffer/2, MSS);
        // RFC 7323 §2.4: never shrink the window.
        int gain = right - _rcvAdvRight;
        if (gain < Math.Min(_recvBuffer.Capacity / 2, Math.Max((int)_ourMss, 1)))
            right = SeqNumber.Max(_rcvAdvRight, _rcvNxt);
        if (right < _rcvAdvRight) right = _rcvAdvRight;
        int window = Math.Max(0, right - _rcvNxt);
        int scaled = Math.Min(window >> _rcvShift, 65535);
        var advertised = _rcvNxt + (scaled << _rcvShift);
        if (advertised > _rcvAdvRight) _rcvAdvRight = advertised;
        return (ushort)scaled;
    }

    private TcpSackBlocks BuildSack(int max)
    {
        // RFC 2018 §4: the first block holds the most recently received segment; the others repeat the most recently
        // reported blocks, here those that most recently received data, most recent first (Linux's selective_acks), so
        // that each block goes out in several ACKs (against ACK loss) even when ACKs are compressed; then other ranges.
        // RFC 2883 §4: a D-SACK block, when there is one, goes first, once.
        var blocks = new TcpSackBlocks();
        int first = _assembler.LastChangedIndex;
        if (_dsackPending)
        {
            blocks.TryAdd(new SackBlock(_dsackStart, _dsackEnd));
            _dsackPending = false;
            // RFC 2883 §4 (2): a duplicate above the cumulative ACK is followed by the SACK block that contains it.
            int offset = _dsackStart - _rcvNxt;
            int holder = offset > 0 ? RangeContaining(offset) : -1;
            if (holder >= 0) first = holder;
        }
        int dsack = blocks.Count;
        if (first >= 0) blocks.TryAdd(Block(first));
        for (int k = 0; k < _sackRecentCount && blocks.Count < max; k++)
        {
            int offset = _sackRecent[k] - _rcvNxt;
            int i = offset > 0 ? RangeContaining(offset) : -1;
            if (i >= 0) AddNew(Block(i));
        }
        for (int i = 0; i < _assembler.Count && blocks.Count < max; i++) AddNew(Block(i));
        return blocks;

        void AddNew(SackBlock b)
        {
            for (int j = dsack; j < blocks.Count; j++) if (blocks[j] == b) return;
            blocks.TryAdd(b);
        }

        SackBlock Block(int i)
        {
            var (s, e) = _assembler[i];
            return new SackBlock(_rcvNxt + s, _rcvNxt + e);
        }
    }

    /// <summary>The index of the out-of-order range holding byte <paramref name="offset"/> past RCV.NXT, or -1 (binary search).</summary>
    private int RangeContaining(int offset)
    {
        int lo = 0, hi = _assembler.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var (s, e) = _assembler[mid];
            if (offset < s) hi = mid - 1;
            else if (offset >= e) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    /// <summary>
    /// Out-of-order data arrived at <paramref name="seq"/>: its range becomes the most recent one for SACK (RFC 2018 §4),
    /// ahead of up to three others (an entry of the same range, merged or not, leaves the list).
    /// </summary>
    private void NoteSackArrival(SeqNumber seq)
    {
        int range = RangeContaining(seq - _rcvNxt);
        int n = 0;
        Span<SeqNumber> keep = stackalloc SeqNumber[SackRecentMax];
        keep[n++] = seq;
        for (int k = 0; k < _sackRecentCount && n < SackRecentMax; k++)
        {
            var p = _sackRecent[k];
            int offset = p - _rcvNxt;
            if (offset <= 0) continue;
            int r = RangeContaining(offset);
            if (r < 0 || r == range) continue;
            bool seen = false;
            for (int j = 1; j < n; j++) if (RangeContaining(keep[j] - _rcvNxt) == r) { seen = true; break; }
            if (!seen) keep[n++] = p;
        }
        // The fresh entries (data since the last ACK) lead the old list: those kept stay fresh behind the new one.
        int fresh = 1;
        for (int j = 1; j < n; j++)
        {
            bool wasFresh = false;
            for (int k = 0; k < _sackFresh && k < _sackRecentCount; k++) if (_sackRecent[k] == keep[j]) { wasFresh = true; break; }
            if (wasFresh) fresh++;
        }
        for (int k = 0; k < n; k++) _sackRecent[k] = keep[k];
        _sackRecentCount = n;
        _sackFresh = fresh;
    }

    /// <summary>
    /// A duplicate is about to be reported in a D-SACK block (RFC 2883 §4), which takes the first of the blocks the ACK
    /// carries: an ACK owed for ranges that received data since the last one goes first, so that none is crowded out.
    /// </summary>
    private void FlushSackBeforeDsack(Instant now)
    {
        if (!_sackEnabled || _sackFresh == 0 || (!_ackNow && _delayedAckDeadline == Instant.MaxValue)) return;
        _layer.Stats.SacksFlushedForBlocks++;
        SendAck(now);
    }

    /// <summary>
    /// An out-of-order segment [<paramref name="offset"/>, <paramref name="end"/>) past RCV.NXT is about to be added while
    /// an ACK is owed: when it starts a range apart from those that received data since the last ACK, and those already
    /// fill the SACK blocks one ACK carries, the owed ACK goes now, so that no range is left out of every ACK and the sender
    /// does not retransmit data we hold (RFC 2018 §4: the receiver SHOULD report as many distinct blocks as possible; with
    /// ACKs held (SACK compression) the next ACK could otherwise report only the most recent of them; Linux's
    /// tcp_sack_new_ofo_skb sends a compressed ACK before its SACK table drops a block).
    /// </summary>
    private void FlushSackBeforeNewRange(int offset, int end, Instant now)
    {
        if (!_sackEnabled || (!_ackNow && _delayedAckDeadline == Instant.MaxValue)) return;
        int max = _tsEnabled ? 3 : 4;
        if (_sackFresh < max) return;
        for (int k = 0; k < _sackFresh && k < _sackRecentCount; k++)
        {
            int i = RangeContaining(_sackRecent[k] - _rcvNxt);
            if (i < 0) continue;
            var (s, e) = _assembler[i];
            if (offset <= e && s <= end) return; // extends (or touches) a fresh range: no new block
        }
        _layer.Stats.SacksFlushedForBlocks++;
        SendAck(now);
    }
}
