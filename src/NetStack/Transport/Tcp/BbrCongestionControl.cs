namespace NetStack.Transport.Tcp;

/// <summary>
/// BBR version 1 (draft-cardwell-iccrg-bbr-congestion-control-00, as Linux's net/ipv4/tcp_bbr.c): a model-based
/// controller that paces at its estimate of the bottleneck bandwidth (BtlBw, the windowed maximum of the delivery rate
/// samples over 10 round trips, §4.1.1) and bounds inflight by a multiple of the bandwidth-delay product with the
/// round-trip propagation time (RTprop, the minimum RTT over 10 s, §4.1.2). States Startup, Drain, ProbeBW and ProbeRTT
/// (§4.3). Random loss does not reduce its rate: BBRv1 has no loss response beyond packet conservation during the
/// first round of fast recovery (§4.2.3.4); it owns the recovery window (the connection does not run PRR for it, as
/// Linux skips tcp_cwnd_reduction for a controller with cong_control). Not done: BBRv2/v3's inflight_hi/lo bounds,
/// ECN, the idle-restart rule (§4.3.4.4 "restart from idle"), the long-term (policer) bandwidth sampling of tcp_bbr.c.
/// Beyond the draft, as tcp_bbr.c since Linux 4.20: the ACK-aggregation allowance (<see cref="UpdateAckAggregation"/>).
/// Units: bytes, µs, bytes per second.
/// </summary>
internal sealed class BbrCongestionControl : ICongestionControl
{
    // §4.3.2: 2/ln(2), the smallest gain that doubles the sending rate each round in Startup.
    private const double HighGain = 2.885;
    private const double DrainGain = 1 / HighGain;      // §4.3.3
    private const double CwndGain = 2.0;                 // §4.3.4 ProbeBW cwnd_gain
    private const int BtlBwFilterRounds = 10;            // §4.1.1 BtlBwFilterLen
    private static readonly long RtPropFilterMicros = 10_000_000; // §4.1.2 RTpropFilterLen: 10 s
    private const long ProbeRttDurationMicros = 200_000; // §4.3.5 ProbeRTTDuration: 200 ms
    private const int MinPipeCwndSegments = 4;           // §4.2.3.3 BBRMinPipeCwnd
    private const double PacingMarginFactor = 0.99;      // tcp_bbr.c bbr_pacing_margin_percent: 1 %
    private static readonly double[] PacingGainCycle = [1.25, 0.75, 1, 1, 1, 1, 1, 1]; // §4.3.4.3
    private const int ExtraAckedWindowRounds = 5;        // tcp_bbr.c bbr_extra_acked_win_rtts
    private const long ExtraAckedMaxMicros = 100_000;    // tcp_bbr.c bbr_extra_acked_max_us: 100 ms at BtlBw at most
    private const long AckEpochResetSegments = 1 << 20;  // tcp_bbr.c bbr_ack_epoch_acked_reset_thresh (packets)

    internal enum Mode : byte { Startup, Drain, ProbeBw, ProbeRtt }

    private WindowedMinFilter _btlBw = WindowedMinFilter.OverUnits(BtlBwFilterRounds); // max filter: negated samples
    private int _mss = 1460;
    private long _cwnd;
    private long _priorCwnd;
    private long _pacingRate;
    private double _pacingGain = HighGain, _cwndGain = HighGain;
    private long _rtProp = -1;              // µs, -1: unknown
    private Instant _rtPropStamp;
    private long _roundCount;
    private long _nextRoundDelivered;
    private bool _roundStart;
    private bool _filledPipe;
    private long _fullBw;
    private int _fullBwCount;
    private int _cycleIndex;
    private Instant _cycleStamp;
    private Instant _probeRttDoneStamp;
    private bool _probeRttDoneArmed, _probeRttRoundDone;
    private bool _packetConservation, _prevInRecovery, _rtoPending, _hasSeenRtt;
    private long _extraAcked0, _extraAcked1, _ackEpochAcked;
    private int _extraAckedRounds, _extraAckedIndex;
    private Instant _ackEpochStart;

    public Mode State { get; private set; }
    /// <summary>How many times ProbeRTT was entered (tests, statistics).</summary>
    public int ProbeRttVisits { get; private set; }
    /// <summary>BtlBw in bytes per second (0 before the first sample).</summary>
    public long BottleneckBandwidth => -_btlBw.Get(0);
    /// <summary>RTprop in µs (-1 before the first RTT sample).</summary>
    public long RoundTripPropagation => _rtProp;
    /// <summary>The ACK-aggregation allowance added to the cwnd target now, in bytes (0 before the pipe is full).</summary>
    public long AckAggregationAllowance => AckAggregationCwnd;

    public int Window => (int)Math.Min(_cwnd, int.MaxValue);
    /// <summary>BBR keeps no ssthresh (Linux reports TCP_INFINITE_SSTHRESH).</summary>
    public int SlowStartThreshold => int.MaxValue;
    public long PacingRate => _pacingRate;

    private long InitialWindow => Math.Min(10L * _mss, Math.Max(2L * _mss, 14600)); // RFC 6928, as CUBIC starts

    /// <summary>§4.2.3.1 / tcp_bbr.c bbr_init: initial cwnd, pacing at HighGain x initial cwnd over 1 ms (no RTT yet).</summary>
    public void Initialize(int mss)
    {
        _mss = Math.Max(mss, 1);
        _cwnd = InitialWindow;
        _pacingRate = (long)(HighGain * _cwnd * 1_000_000 / 1000);
        State = Mode.Startup;
        _pacingGain = _cwndGain = HighGain;
    }

    /// <summary>BBR runs on the rate samples (<see cref="OnRateSample"/>), not on ACKed bytes.</summary>
    public void OnAck(int ackedBytes, int mss, int bytesInFlight, long smoothedRttMicros, Instant now) => _mss = Math.Max(mss, 1);

    /// <summary>§4.2.3.4: entering fast recovery saves cwnd; the next rate sample starts packet conservation.</summary>
    public void OnCongestionEvent(int bytesInFlight, int mss, Instant now) => SaveCwnd();

    /// <summary>§4.2.3.4: leaving recovery restores the cwnd saved when it began (if larger).</summary>
    public void OnRecoveryEnd(int mss, Instant now) => RestoreCwnd();

    /// <summary>
    /// §4.2.3.4 / tcp_bbr.c on TCP_CA_Loss: save cwnd, send one segment (the connection retransmits it); the model
    /// (BtlBw, RTprop) is kept, the Startup plateau count restarts.
    /// </summary>
    public void OnRetransmitTimeout(int bytesInFlight, int mss, Instant now)
    {
        SaveCwnd();
        _cwnd = Math.Max(mss, 1);
        _fullBw = 0;
        _fullBwCount = 0;
        _roundStart = true;
        _rtoPending = true;
    }

    public void OnRateSample(in RateSample rs, in CongestionAckInfo info)
    {
        _mss = Math.Max(info.Mss, 1);
        UpdateModel(rs, info);
        UpdateControlParameters(rs, info);
    }

    // §4.1.1 / §4.1.2: the model.
    private void UpdateModel(in RateSample rs, in CongestionAckInfo info)
    {
        UpdateBtlBw(rs, info);
        UpdateAckAggregation(rs, info);
        CheckCyclePhase(rs, info);
        CheckFullPipe(rs);
        CheckDrain(info);
        UpdateRtProp(info);
        CheckProbeRtt(info);
    }

    /// <summary>§4.1.1.3 / §4.1.1.5: round counting by delivered data, and BtlBw from the non-app-limited samples.</summary>
    private void UpdateBtlBw(in RateSample rs, in CongestionAckInfo info)
    {
        _roundStart = false;
        if (!rs.IsValid) return;
        if (rs.PriorDelivered >= _nextRoundDelivered)
        {
            _nextRoundDelivered = info.Delivered;
            _roundCount++;
            _roundStart = true;
            _packetConservation = false; // §4.2.3.4: conservation lasts one round
        }
        long bw = rs.BytesPerSecond;
        // §4.1.1.5: app-limited samples count only when they raise the estimate.
        if (!rs.IsAppLimited || bw >= BottleneckBandwidth) _btlBw.Update(new Instant(_roundCount), -bw);
    }

    /// <summary>
    /// tcp_bbr.c bbr_update_ack_aggregation: how much more data the ACKs delivered than BtlBw accounts for since the
    /// current ACK epoch began, the maximum over two windows of 5 rounds each. A receiver that acknowledges in bursts
    /// (GRO, stretch ACKs, a busy loop, Wi-Fi) leaves the sender idle between them when the cwnd holds only
    /// 2 x BDP: the allowance keeps that much more in flight (<see cref="AckAggregationCwnd"/>). The epoch restarts
    /// when the ACKs fall behind the expected rate, or after 2^20 segments.
    /// </summary>
    private void UpdateAckAggregation(in RateSample rs, in CongestionAckInfo info)
    {
        if (rs.AckedSacked <= 0 || !rs.IsValid || rs.IntervalMicros <= 0) return;
        if (_roundStart && ++_extraAckedRounds >= ExtraAckedWindowRounds)
        {
            _extraAckedRounds = 0;
            _extraAckedIndex ^= 1;
            if (_extraAckedIndex == 0) _extraAcked0 = 0; else _extraAcked1 = 0;
        }
        long epochMicros = Math.Max(0, info.Now.Microseconds - _ackEpochStart.Microseconds);
        long expected = (long)((double)BottleneckBandwidth * epochMicros / 1_000_000);
        if (_ackEpochAcked <= expected || _ackEpochAcked + rs.AckedSacked >= AckEpochResetSegments * _mss)
        {
            _ackEpochAcked = 0;
            _ackEpochStart = info.Now;
            expected = 0;
        }
        _ackEpochAcked += rs.AckedSacked;
        long extra = Math.Min(_ackEpochAcked - expected, _cwnd);
        if (_extraAckedIndex == 0) _extraAcked0 = Math.Max(_extraAcked0, extra);
        else _extraAcked1 = Math.Max(_extraAcked1, extra);
    }

    /// <summary>tcp_bbr.c bbr_ack_aggregation_cwnd: the allowance (gain 1), once the pipe is full, at most 100 ms at BtlBw.</summary>
    private long AckAggregationCwnd => _filledPipe
        ? Math.Min(Math.Max(_extraAcked0, _extraAcked1), BottleneckBandwidth * ExtraAckedMaxMicros / 1_000_000)
        : 0;

    /// <summary>§4.3.4.3 BBRUpdateProbeBWCyclePhase / BBRIsNextCyclePhase.</summary>
    private void CheckCyclePhase(in RateSample rs, in CongestionAckInfo info)
    {
        if (State != Mode.ProbeBw) return;
        bool fullLength = info.Now.Microseconds - _cycleStamp.Microseconds > Math.Max(_rtProp, 0);
        bool next = _pacingGain switch
        {
            > 1 => fullLength && (info.NewlyLost > 0 || info.Inflight >= Inflight(_pacingGain)),
            < 1 => fullLength || info.Inflight <= Inflight(1),
            _ => fullLength,
        };
        if (!next) return;
        _cycleIndex = (_cycleIndex + 1) % PacingGainCycle.Length;
        _cycleStamp = info.Now;
        _pacingGain = PacingGainCycle[_cycleIndex];
    }

    /// <summary>§4.3.2.2 BBRCheckFullPipe: three rounds without 25 % growth of BtlBw mean the pipe is full.</summary>
    private void CheckFullPipe(in RateSample rs)
    {
        if (_filledPipe || !_roundStart || rs.IsAppLimited) return;
        if (BottleneckBandwidth >= _fullBw * 5 / 4)
        {
            _fullBw = BottleneckBandwidth;
            _fullBwCount = 0;
            return;
        }
        if (++_fullBwCount >= 3) _filledPipe = true;
    }

    /// <summary>§4.3.3 Drain: after Startup, drain the queue it built until inflight is one BDP, then ProbeBW.</summary>
    private void CheckDrain(in CongestionAckInfo info)
    {
        if (State == Mode.Startup && _filledPipe)
        {
            State = Mode.Drain;
            _pacingGain = DrainGain;
            _cwndGain = HighGain;
        }
        if (State == Mode.Drain && info.Inflight <= Inflight(1)) EnterProbeBw(info.Now);
    }

    private void EnterProbeBw(Instant now)
    {
        State = Mode.ProbeBw;
        _cwndGain = CwndGain;
        // §4.3.4.3: start at a random phase other than the 0.75 one. The core has no randomness of its own; the virtual
        // time's low bits are deterministic in a simulation and vary enough in a real run.
        int r = (int)((ulong)now.Microseconds % (ulong)(PacingGainCycle.Length - 1));
        _cycleIndex = r >= 1 ? r + 1 : r;
        _cycleStamp = now;
        _pacingGain = PacingGainCycle[_cycleIndex];
    }

    /// <summary>§4.1.2.3 RTprop: the minimum RTT over 10 s (taken again when it expired).</summary>
    private void UpdateRtProp(in CongestionAckInfo info)
    {
        bool expired = _rtProp >= 0 && info.Now.Microseconds > _rtPropStamp.Microseconds + RtPropFilterMicros;
        if (info.RttMicros >= 0 && (_rtProp < 0 || info.RttMicros < _rtProp || expired))
        {
            _rtProp = Math.Max(info.RttMicros, 1);
            _rtPropStamp = info.Now;
            if (expired) _rtPropExpired = true;
        }
        else if (expired) _rtPropExpired = true;
    }

    private bool _rtPropExpired;

    /// <summary>
    /// §4.3.5 ProbeRTT: RTprop not refreshed for 10 s: cwnd drops to 4 segments for 200 ms and one round, so that the
    /// queue drains and a fresh minimum RTT is seen; then back to ProbeBW (or Startup if the pipe was never full).
    /// </summary>
    private void CheckProbeRtt(in CongestionAckInfo info)
    {
        if (_rtPropExpired && State != Mode.ProbeRtt)
        {
            State = Mode.ProbeRtt;
            ProbeRttVisits++;
            _pacingGain = 1;
            _cwndGain = 1;
            SaveCwnd();
            _probeRttDoneArmed = false;
        }
        _rtPropExpired = false;
        if (State != Mode.ProbeRtt) return;
        if (!_probeRttDoneArmed && info.Inflight <= MinPipeCwnd)
        {
            _probeRttDoneStamp = new Instant(info.Now.Microseconds + ProbeRttDurationMicros);
            _probeRttDoneArmed = true;
            _probeRttRoundDone = false;
            _nextRoundDelivered = info.Delivered;
        }
        else if (_probeRttDoneArmed)
        {
            if (_roundStart) _probeRttRoundDone = true;
            if (_probeRttRoundDone && info.Now > _probeRttDoneStamp)
            {
                _rtPropStamp = info.Now;
                RestoreCwnd();
                if (_filledPipe) EnterProbeBw(info.Now);
                else
                {
                    State = Mode.Startup;
                    _pacingGain = _cwndGain = HighGain;
                }
            }
        }
    }

    /// <summary>BBR runs on the delivery rate samples.</summary>
    public bool UsesRateSamples => true;

    /// <summary>True while in ProbeRTT: its low-rate samples must be marked application limited (tcp_bbr.c).</summary>
    public bool HoldsRateBelowPath => State == Mode.ProbeRtt;

    /// <summary>BBR sets its own window in recovery (packet conservation): no PRR.</summary>
    public bool SetsRecoveryWindow => true;

    private long MinPipeCwnd => (long)MinPipeCwndSegments * _mss;

    /// <summary>§4.2.3.2 BBRInflight: gain x BDP (BtlBw x RTprop), plus 3 send quanta for the offload batching.</summary>
    private long Inflight(double gain)
    {
        if (_rtProp < 0 || BottleneckBandwidth <= 0) return InitialWindow;
        long bdp = (long)(BottleneckBandwidth * (double)_rtProp / 1_000_000);
        return (long)(gain * bdp) + 3 * SendQuantum;
    }

    /// <summary>§4.2.2 send quantum (tcp_bbr.c bbr_tso_segs_goal): ~1 ms at the pacing rate, 2 to 64 KB worth of segments.</summary>
    private long SendQuantum => Math.Clamp(_pacingRate >> 10, 2L * _mss, 64 * 1024);

    private void UpdateControlParameters(in RateSample rs, in CongestionAckInfo info)
    {
        SetPacingRate();
        SetCwnd(rs, info);
    }

    /// <summary>§4.2.1 BBRSetPacingRate: pacing_gain x BtlBw (less 1 %), never lowered before the pipe is full.</summary>
    private void SetPacingRate()
    {
        if (!_hasSeenRtt && _rtProp > 0)
        {
            // §4.2.1 BBRInitPacingRate (tcp_bbr.c: again at the first RTT sample): HighGain x initial cwnd / RTT.
            _pacingRate = Math.Max(1, (long)(HighGain * InitialWindow * 1_000_000 / _rtProp));
            _hasSeenRtt = true;
        }
        long bw = BottleneckBandwidth;
        if (bw <= 0) return;
        long rate = (long)(_pacingGain * bw * PacingMarginFactor);
        if (_filledPipe || rate > _pacingRate) _pacingRate = Math.Max(rate, 1);
    }

    /// <summary>§4.2.3 BBRSetCwnd, with §4.2.3.4 packet conservation in the first round of recovery and ProbeRTT's floor.</summary>
    private void SetCwnd(in RateSample rs, in CongestionAckInfo info)
    {
        long acked = rs.AckedSacked;
        // §4.2.3.4 BBRModulateCwndForRecovery.
        if (info.NewlyLost > 0) _cwnd = Math.Max(_cwnd - info.NewlyLost, _mss);
        if (info.InRecovery && !_prevInRecovery && !_rtoPending)
        {
            _packetConservation = true;
            _nextRoundDelivered = info.Delivered; // the conservation round starts now
            _cwnd = info.Inflight + acked;
        }
        else if (!info.InRecovery && _prevInRecovery)
        {
            RestoreCwnd();
            _packetConservation = false;
            _rtoPending = false;
        }
        _prevInRecovery = info.InRecovery;
        if (_packetConservation)
        {
            _cwnd = Math.Max(_cwnd, info.Inflight + acked);
        }
        else
        {
            long target = Inflight(_cwndGain) + AckAggregationCwnd;
            if (_filledPipe) _cwnd = Math.Min(_cwnd + acked, target);
            else if (_cwnd < target || info.Delivered < InitialWindow) _cwnd += acked;
            _cwnd = Math.Max(_cwnd, MinPipeCwnd);
        }
        if (State == Mode.ProbeRtt) _cwnd = Math.Min(_cwnd, MinPipeCwnd); // §4.3.5
    }

    /// <summary>§4.2.3.4 BBRSaveCwnd: the last good cwnd (outside recovery and ProbeRTT), else the larger.</summary>
    private void SaveCwnd() => _priorCwnd = !_prevInRecovery && State != Mode.ProbeRtt ? _cwnd : Math.Max(_priorCwnd, _cwnd);

    private void RestoreCwnd() => _cwnd = Math.Max(_cwnd, _priorCwnd);
}
