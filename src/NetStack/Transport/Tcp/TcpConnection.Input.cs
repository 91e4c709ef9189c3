using NetStack.Wire;

namespace NetStack.Transport.Tcp;

public sealed partial class TcpConnection
{
    /// <summary>Active open: choose the ISS and send SYN (RFC 9293 §3.10.1).</summary>
    internal void StartConnect(Instant now)
    {
        _iss = _layer.Secrets.InitialSequence(Local, Remote, now);
        InitSendSpace();
        _tsOffset = _layer.Secrets.TimestampOffset(Local, Remote);
        _ourMss = _layer.PathMss(Remote.Address);
        State = TcpState.SynSent;
        _lastReceived = now;
        _layer.MarkDirty(this);
    }

    /// <summary>Passive open from a SYN that reached a listener (RFC 9293 §3.10.7.2).</summary>
    internal void StartFromSyn(in TcpSegment seg, in TcpRepr repr, SeqNumber iss, Instant now)
    {
        _iss = iss;
        InitSendSpace();
        _tsOffset = _layer.Secrets.TimestampOffset(Local, Remote);
        _ourMss = _layer.PathMss(Remote.Address);
        _irs = seg.SequenceNumber;
        _rcvNxt = _irs + 1;
        _rcvAdvRight = _rcvNxt;
        TakePeerSynOptions(repr, offered: false);
        _sndWnd = seg.Window; // RFC 7323 §2.2: the window in a SYN is never scaled
        _maxSndWnd = _sndWnd;
        _sndWl1 = seg.SequenceNumber;
        _sndWl2 = _iss;
        if (repr.Timestamps is { } ts) SetTsRecent(ts.Value, true, now);
        State = TcpState.SynReceived;
        _lastReceived = now;
        _layer.MarkDirty(this);
    }

    /// <summary>
    /// A connection created from a valid SYN cookie (RFC 4987 §3.6): established at once. When the SYN carried
    /// timestamps, the cookie SYN-ACK kept the window shift and SACK permission in its TSval
    /// (<see cref="TcpSecrets.CookieTimestamp"/>) and the ACK echoes them back; otherwise no optional feature is on.
    /// </summary>
    internal void StartFromCookie(in TcpSegment seg, in TcpRepr repr, ushort mss, Instant now)
    {
        InitFromCookie(seg, repr, mss, now);
        Establish(now);
    }

    /// <summary>
    /// A valid cookie ACK that found the accept queue full (<see cref="TcpLayer"/>'s CookieOverflow): the handshake the
    /// cookie describes is kept in SYN-RECEIVED, its SYN,ACK already sent once, so that the retransmission timer resends it
    /// and the peer's answering ACK completes it once the accept queue has room. The segment's data is not taken (the peer
    /// retransmits it).
    /// </summary>
    internal void StartHalfOpenFromCookie(in TcpSegment seg, in TcpRepr repr, ushort mss, Instant now)
    {
        InitFromCookie(seg, repr, mss, now);
        _sndUna = _iss;
        _sndNxt = _iss + 1;
        State = TcpState.SynReceived;
        _peerAckedOverflow = true;
        _rtxDeadline = now + Rto;
    }

    private void InitFromCookie(in TcpSegment seg, in TcpRepr repr, ushort mss, Instant now)
    {
        _iss = seg.AckNumber - 1;
        InitSendSpace();
        _sndUna = _iss + 1;
        _sndNxt = _iss + 1;
        _tsOffset = _layer.Secrets.TimestampOffset(Local, Remote);
        _ourMss = _layer.PathMss(Remote.Address);
        _irs = seg.SequenceNumber - 1;
        _rcvNxt = seg.SequenceNumber;
        _peerMss = mss;
        if (_settings.Timestamps && repr.Timestamps is { } ts)
        {
            var (shift, sack) = TcpSecrets.CookieOptions(ts.Echo);
            _peerOfferedTs = _tsEnabled = true;
            SetTsRecent(ts.Value, true, now);
            _peerOfferedWs = shift.HasValue;
            _wsEnabled = _settings.WindowScaling && shift.HasValue;
            _sndShift = _wsEnabled ? shift!.Value : (byte)0;
            _rcvShift = _wsEnabled ? OurWindowShift() : (byte)0;
            _peerOfferedSack = sack;
            _sackEnabled = _settings.Sack && sack;
        }
        ComputeMss();
        // The SYN-ACK offered min(buffer, 65535) bytes, unscaled (RFC 7323 §2.2); the right edge starts there.
        _rcvAdvRight = _rcvNxt + CookieWindow(_settings);
        // This ACK is not a SYN: its window is scaled (RFC 7323 §2.2).
        _sndWnd = seg.Window << _sndShift;
        _maxSndWnd = _sndWnd;
        _sndWl1 = seg.SequenceNumber;
        _sndWl2 = seg.AckNumber;
        _lastReceived = now;
    }

    /// <summary>The window a SYN-ACK advertises: the receive buffer, at most 65,535 (never scaled in a SYN, RFC 7323 §2.2).</summary>
    internal static ushort CookieWindow(TcpSettings settings) => (ushort)Math.Min(settings.ReceiveBufferSize, 65535);

    private void InitSendSpace()
    {
        _sndUna = _iss;
        _sndNxt = _iss;
        _sndBufSeq = _iss + 1;
        _nagleEnd = _iss;
        _recover = _iss;
        _sent.Clear();
    }

    private void TakePeerSynOptions(in TcpRepr repr, bool offered)
    {
        // RFC 9293 §3.7.1: without an MSS option assume 536 (IPv4) or 1220 (IPv6, RFC 8200 §5).
        _peerMss = repr.Mss ?? (Remote.Address.IsV4 ? 536 : 1220);
        _peerOfferedWs = repr.WindowScale.HasValue;
        _peerOfferedSack = repr.SackPermitted;
        _peerOfferedTs = repr.Timestamps.HasValue;
        // On an active open the peer's option only counts if we offered it; on a passive open we answer what it offered.
        _wsEnabled = _settings.WindowScaling && _peerOfferedWs;
        _sackEnabled = _settings.Sack && _peerOfferedSack;
        _tsEnabled = _settings.Timestamps && _peerOfferedTs;
        _ = offered;
        if (_wsEnabled)
        {
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            _sndShift = (byte)Math.Min((int)repr.WindowScale!.Value, 14);
            _rcvShift = OurWindowShift();
        }
        else { _sndShift = 0; _rcvShift = 0; }
        ComputeMss();
    }

    private byte OurWindowShift() => WindowShiftFor(Math.Max(_recvBuffer.Capacity, ReceiveBufferMax));

    /// <summary>
    /// The window shift a connection with <paramref name="settings"/> offers: for the largest buffer it may reach, auto-tuned
    /// (RFC 7323 §2.2: the shift is fixed in the SYN, so it is chosen for the maximum, as Linux chooses it from tcp_rmem[2]).
    /// </summary>
    internal static byte ReceiveWindowShift(TcpSettings settings) =>
        WindowShiftFor(Math.Max(settings.ReceiveBufferSize, settings.ReceiveBufferMax));

    /// <summary>RFC 7323 §2.2: the smallest shift that lets a 16-bit window cover <paramref name="receiveBuffer"/> (at most 14).</summary>
    internal static byte WindowShiftFor(int receiveBuffer)
    {
        byte s = 0;
        while (s < 14 && (receiveBuffer >> s) > 65535) s++;
        return s;
    }

    private void ComputeMss()
    {
        // RFC 9293 §3.7.1 / RFC 6691: segment payload = min(peer MSS, our path MSS) minus fixed options.
        int mss = Math.Min(_peerMss, (int)_ourMss);
        if (_tsEnabled) mss -= 12;
        _mss = Math.Max(mss, 64);
        _cc.Initialize(_mss);
    }

    private void Establish(Instant now)
    {
        State = TcpState.Established;
        WasConnected = true;
        _retries = 0;
        _rtt.FallBackAfterSynTimeout();
        _rtt.ResetBackoff();
        _rtxDeadline = _sndUna == _sndNxt ? Instant.MaxValue : _rtxDeadline;
        InitReceiveSpace(now);
        ArmKeepalive(now);
        _layer.NoteHandshakeCompleted(Remote.Address, now);
        if (Listener is { } l) l.OnEstablished(this);
    }

    /// <summary>
    /// The ACK completing our handshake found the listener's accept queue full. As Linux with tcp_abort_on_overflow = 0:
    /// drop it and stay in SYN-RECEIVED, so the SYN,ACK retransmission asks the peer for another ACK, which completes the
    /// handshake once the application has made room (data the peer sends meanwhile is dropped and retransmitted). The
    /// peer now believes it is connected, so running out of retransmissions resets it (<see cref="OnRetransmitTimeout"/>).
    /// With <see cref="TcpSettings.AbortOnOverflow"/>: RST at once.
    /// </summary>
    private void AcceptQueueOverflow(SeqNumber ack, Instant now)
    {
        _layer.Stats.AcceptQueueOverflows++;
        if (_settings.AbortOnOverflow)
        {
            ResetOverflowedPeer(ack, now);
            return;
        }
        _peerAckedOverflow = true;
    }

    /// <summary>Resets a peer that completed its handshake we could not queue: RST at its RCV.NXT (our ISS + 1).</summary>
    private void ResetOverflowedPeer(SeqNumber seq, Instant now)
    {
        _layer.Stats.AcceptQueueOverflowResets++;
        SendRst(seq, now, withAck: false);
        Terminate(TcpError.None);
    }

    /// <summary>Processes one arriving segment (RFC 9293 §3.10.7), already checksummed and demultiplexed.</summary>
    internal void Process(in TcpSegment seg, Instant now)
    {
        var repr = seg.ToRepr();
        _lastReceived = now;
        _keepaliveProbes = 0;
        if (State == TcpState.SynSent) { ProcessSynSent(seg, repr, now); return; }
        if (State is TcpState.Closed or TcpState.Listen) return;

        int payloadLength = seg.Payload.Length;
        SeqNumber seq = seg.SequenceNumber;
        int segLen = seg.SegmentLength;

        // RFC 7323 §3.2: once timestamps are negotiated, "If a non-<RST> segment is received without a TSopt, a TCP SHOULD
        // silently drop the segment" (and MUST NOT abort the connection for it). A SYN goes on to its challenge ACK.
        if (_tsEnabled && repr.Timestamps is null && !seg.Rst && !seg.Syn)
        {
            _layer.Stats.MissingTimestampDropped++;
            return;
        }

        // RFC 7323 §5.3 PAWS: a non-RST segment whose TSval is older than TS.Recent is a duplicate: ACK and drop.
        // RFC 7323 §5.5: a TS.Recent older than 24 days is outdated (the peer's clock may have wrapped): no PAWS test then.
        if (_tsEnabled && _tsRecentValid && repr.Timestamps is { } pts && !seg.Rst
            && now - _tsRecentAt < PawsIdleLimit
            && unchecked((int)(pts.Value - _tsRecent)) < 0)
        {
            _layer.Stats.PawsDropped++;
            SendAck(now);
            return;
        }

        // RFC 9293 §3.10.7.4 first: sequence number acceptability.
        int rcvWnd = Math.Max(0, _rcvAdvRight - _rcvNxt);
        if (!IsAcceptable(seq, segLen, rcvWnd))
        {
            // RFC 9293: an unacceptable segment is answered with an ACK unless it carries RST (RFC 5961 §3.2: then dropped).
            if (!seg.Rst)
            {
                // RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is acknowledged and restarts the 2 MSL timer.
                if (State == TcpState.TimeWait && seg.Fin && seq + segLen == _rcvNxt) EnterTimeWait(now);
                // RFC 2883 §4 (D-SACK): old data received again is reported in the first SACK block of this ACK, so that the
                // sender learns its retransmission was spurious (RACK widens its reordering window on it, RFC 8985 §6.2).
                if (payloadLength > 0 && seq + payloadLength <= _rcvNxt)
                {
                    FlushSackBeforeDsack(now);
                    NoteDuplicate(seq, seq + payloadLength);
                }
                if (seg.Syn && State != TcpState.SynReceived) SendChallengeAck(now); // RFC 5961 §4.2
                else SendAck(now);
            }
            _layer.Stats.OutOfWindow++;
            return;
        }

        // RFC 7323 §4.3: update TS.Recent when the segment covers Last.ACK.sent.
        if (_tsEnabled && repr.Timestamps is { } ts && seq <= _lastAckSent)
        {
            SetTsRecent(ts.Value, true, now);
        }

        // Second: RST (RFC 5961 §3.2).
        if (seg.Rst)
        {
            if (seq == _rcvNxt)
            {
                if (State == TcpState.SynReceived && Listener is not null) { Terminate(TcpError.None); return; } // back to LISTEN
                Terminate(State is TcpState.Closing or TcpState.LastAck or TcpState.TimeWait ? TcpError.None : (WasConnected ? TcpError.Reset : TcpError.Refused));
                return;
            }
            SendChallengeAck(now); // in window but not exact: challenge ACK
            return;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
        if (seg.Syn)
        {
            if (State == TcpState.SynReceived && seq == _irs)
            {
                _sndNxt = _iss; // our SYN-ACK was lost: resend it
                return;
            }
            SendChallengeAck(now);
            return;
        }

        // Fifth: ACK.
        if (!seg.Ack) return;
        if (State == TcpState.SynReceived)
        {
            var ack = seg.AckNumber;
            if (!(ack > _sndUna && ack <= _sndNxt))
            {
                SendRst(ack, now, withAck: false); // RFC 9293 §3.10.7.4: <SEQ=SEG.ACK><CTL=RST>
                return;
            }
            if (Listener is { } pending && pending.AcceptQueueFull)
            {
                AcceptQueueOverflow(ack, now);
                return;
            }
            _sndUna = ack;
            _sndWnd = seg.Window << _sndShift;
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = seq;
            _sndWl2 = ack;
            // RFC 7323 §4.1: an ACK echoing a timestamp times the SYN,ACK; in µs from its send time when it was sent once
            // (Karn, RFC 6298 §3), else from TSecr. Without timestamps the handshake gives no sample here (as before: the
            // first data ACK is the first).
            if (repr.Timestamps is { } t2 && t2.Echo != 0)
                SampleRtt(_timing ? (now - _timedAt).Ticks / 10 : TsRtt(now, t2.Echo), now);
            _timing = false;
            _rtxDeadline = Instant.MaxValue;
            var finQueued = _finQueued;
            Establish(now);
            if (finQueued) State = TcpState.FinWait1;
        }
        else if (!ProcessAck(seg, repr, now)) return;

        if (State == TcpState.Closed) return;

        // Our FIN acknowledged?
        bool finAcked = _finSent && _sndUna == _finSeq + 1;
        switch (State)
        {
            case TcpState.FinWait1 when finAcked: State = TcpState.FinWait2; break;
            case TcpState.Closing when finAcked: EnterTimeWait(now); break;
            case TcpState.LastAck when finAcked: Terminate(TcpError.None); return;
            case TcpState.TimeWait:
                // RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is acknowledged and the 2 MSL timer restarted.
                if (seg.Fin) { SendAck(now); EnterTimeWait(now); }
                return;
        }

        // Sixth: URG (RFC 9293 §3.10.7.4), only while the receive side is open (after our FIN-less states' peer FIN it
        // "should not occur" and is ignored).
        if (seg.Urg && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2) NoteUrgentPointer(seq + seg.UrgentPointer);

        // Seventh: segment text (RFC 9293 §3.10.7.4), only while the receive side is open.
        if (payloadLength > 0 && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            // RFC 1122 §4.2.2.13: new data after the user's CLOSE cannot be delivered: reset to show it was lost.
            if (_userClosed && seq + payloadLength > _rcvNxt)
            {
                SendRst(_sndNxt, now, withAck: false);
                Terminate(TcpError.Aborted);
                return;
            }
            if (_tsEnabled && repr.Timestamps is { } rts) MeasureReceiveRttTs(payloadLength, rts.Echo, now);
            ReceiveData(seq, seg.Payload, now);
        }

        // Eighth: FIN (RFC 9293 §3.10.7.4). It takes effect once all data before it has arrived: a FIN that arrives
        // out of order (its data was queued by the assembler) is remembered and acted on when the hole fills, as the
        // Linux out-of-order queue does, instead of waiting for the peer to retransmit it.
        if (!_finReceived && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            if (seg.Fin)
            {
                var finSeq = seq + payloadLength;
                if (finSeq > _rcvNxt && finSeq <= _rcvAdvRight) { _finPending = true; _finPendingSeq = finSeq; _ackNow = true; } // out of order: duplicate ACK (RFC 5681 §4.2)
                else if (finSeq == _rcvNxt) { _finPending = true; _finPendingSeq = finSeq; }
            }
            if (_finPending && _rcvNxt == _finPendingSeq) AcceptFin(now);
            else if (_finPending && _rcvNxt > _finPendingSeq) _finPending = false; // data beyond the FIN: it was not the end
        }
        if (_ackNow || _delayedAckDeadline != Instant.MaxValue) _layer.MarkDirty(this);
    }

    /// <summary>
    /// RFC 9293 §3.10.7.4 sixth step: RCV.UP = max(RCV.UP, SEG.UP); the user is signalled when the pointer is ahead of the
    /// data consumed and either no urgent data was pending or the pointer advanced (MUST-32), not again for the same point
    /// (the segments of one urgent sequence repeat it). A pointer at or behind what was read is old news.
    /// </summary>
    private void NoteUrgentPointer(SeqNumber up)
    {
        if (up <= ReadSequence) return;
        if (_rcvUrgent && up <= _rcvUp) return;
        _rcvUp = up;
        _rcvUrgent = true;
        UrgentSignals++;
        _layer.Stats.UrgentReceived++;
    }

    /// <summary>RFC 7323 §5.5: 24 days, the shortest time in which a 1 ms timestamp clock can wrap its sign bit.</summary>
    private static readonly TimeSpan PawsIdleLimit = TimeSpan.FromDays(24);

    private void SetTsRecent(uint value, bool valid, Instant now)
    {
        _tsRecent = value;
        _tsRecentValid = valid;
        _tsRecentAt = now;
    }

    /// <summary>RFC 9293 §3.10.7.4 table: the four cases of segment length and window.</summary>
    private bool IsAcceptable(SeqNumber seq, int segLen, int rcvWnd)
    {
        if (segLen == 0)
            return rcvWnd == 0 ? seq == _rcvNxt : seq.InWindow(_rcvNxt, _rcvNxt + rcvWnd);
        if (rcvWnd == 0) return false;
        return seq.InWindow(_rcvNxt, _rcvNxt + rcvWnd) || (seq + (segLen - 1)).InWindow(_rcvNxt, _rcvNxt + rcvWnd);
    }

    private void ProcessSynSent(in TcpSegment seg, in TcpRepr repr, Instant now)
    {
        // RFC 9293 §3.10.7.3.
        bool ackAcceptable = false;
        if (seg.Ack)
        {
            var ack = seg.AckNumber;
            if (ack <= _iss || ack > _sndNxt)
            {
                if (!seg.Rst) SendRst(ack, now, withAck: false);
                return;
            }
            ackAcceptable = true;
        }
        if (seg.Rst)
        {
            // RFC 5961 §3.2 / RFC 9293: a RST is acceptable in SYN-SENT only with an acceptable ACK.
            if (ackAcceptable) Terminate(TcpError.Refused);
            return;
        }
        if (!seg.Syn) return;
        _irs = seg.SequenceNumber;
        _rcvNxt = _irs + 1;
        _rcvAdvRight = _rcvNxt;
        TakePeerSynOptions(repr, offered: true);
        if (repr.Timestamps is { } ts) SetTsRecent(ts.Value, _tsEnabled, now);
        if (ackAcceptable)
        {
            _sndUna = seg.AckNumber;
            _sndWnd = seg.Window; // never scaled in a SYN
            _maxSndWnd = _sndWnd;
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = seg.AckNumber;
            if (_timing) { SampleRtt((now - _timedAt).Ticks / 10, now); _timing = false; }
            _rtxDeadline = Instant.MaxValue;
            var finQueued = _finQueued;
            Establish(now);
            if (finQueued) State = TcpState.FinWait1;
            _ackNow = true;
        }
        else
        {
            // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, send SYN,ACK.
            State = TcpState.SynReceived;
            _sndWnd = seg.Window;
            _sndWl1 = seg.SequenceNumber;
            _sndNxt = _iss;
        }
        _layer.MarkDirty(this);
    }

    /// <summary>The ACK processing of an established connection. False when the segment must be dropped.</summary>
    private bool ProcessAck(in TcpSegment seg, in TcpRepr repr, Instant now)
    {
        var ack = seg.AckNumber;
        // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]; others get a (challenge) ACK.
        if (ack > _sndNxt || ack < _sndUna - Math.Max(_maxSndWnd, 1))
        {
            SendChallengeAck(now);
            return false;
        }

        bool newSack = false, dsack = false;
        SeqNumber dsackStart = default, dsackEnd = default;
        int sackedBefore = _sack.SackedBytes; // RFC 9937 DeliveredData: change in SACKed bytes
        if (_sackEnabled)
        {
            var blocks = repr.SackBlocks;
            for (int i = 0; i < blocks.Count; i++)
            {
                var b = blocks[i];
                // RFC 2883 §4: a first block below the cumulative ACK, or inside the second block, reports a duplicate (D-SACK).
                if (i == 0 && (b.Right <= ack || (blocks.Count > 1 && b.Left >= blocks[1].Left && b.Right <= blocks[1].Right)))
                {
                    dsack = true;
                    dsackStart = b.Left;
                    dsackEnd = b.Right;
                    _layer.Stats.DsacksReceived++;
                    continue;
                }
                newSack |= _sack.Add(b.Left, b.Right, SeqNumber.Max(_sndUna, ack), _sndNxt);
            }
        }
        uint? tsEcr = _tsEnabled && repr.Timestamps is { } tse && tse.Echo != 0 ? tse.Echo : null;
        bool rack = UseRack;
        bool exitedRecovery = false, advanced = false, dupAck = false, partialAckLoss = false;
        int flightBefore = BytesInFlight, acked = 0;

        int scaledWindow = seg.Window << _sndShift;
        bool rates = _cc.UsesRateSamples;
        _ackRttSample = -1;
        var rtt = new AckRttSample();
        if (ack > _sndUna)
        {
            advanced = true;
            acked = ack - _sndUna;
            // RFC 8985 §6.2 step 2: every segment this ACK covers cumulatively (and not SACKed before) is delivered;
            // each is a candidate for the delivery rate sample too (draft-cheng-iccrg-delivery-rate-estimation §3.1.2).
            // The RTT is measured from the send times of the newly acknowledged segments never retransmitted (RFC 6298
            // §3, Karn), in µs as Linux's tcp_clean_rtx_queue does from tcp_mstamp (a partly acknowledged one counts).
            for (int i = 0; i < _sent.Count && _sent[i].Start < ack; i++)
            {
                ref var r = ref _sent[i];
                if (r.Sacked) continue;
                if (!r.Retransmitted) rtt.Add(r.XmitTs);
                if (r.End > ack) break;
                if (rack) _rack.OnDelivered(r, now, tsEcr);
                if (rates) _sent.Rate.OnDelivered(r);
            }

            var dataAckedTo = SeqNumber.Min(ack, DataEnd);
            if (dataAckedTo > _sndBufSeq)
            {
                int n = dataAckedTo - _sndBufSeq;
                _sendBuffer.Discard(n);
                _sndBufSeq += n;
                if (_sendBuffer.IsEmpty) _sendBuffer.Release(); // all acknowledged: the memory goes back to the pool
            }
            _sndUna = ack;
            _sack.Advance(ack);
            _sent.AckTo(ack);
            if (_sendBufferLimited) ExpandSendBuffer(scaledWindow);
            _dupAcks = 0;
            _retries = 0;
            // RFC 4861 §7.3.1 / RFC 1122 §3.3.1.4: new data acknowledged is forward progress, the first hop is reachable
            // (told at most once a second: the neighbour entry stays reachable for tens of seconds).
            if (now - _lastProgressAdvice >= TimeSpan.FromSeconds(1))
            {
                _lastProgressAdvice = now;
                _layer.ReachabilityAdvice(Remote.Address, forwardProgress: true, now);
            }

            if (_fastRecovery || _rtoRecovery)
            {
                if (ack >= _recover)
                {
                    // RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery; cwnd = ssthresh (also the
                    // RFC 9937 rule on leaving PRR: this ACK is not one of PRR's, so it cannot release a burst above it).
                    if (_fastRecovery) _cc.OnRecoveryEnd(_mss, now);
                    else _cc.OnAck(acked, _mss, flightBefore, _rtt.SmoothedMicros, now);
                    _fastRecovery = _rtoRecovery = false;
                    exitedRecovery = true;
                }
                else
                {
                    // RFC 6582 §3.2 step 4 (no SACK): a partial ACK means the next segment is lost too.
                    if (!_sackEnabled && _sent.Count > 0) partialAckLoss = _sent.MarkLost(0);
                    if (_rtoRecovery) _cc.OnAck(acked, _mss, flightBefore, _rtt.SmoothedMicros, now);
                }
            }
            else
            {
                _cc.OnAck(acked, _mss, flightBefore, _rtt.SmoothedMicros, now);
            }
            // RFC 6298 §5.2 / §5.3.
            _rtxDeadline = _sndUna == _sndNxt ? Instant.MaxValue : now + Rto;
            _layer.MarkDirty(this);
        }
        else if (ack == _sndUna && _sndNxt != _sndUna && seg.Payload.Length == 0 && !seg.Fin
                 && (scaledWindow == _sndWnd || newSack))
        {
            // RFC 5681 §2 duplicate ACK (or RFC 6675 new SACK information).
            _dupAcks++;
            dupAck = true;
            _layer.MarkDirty(this);
        }

        var sackRtt = new AckRttSample();
        if (newSack) MarkNewlySacked(now, tsEcr, rack, rates, ref sackRtt);
        TakeAckRtt(rtt, sackRtt, advanced, tsEcr, now);
        // Draft-cheng-iccrg-delivery-rate-estimation §3.1.3: one rate sample per ACK that delivered data (cumulatively
        // or by SACK; without SACK, only the cumulative advance is known to be delivered).
        int lostBefore = _sent.LostBytes;
        var rateSample = rates && (advanced || newSack)
            ? _sent.Rate.GenerateSample(_sackEnabled ? acked + _sack.SackedBytes - sackedBefore : acked, now, _rack.MinRtt)
            : default;
        // RFC 9937 §6.1: RecoverFS = SND.NXT - SND.UNA before this ACK, less the bytes SACKed before it.
        int marked = DetectLosses(now, tsEcr, dsack, exitedRecovery, flightBefore - sackedBefore, out bool entered);
        if (rateSample.AckedSacked > 0)
        {
            // The rate-based controller's per-ACK update (BBR), after loss detection so that it sees this ACK's losses.
            _cc.OnRateSample(rateSample, new CongestionAckInfo(now, _mss, Pipe, Math.Max(0, _sent.LostBytes - lostBefore),
                _sent.Rate.Delivered, _ackRttSample, _fastRecovery || _rtoRecovery));
            // Tcp_bbr.c: ProbeRTT's deliberately low rate must not be taken for the path's (draft-cheng §3.2 app-limited).
            if (_cc.HoldsRateBelowPath) _sent.Rate.MarkAppLimited(BytesInFlight);
        }
        if (PrrActive)
        {
            // RFC 9937 §6.2: DeliveredData = change in SND.UNA + change in SACKed bytes (estimated without SACK);
            // the ACK is safe when SND.UNA advanced and it indicated no further loss.
            int delivered = _sackEnabled ? acked + _sack.SackedBytes - sackedBefore : _prr.EstimateDeliveredWithoutSack(dupAck, acked, _mss);
            _prr.OnAck(delivered, Pipe, advanced && marked == 0 && !partialAckLoss, _mss, entered);
        }
        ProcessTlpAck(ack, advanced, newSack, dsack, dsackStart, dsackEnd, flightBefore, seg, scaledWindow, now);
        if (advanced || _fastRecovery) ArmTailLossProbe(now); // in recovery: see RecoveryTailStalled
        if ((_fastRecovery || _rtoRecovery) && newSack) _layer.MarkDirty(this);

        // RFC 9293 §3.10.7.4: window update from the newest segment (SND.WL1/SND.WL2 rule).
        if (_sndWl1 < seg.SequenceNumber || (_sndWl1 == seg.SequenceNumber && _sndWl2 <= ack))
        {
            bool opened = scaledWindow > _sndWnd;
            _sndWnd = scaledWindow;
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = seg.SequenceNumber;
            _sndWl2 = ack;
            if (_sndWnd > 0) { _persistDeadline = Instant.MaxValue; _persistBackoff = 0; }
            if (opened) _layer.MarkDirty(this);
        }
        return true;
    }

    private void ReceiveData(SeqNumber seq, ReadOnlySpan<byte> payload, Instant now)
    {
        // Trim what was already received (left) and what lies beyond the window (right).
        int offset = seq - _rcvNxt;
        if (offset < 0)
        {
            FlushSackBeforeDsack(now);
            NoteDuplicate(seq, seq + Math.Min(-offset, payload.Length)); // RFC 2883 §4: the part we already had
            if (-offset >= payload.Length) { _ackNow = true; return; }
            payload = payload[(-offset)..];
            offset = 0;
        }
        int written = _recvBuffer.WriteUnallocated(offset, payload);
        if (written <= 0) { _ackNow = true; return; }
        if (offset == 0)
        {
            bool hadHoles = !_assembler.IsEmpty;
            _assembler.Add(0, written);
            int n = _assembler.RemoveFront();
            _recvBuffer.CommitUnallocated(n);
            _rcvNxt += n;
            _unackedBytes += n;
            if (!_tsEnabled) MeasureReceiveRttWindow(now);
            AdjustReceiveSpace(now);
            // RFC 5681 §4.2: ACK at once when filling a hole; otherwise at least every second full segment (RFC 9293 §3.8.6.3).
            if (hadHoles || _unackedBytes >= 2 * Math.Max(_ourMss - (_tsEnabled ? 12 : 0), 1)) _ackNow = true;
            else if (_delayedAckDeadline == Instant.MaxValue) _delayedAckDeadline = now + _settings.DelayedAck;
        }
        else
        {
            // Out of order: remember it (bounded) and send an immediate duplicate ACK with SACK (RFC 5681 §4.2, RFC 2018 §4),
            // or, past the first three for this RCV.NXT, one compressed SACK shortly after (Linux's tcp_comp_sack).
            int held = _sackEnabled ? RangeContaining(offset) : -1;
            if (held >= 0 && _assembler[held].End >= offset + written)
            {
                // All of it is already held out of order: a duplicate, reported at once with a D-SACK block followed by the
                // block that holds it (RFC 2883 §4), so that the sender learns its retransmission was spurious.
                FlushSackBeforeDsack(now);
                NoteDuplicate(seq, seq + written);
                _ackNow = true;
            }
            else
            {
                if (_sackEnabled) FlushSackBeforeNewRange(offset, offset + written, now);
                if (!_assembler.Add(offset, written)) _layer.Stats.ReassemblyDropped++;
                else if (_sackEnabled) NoteSackArrival(seq);
                if (!CompressSack(now)) _ackNow = true;
            }
        }
        _layer.Stats.BytesReceived += written;
    }

    /// <summary>
    /// SACK compression for an out-of-order segment, as Linux's <c>__tcp_ack_snd_check</c>: the first three duplicate ACKs
    /// for one RCV.NXT go at once (RFC 5681 §4.2 "SHOULD send an immediate duplicate ACK": the sender's fast retransmit
    /// counts three, RFC 5681 §3.2); later ones, while RCV.NXT stands, are held until min(<see cref="TcpSettings.SackCompressionDelay"/>,
    /// RTT/20) has passed or <see cref="TcpSettings.SackCompressionSegments"/> are waiting, then one ACK carries the SACK
    /// blocks of all (RFC 2018 §4: the first block covers the most recent segment). A pending D-SACK is never held. True when
    /// the ACK is deferred.
    /// </summary>
    private bool CompressSack(Instant now)
    {
        var max = _settings.SackCompressionDelay;
        if (!_sackEnabled || max <= TimeSpan.Zero || _dsackPending) return false;
        if (_compressedAckRcvNxt != _rcvNxt)
        {
            _compressedAckRcvNxt = _rcvNxt;
            _dupAcksSent = 0;
        }
        if (_dupAcksSent < 3) { _dupAcksSent++; return false; }
        if (_compressedAcks >= _settings.SackCompressionSegments) return false;
        _compressedAcks++;
        // Linux: rcv_rtt_est, or SRTT when smaller; 5 % of it, at most the delay.
        long rtt = _rcvRttMicros;
        if (_rtt.HasSample && _rtt.SmoothedMicros > 0 && (rtt == 0 || _rtt.SmoothedMicros < rtt)) rtt = _rtt.SmoothedMicros;
        long delay = Math.Min(max.Ticks / 10, rtt / 20);
        var deadline = now + TimeSpan.FromTicks(Math.Max(delay, 1) * 10);
        if (deadline < _delayedAckDeadline) _delayedAckDeadline = deadline;
        _layer.Stats.SacksCompressed++;
        return true;
    }

    /// <summary>Remembers a duplicate range for the next ACK's D-SACK block (RFC 2883 §4: only the most recent one).</summary>
    private void NoteDuplicate(SeqNumber start, SeqNumber end)
    {
        if (!_sackEnabled || end <= start) return;
        _dsackPending = true;
        _dsackStart = start;
        _dsackEnd = end;
        _layer.Stats.DsacksSent++;
    }

    /// <summary>The peer's FIN, all data before it received: RCV.NXT passes it and the state moves on (RFC 9293 §3.10.7.4).</summary>
    private void AcceptFin(Instant now)
    {
        _finPending = false;
        _rcvNxt += 1;
        _finReceived = true;
        _ackNow = true;
        switch (State)
        {
            case TcpState.Established: State = TcpState.CloseWait; break;
            case TcpState.FinWait1:
                if (_finSent && _sndUna == _finSeq + 1) EnterTimeWait(now);
                else State = TcpState.Closing; // simultaneous close
                break;
            case TcpState.FinWait2: EnterTimeWait(now); break;
        }
    }

    private void EnterTimeWait(Instant now)
    {
        State = TcpState.TimeWait;
        _rtxDeadline = _persistDeadline = _keepaliveDeadline = Instant.MaxValue;
        _timeWaitDeadline = now + _settings.TimeWait;
        _ackNow = true;
    }

    private long TsRtt(Instant now, uint echo) => Math.Max(0, (long)unchecked((int)(TsNow(now) - echo))) * 1000;

    private uint TsNow(Instant now) => unchecked((uint)now.Milliseconds + _tsOffset);

    private TimeSpan Rto => TimeSpan.FromTicks(_rtt.RtoMicros * 10);

    /// <summary>An ICMP "packet too big" / "fragmentation needed" lowered the path MTU (RFC 1191, RFC 8201).</summary>
    internal void OnPathMtu(int transportPayload)
    {
        int mss = transportPayload - TcpSegment.HeaderLength;
        if (mss < 64 || mss >= _ourMss) return;
        _ourMss = (ushort)mss;
        int seg = Math.Min(_peerMss, mss) - (_tsEnabled ? 12 : 0);
        if (seg < _mss) _mss = Math.Max(seg, 64);
        // Retransmit what was sent with the old size (RFC 1191 §6.5).
        if (BytesInFlight > 0 && !_fastRecovery)
        {
            _rtoRecovery = true;
            _recover = _sndNxt;
            for (int i = 0; i < _sent.Count; i++) _sent.MarkLost(i);
            _layer.MarkDirty(this);
        }
    }

    /// <summary>
    /// Send-buffer auto-tuning (<see cref="TcpSettings.SendBufferMax"/>; Linux's <c>tcp_should_expand_sndbuf</c> and
    /// <c>tcp_sndbuf_expand</c>): the application found the buffer full, and this acknowledgment shows that the flight was
    /// bounded by the buffer rather than by the congestion window or the peer's window (<paramref name="peerWindow"/>,
    /// bytes): the buffer grows to the smaller of twice the congestion window and the peer's window. A peer that stops
    /// reading closes its window, and a congested path keeps the congestion window small: neither grows the buffer.
    /// </summary>
    private void ExpandSendBuffer(int peerWindow)
    {
        _sendBufferLimited = false;
        int max = _settings.SendBufferMax;
        int capacity = _sendBuffer.Capacity;
        if (max <= capacity || _fastRecovery || _rtoRecovery) return;
        long target = Math.Min(Math.Min(2L * SendWindow, peerWindow), max);
        if (target <= capacity) return;
        _sendBuffer.Grow((int)target);
        _sent.RaiseLimit((int)target / 64 + 16); // as the constructor sizes it for the buffer
        _layer.Stats.SendBufferGrowths++;
    }
}
