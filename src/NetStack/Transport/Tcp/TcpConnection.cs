using System.Diagnostics.CodeAnalysis;
using NetStack.Storage;
using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// One TCP connection (its transmission control block, RFC 9293 §3.3.1) and its sans-IO socket API.
/// All methods run on the stack's loop; the owning <see cref="TcpLayer"/> feeds segments and timers
/// and transmits. The class is split by concern: this file holds state and the user calls;
/// <c>.Input</c> the arriving-segment rules, <c>.Output</c> what to send, <c>.Timers</c> the timers.
/// </summary>
public sealed partial class TcpConnection
{
    private readonly TcpLayer _layer;
    private readonly TcpSettings _settings;
    private readonly RingBuffer _sendBuffer;
    private bool _sendBufferLimited;       // Send found the buffer full since the last acknowledgment (Linux: SOCK_NOSPACE)
    private readonly RingBuffer _recvBuffer;
    private readonly Assembler _assembler;
    private readonly SackScoreboard _sack = new();
    private readonly SentQueue _sent;
    private readonly RackLossDetector _rack;
    private readonly ProportionalRateReduction _prr;
    private readonly RttEstimator _rtt;
    private ICongestionControl _cc;

    // Send sequence space (RFC 9293 §3.3.1). _sndNxt is also SND.MAX: retransmissions never move it back.
    private SeqNumber _iss, _sndUna, _sndNxt, _sndWl1, _sndWl2;
    private SeqNumber _sndBufSeq;          // sequence number of the first byte in _sendBuffer
    private int _sndWnd, _maxSndWnd;
    private byte _sndShift;
    private bool _finQueued, _finSent;
    private SeqNumber _nagleEnd;           // end of the last small segment sent (Minshall's Nagle)
    private SeqNumber _finSeq;

    // Receive sequence space.
    private SeqNumber _irs, _rcvNxt, _rcvAdvRight;
    /// <summary>A FIN seen beyond RCV.NXT (out of order), at <see cref="_finPendingSeq"/>.</summary>
    private bool _finPending;
    /// <summary>RFC 2883: a duplicate range to report in the next ACK's first SACK block.</summary>
    private bool _dsackPending;
    private SeqNumber _dsackStart, _dsackEnd;
    private SeqNumber _finPendingSeq;
    private byte _rcvShift;
    private bool _finReceived;

    // Urgent data (RFC 9293 §3.8.5). SND.UP / RCV.UP point to the octet after the urgent data (MUST-62); each side is
    // in urgent mode while its flag is set.
    private bool _sndUrgent, _rcvUrgent;
    private SeqNumber _sndUp, _rcvUp;

    // Negotiated options.
    private bool _tsEnabled, _sackEnabled, _wsEnabled, _peerOfferedTs, _peerOfferedSack, _peerOfferedWs;
    private uint _tsRecent, _tsOffset;
    private bool _tsRecentValid;
    private Instant _tsRecentAt; // when TS.Recent was last set (RFC 7323 §5.5)
    private SeqNumber _lastAckSent;
    private int _peerMss;
    private int _mss;           // payload bytes per segment we send (MSS minus options)
    private ushort _ourMss;     // MSS we advertise

    // Loss recovery (RFC 6675 / RFC 6582 / RFC 8985): segments marked lost in _sent are retransmitted while
    // recovery lasts (until SND.UNA reaches _recover).
    private bool _fastRecovery, _rtoRecovery, _firstRetransmitPending;
    private SeqNumber _recover;
    private int _dupAcks;

    // RTT timing without timestamps (Karn: never time a retransmitted segment).
    private bool _timing;
    private SeqNumber _timedSeq;
    private Instant _timedAt;

    // Timers.
    private Instant _rtxDeadline = Instant.MaxValue, _delayedAckDeadline = Instant.MaxValue, _persistDeadline = Instant.MaxValue,
        _keepaliveDeadline = Instant.MaxValue, _timeWaitDeadline = Instant.MaxValue, _tlpDeadline = Instant.MaxValue,
        _rackDeadline = Instant.MaxValue;
    // RFC 8985 §7: TLP.end_seq (valid while a probe is outstanding) and TLP.is_retrans.
    private bool _tlpOutstanding, _tlpIsRetrans;
    // A further probe is armed (nothing has answered the last one; see OnTailLossProbe): how many were sent for this tail,
    // and how many of them were retransmissions (the backoff exponent).
    private bool _tlpRetryPending;
    private int _tlpProbes, _tlpBackoff;
    private SeqNumber _tlpEndSeq;
    private int _retries, _persistBackoff, _keepaliveProbes;
    private Instant _lastProgressAdvice;
    private byte _trafficClass;
    private Instant _lastReceived;

    // ACK policy.
    private bool _ackNow;
    private int _unackedBytes;
    // SACK compression (Linux's tcp_comp_sack): the RCV.NXT the duplicate ACKs count for, how many went at once, how many wait.
    private SeqNumber _compressedAckRcvNxt;
    private int _dupAcksSent;
    private int _compressedAcks;
    // A byte of each of the out-of-order ranges that most recently received data, most recent first (RFC 2018 §4).
    private const int SackRecentMax = 4;
    private readonly SeqNumber[] _sackRecent = new SeqNumber[SackRecentMax];
    private int _sackRecentCount;
    // How many of the leading _sackRecent entries received data since the last ACK went out (not yet reported).
    private int _sackFresh;
    private bool _userClosed;

    internal TcpConnection(TcpLayer layer, TcpSettings settings, IpEndpoint local, IpEndpoint remote)
    {
        _layer = layer;
        _settings = settings;
        Local = local;
        Remote = remote;
        _sendBuffer = new RingBuffer(settings.SendBufferSize);
        _recvBuffer = new RingBuffer(settings.ReceiveBufferSize);
        _assembler = new Assembler(settings.ReassemblyRanges);
        // Bounded per-segment record: room for a full send buffer of 64-byte segments at most.
        // Starts small (it doubles as segments are in flight): an idle connection should cost little.
        _sent = new SentQueue(8, Math.Max(1024, settings.SendBufferSize / 64 + 16));
        _rtt = new RttEstimator(settings.InitialRto, settings.MinRto, settings.MaxRto);
        _rack = new RackLossDetector(settings.MinRttWindow);
        _prr = new ProportionalRateReduction(settings.PrrBound);
        Congestion = settings.Congestion;
        NoDelay = settings.NoDelay;
        KeepAlive = settings.KeepAlive;
        MaxRetransmissions = settings.MaxRetries;
        TrafficClass = settings.TrafficClass;
        HopLimit = settings.HopLimit;
    }

    /// <summary>This end's address and port.</summary>
    public IpEndpoint Local { get; }
    /// <summary>The peer's address and port.</summary>
    public IpEndpoint Remote { get; }
    /// <summary>The connection's state (RFC 9293 §3.3.2).</summary>
    public TcpState State { get; private set; }
    /// <summary>Why the connection failed (refused, reset, timed out), or None.</summary>
    public TcpError Error { get; private set; }
    /// <summary>The listener this connection was accepted from, until accepted.</summary>
    internal TcpListenSocket? Listener { get; set; }
    internal bool InTable { get; set; }
    internal bool IsDirty { get; set; }
    /// <summary>The earliest deadline this connection has in the layer's timer heap (<see cref="Instant.MaxValue"/>: none).</summary>
    internal Instant ScheduledDeadline { get; set; } = Instant.MaxValue;
    internal bool HalfOpenCounted { get; set; }
    /// <summary>A half-open connection made from a valid cookie ACK that found the accept queue full.</summary>
    internal bool FromCookie { get; init; }
    /// <summary>
    /// In SYN-RECEIVED: the peer has acknowledged our SYN,ACK (it is ESTABLISHED on its side) but the accept queue was
    /// full; if the SYN,ACK retransmissions run out, the peer is reset rather than left believing it is connected.
    /// </summary>
    private bool _peerAckedOverflow;

    /// <summary>RFC 5927 §4.1: SND.UNA &lt;= seq &lt; SND.NXT (or the SYN while opening).</summary>
    internal bool IsSequenceInFlight(SeqNumber seq) => seq >= _sndUna && (seq < _sndNxt || seq == _iss);

    /// <summary>Disable Nagle's algorithm (RFC 9293 §3.7.4).</summary>
    public bool NoDelay { get; set; }

    /// <summary>
    /// The DSCP of this connection's segments, as the IPv4 TOS / IPv6 Traffic Class byte (RFC 9293 §3.9.1.9 MUST-48:
    /// the application can set it; RFC 2474). The two ECN bits are not the application's (RFC 3168 §6.1.1; as Linux
    /// masks them on TCP sockets) and stay 0.
    /// </summary>
    public byte TrafficClass
    {
        get => _trafficClass;
        set => _trafficClass = (byte)(value & 0xFC);
    }

    /// <summary>IPv4 TTL / IPv6 hop limit of this connection's segments (RFC 9293 §3.9.2 MUST-49); 0 = the stack's default.</summary>
    public byte HopLimit { get; set; }

    /// <summary>
    /// R2 for this connection (RFC 9293 §3.8.3 MUST-21: "An application MUST be able to set the value for R2 for a
    /// particular connection"): consecutive retransmission timeouts of data before it times out. <see cref="int.MaxValue"/>
    /// never gives up, leaving the decision to the user. Starts at <see cref="TcpSettings.MaxRetries"/>.
    /// </summary>
    public int MaxRetransmissions
    {
        get;
        set => field = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "At least one retransmission.");
    }
    /// <summary>RFC 1122 §4.2.3.6 keep-alives (off by default).</summary>
    public bool KeepAlive
    {
        get;
        set { field = value; if (!value) _keepaliveDeadline = Instant.MaxValue; }
    }

    /// <summary>The congestion control algorithm; changing it restarts congestion state from the current window.</summary>
    public CongestionAlgorithm Congestion
    {
        get;
        [MemberNotNull(nameof(_cc))]
        set
        {
            if (field == value && _cc is not null) return;
            field = value;
            _cc = CongestionControlFactory.Create(value);
            if (_mss > 0) _cc.Initialize(_mss);
            _sent.Controller = _cc; // the queue asks the controller whether to stamp rate snapshots
        }
    }

    /// <summary>The send buffer's capacity in bytes.</summary>
    public int SendBufferSize => _sendBuffer.Capacity;
    /// <summary>The receive buffer's capacity in bytes.</summary>
    public int ReceiveBufferSize => _recvBuffer.Capacity;
    /// <summary>Bytes of buffer memory held now (send plus receive): buffers are taken as data comes and released when empty.</summary>
    public int BufferMemory => _sendBuffer.AllocatedBytes + _recvBuffer.AllocatedBytes;
    /// <summary>Bytes queued to send and not yet acknowledged.</summary>
    public int SendQueueLength => _sendBuffer.Length;
    /// <summary>Bytes received in order and not yet read.</summary>
    public int ReceiveQueueLength => _recvBuffer.Length;
    /// <summary>Payload bytes per segment we send.</summary>
    public int SendMss => _mss;
    /// <summary>The congestion window sending obeys (bytes): PRR's during fast recovery (RFC 9937), else the algorithm's.</summary>
    public int CongestionWindow => SendWindow;
    /// <summary>The slow start threshold (bytes) the congestion control algorithm set.</summary>
    public int SlowStartThreshold => _cc.SlowStartThreshold;
    /// <summary>The smoothed round-trip time (SRTT, RFC 6298 §2).</summary>
    public TimeSpan SmoothedRtt => TimeSpan.FromTicks(_rtt.SmoothedMicros * 10);
    /// <summary>Segments retransmitted on this connection.</summary>
    public long Retransmissions { get; private set; }
    /// <summary>True when both ends agreed on window scaling (RFC 7323 §2).</summary>
    public bool WindowScalingEnabled => _wsEnabled;
    /// <summary>True when both ends agreed on timestamps (RFC 7323 §3).</summary>
    public bool TimestampsEnabled => _tsEnabled;
    /// <summary>True when both ends agreed on selective acknowledgements (RFC 2018).</summary>
    public bool SackEnabled => _sackEnabled;

    /// <summary>True once the peer's FIN has been received and every byte before it read.</summary>
    public bool ReceiveFinished => _finReceived && _recvBuffer.IsEmpty;

    private bool CanSendData => State is TcpState.SynSent or TcpState.SynReceived or TcpState.Established or TcpState.CloseWait && !_finQueued;

    /// <summary>What the application can do now: read, write, or learn that the connection ended.</summary>
    public TcpReadiness Readiness
    {
        get
        {
            var r = TcpReadiness.None;
            if (!_recvBuffer.IsEmpty || _finReceived || Error != TcpError.None) r |= TcpReadiness.Readable;
            if (State is TcpState.Established or TcpState.CloseWait && !_finQueued && !_sendBuffer.IsFull) r |= TcpReadiness.Writable;
            if (WasConnected) r |= TcpReadiness.Connected;
            if (State == TcpState.Closed || Error != TcpError.None) r |= TcpReadiness.Closed;
            if (UrgentRemaining > 0) r |= TcpReadiness.Urgent;
            return r;
        }
    }

    private bool WasConnected { get; set; }

    /// <summary>Queues bytes to send; returns how many fitted in the send buffer (0 when full or the send side is closed).</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (!CanSendData) return 0;
        int n = _sendBuffer.Enqueue(data);
        if (n > 0) _layer.MarkDirty(this);
        if (n < data.Length) _sendBufferLimited = true; // the application waits for room: auto-tuning may grow the buffer
        return n;
    }

    /// <summary>
    /// Queues bytes to send as urgent data (RFC 9293 §3.8.5, the SEND call's URGENT flag of §3.9.1.2): the urgent pointer
    /// moves to the octet after the last byte queued, and every segment sent before the peer acknowledges that point
    /// carries URG. Returns how many fitted, as <see cref="Send"/>; the pointer covers only those.
    /// </summary>
    public int SendUrgent(ReadOnlySpan<byte> data)
    {
        int n = Send(data);
        if (n > 0)
        {
            // RFC 9293 §3.8.5: "The urgent pointer MUST point to the sequence number of the octet following the urgent
            // data (MUST-62)"; the data may be of any length (MUST-31).
            _sndUp = DataEnd;
            _sndUrgent = true;
        }
        return n;
    }

    /// <summary>
    /// How many bytes of urgent data remain to be read (RFC 9293 §3.8.5 MUST-33): the distance from the next byte
    /// <see cref="Receive"/> returns to the peer's urgent pointer, counting bytes not yet arrived; 0 outside urgent mode.
    /// The data itself arrives in line, in stream order (RFC 6093 §6).
    /// </summary>
    public int UrgentRemaining => _rcvUrgent ? Math.Max(0, _rcvUp - ReadSequence) : 0;

    /// <summary>
    /// Counts the times the application must be told of urgent data (RFC 9293 §3.8.5 MUST-32): a pointer received while no
    /// urgent data was pending, or one that advances. The layer raises <see cref="TcpLayer.ConnectionChanged"/> when it moves.
    /// </summary>
    public long UrgentSignals { get; private set; }

    /// <summary>
    /// What the socket layer is told about (<see cref="TcpLayer.ConnectionChanged"/>): the readiness, and the urgent and
    /// soft-error signals, which are news even when the readiness stays the same (RFC 9293 §3.8.5 MUST-32, §3.9.1.8 MUST-47).
    /// </summary>
    internal (TcpReadiness Readiness, long Signals) Observable => (Readiness, UrgentSignals + SoftErrors);

    /// <summary>The latest soft error (RFC 9293 §3.9.1.8 MUST-47); <see cref="TcpSoftErrorKind.None"/> when there was none.</summary>
    public TcpSoftError SoftError { get; private set; }

    /// <summary>Counts soft errors; <see cref="TcpLayer.ConnectionChanged"/> is raised when it moves.</summary>
    public long SoftErrors { get; private set; }

    /// <summary>
    /// Records a soft error: reported, never fatal by itself (RFC 9293 §3.9.2.2 MUST-56). If the connection later times
    /// out, an ICMP unreachable recorded here is the reason given (as Linux reports EHOSTUNREACH rather than ETIMEDOUT).
    /// </summary>
    internal void NoteSoftError(in TcpSoftError error)
    {
        SoftError = error;
        SoftErrors++;
    }

    /// <summary>R2 reached: TimedOut, or Unreachable when the last soft error said the destination is unreachable.</summary>
    private void TimeOut() => Terminate(SoftError.Kind == TcpSoftErrorKind.Unreachable ? TcpError.Unreachable : TcpError.TimedOut);

    /// <summary>The sequence number of the next byte <see cref="Receive"/> returns.</summary>
    private SeqNumber ReadSequence => _rcvNxt - _recvBuffer.Length - (_finReceived ? 1 : 0);

    /// <summary>Reads in-order received bytes; returns the count (0 when none: see <see cref="ReceiveFinished"/>).</summary>
    public int Receive(Span<byte> destination)
    {
        int n = _recvBuffer.Dequeue(destination);
        // Everything read and nothing waiting past the tail: the buffer's memory goes back to the pool until data arrives.
        if (_recvBuffer.IsEmpty && _assembler.IsEmpty) _recvBuffer.Release();
        // RFC 9293 §3.8.5: urgent mode ends once the application has read up to the urgent pointer.
        if (_rcvUrgent && ReadSequence >= _rcvUp) _rcvUrgent = false;
        if (n > 0 && State is not TcpState.Closed and not TcpState.TimeWait and not TcpState.Listen)
        {
            // RFC 9293 §3.8.6.2.2 receiver SWS avoidance: announce a window update only when the right edge
            // can move by at least min(buffer/2, MSS).
            int gain = (_rcvNxt + _recvBuffer.Free) - _rcvAdvRight;
            if (gain >= Math.Min(_recvBuffer.Capacity / 2, Math.Max((int)_ourMss, 1)))
            {
                _ackNow = true;
                _layer.MarkDirty(this);
            }
        }
        return n;
    }

    /// <summary>Closes the send side: a FIN follows the queued data (RFC 9293 §3.10.4).</summary>
    public void Shutdown()
    {
        switch (State)
        {
            case TcpState.SynSent:
                Terminate(TcpError.None);
                return;
            case TcpState.SynReceived:
            case TcpState.Established:
                if (_finQueued) return;
                _finQueued = true;
                if (State == TcpState.Established) State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                if (_finQueued) return;
                _finQueued = true;
                State = TcpState.LastAck;
                break;
            default:
                return;
        }
        _layer.MarkDirty(this);
    }

    /// <summary>
    /// Closes the connection. With unread received data the connection is reset instead
    /// (RFC 9293 §3.10.4 and RFC 2525 §2.17); otherwise the send side is shut down and the
    /// connection finishes its close on its own.
    /// </summary>
    public void Close()
    {
        _userClosed = true;
        if (!_recvBuffer.IsEmpty && State is not TcpState.Closed and not TcpState.TimeWait) { Abort(); return; }
        if (State is TcpState.Closed) { _layer.Forget(this); return; }
        Shutdown();
    }

    /// <summary>Aborts with RST (RFC 9293 §3.10.5 ABORT).</summary>
    public void Abort()
    {
        _userClosed = true;
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait)
            SendRst(_sndNxt, Instant.Zero, withAck: false);
        Terminate(TcpError.Aborted);
    }

    internal void Terminate(TcpError error)
    {
        if (error != TcpError.None && Error == TcpError.None) Error = error;
        State = TcpState.Closed;
        _sendBuffer.Release();                           // when empty; what is left goes with the connection object
        if (_recvBuffer.IsEmpty) _recvBuffer.Release(); // unread data stays readable
        _rtxDeadline = _delayedAckDeadline = _persistDeadline = _keepaliveDeadline = _timeWaitDeadline = _tlpDeadline = _rackDeadline = Instant.MaxValue;
        _layer.OnClosed(this);
    }

    /// <summary>Records in the sender's per-segment queue (segments in flight, RFC 8985 §5.2).</summary>
    internal int SentRecords => _sent.Count;

    /// <summary>Records RACK's loss detection has examined over the connection's life (its per-ACK cost).</summary>
    internal long RackRecordsExamined => _rack.RecordsExamined;

    /// <summary>The earliest timer deadline of this connection.</summary>
    internal Instant NextDeadline =>
        Instant.Min(Instant.Min(Instant.Min(Instant.Min(_rtxDeadline, _tlpDeadline), _rackDeadline), _delayedAckDeadline),
            Instant.Min(Instant.Min(Instant.Min(_persistDeadline, _keepaliveDeadline), _timeWaitDeadline), _pacingDeadline));

    // Pacing (Linux's earliest departure time, sch_fq-less internal pacing): the next segment may leave no earlier than
    // _pacingNext; a send held back by it arms _pacingDeadline, whose expiry makes the connection transmit again.
    private Instant _pacingNext;
    private Instant _pacingDeadline = Instant.MaxValue;

    /// <summary>
    /// The pacing rate in bytes per second (0: not paced): the controller's own (BBR), else with
    /// <see cref="TcpSettings.Pacing"/> Linux's tcp_update_pacing_rate default, ratio·cwnd/SRTT, ratio 2 in slow start
    /// below half of ssthresh and 1.2 after; no pacing before the first RTT sample.
    /// </summary>
    internal long PacingRate
    {
        get
        {
            long rate = _cc.PacingRate;
            if (rate > 0 || !_settings.Pacing) return rate;
            long srtt = _rtt.SmoothedMicros;
            if (srtt <= 0) return 0;
            long cwnd = _cc.Window;
            int ratio = cwnd < _cc.SlowStartThreshold / 2 ? 200 : 120;
            return Math.Max(1, cwnd * 1_000_000L / srtt * ratio / 100);
        }
    }

    /// <summary>True when pacing holds the next send back (and the pacing deadline is armed to release it).</summary>
    private bool PacingHolds(Instant now, long rate)
    {
        if (rate <= 0 || now >= _pacingNext) return false;
        _pacingDeadline = _pacingNext;
        return true;
    }

    /// <summary>
    /// <paramref name="bytes"/> left at the pacing rate: the next send waits bytes/rate after this one. A send that
    /// leaves late (a timer wake-up's slack, a busy loop) takes the lateness as credit against its own gap, up to half
    /// of it, as Linux's tcp_update_skb_after_send ("take into account OS jitter"): otherwise every late wake-up is
    /// time lost for good and the rate sent falls below the pacing rate (and BBR's next bandwidth samples with it).
    /// </summary>
    private void Paced(int bytes, Instant now, long rate)
    {
        if (rate <= 0) return;
        long prior = _pacingNext.Microseconds;
        long start = Math.Max(prior, now.Microseconds);
        long gap = Math.Max(1, bytes * 1_000_000L / rate);
        if (prior > 0) gap -= Math.Min(gap / 2, start - prior); // no credit for the first paced send
        _pacingNext = new Instant(start + gap);
    }

    /// <summary>
    /// Linux's tcp_tso_autosize: a paced super-segment holds about 1 ms of data at the pacing rate (rate >> 10), at least
    /// two segments, at most <paramref name="max"/> (64 KB less headers, or what IP takes).
    /// </summary>
    private int PacedSuperSegmentLimit(long rate, int max) => rate <= 0 ? max : (int)Math.Min(max, Math.Max(2L * _mss, rate >> 10));

    internal bool UserClosed => _userClosed;

    private int BytesInFlight => _sndNxt - _sndUna;

    /// <summary>
    /// RFC 6675 §4 pipe: octets sent and not SACKed, less those deemed lost and not yet retransmitted
    /// (a retransmitted octet counts once more while in flight: the lost mark is cleared when it is resent).
    /// </summary>
    private int Pipe => Math.Max(0, BytesInFlight - _sack.SackedBytes - _sent.LostBytes);

    /// <summary>
    /// RFC 9937: Proportional Rate Reduction governs sending during fast recovery (not RTO recovery), unless the congestion
    /// controller sets its own window there (<see cref="ICongestionControl.SetsRecoveryWindow"/>).
    /// </summary>
    private bool PrrActive => _fastRecovery && _settings.ProportionalRateReduction && !_cc.SetsRecoveryWindow;

    /// <summary>cwnd as the sending rules use it: PRR's cwnd = pipe + sndcnt in fast recovery, the algorithm's otherwise.</summary>
    private int SendWindow => PrrActive ? _prr.Window : _cc.Window;

    /// <summary>RACK-TLP (RFC 8985) decides losses: on in the settings and SACK negotiated (RFC 8985 §4 needs SACK).</summary>
    private bool UseRack => _settings.Rack && _sackEnabled;

    /// <summary>The last valid delivery rate sample (draft-cheng-iccrg-delivery-rate-estimation), for tests and BBR.</summary>
    internal RateSample LastRateSample => _sent.Rate.LastSample;

    /// <summary>The congestion controller (tests read BBR's state).</summary>
    internal ICongestionControl CongestionControl => _cc;

    private SeqNumber DataEnd => _sndBufSeq + _sendBuffer.Length;

    /// <summary>Local and remote endpoints and the state.</summary>
    public override string ToString() => $"{Local} -> {Remote} {State}";
}
