using System.Buffers.Binary;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Transport.Tcp;

/// <summary>
/// The TCP layer: the connection table (demultiplexing by 4-tuple, listeners by local address and
/// port), segment dispatch from the network layer, RST replies for segments to closed ports
/// (RFC 9293 §3.10.7.1), SYN cookies (RFC 4987), the timers (<see cref="Poll"/>, <see cref="NextDeadline"/>),
/// and the sans-IO socket calls (<see cref="Listen"/>, <see cref="Connect"/>; data calls live on <see cref="TcpConnection"/>).
/// User calls that queue output (Send, Receive, Shutdown) take effect at the next <see cref="Poll"/>;
/// <see cref="NextDeadline"/> is then "now".
/// </summary>
public sealed class TcpLayer : ITransportHandler, IPollable, IEgressParticipant
{
    private const int EphemeralFirst = 49152;
    private readonly IIpLayer _ip;
    private readonly IRandomSource _random;
    private readonly Dictionary<FourTuple, TcpConnection> _connections = [];
    private readonly Dictionary<IpEndpoint, TcpListenSocket> _listeners = [];
    private readonly Dictionary<ushort, TcpListenSocket> _wildcardListeners = [];
    private readonly List<TcpConnection> _dirty = [];
    private readonly List<TcpConnection> _timerScratch = [];
    // Timers: a min-heap of (connection, deadline) with lazy deletion, so that Poll and NextDeadline touch only the
    // connections that are due, never every connection (a SYN flood's thousands of half-open entries, or ten thousand
    // idle connections, cost nothing per loop turn). An entry is current when its deadline equals the connection's
    // ScheduledDeadline; deadlines that moved later leave an early entry that is re-queued when it comes up.
    private readonly PriorityQueue<TcpConnection, Instant> _timers = new();
    private readonly byte[] _scratch = new byte[65536 + TcpSegment.MaxHeaderLength];
    private Instant _challengeWindowStart = new(long.MinValue / 2);
    private int _challengeCount;

    /// <summary>Creates the TCP layer over <paramref name="ip"/>; <paramref name="random"/> keys the ISN and SYN-cookie secrets (RFC 6528) and draws the layer's other random choices.</summary>
    public TcpLayer(IIpLayer ip, IRandomSource random, TcpSettings? settings = null)
    {
        _ip = ip;
        _random = random;
        Settings = settings ?? new TcpSettings();
        Secrets = new TcpSecrets(random);
        ProvenPeers = new TcpProvenPeers(Math.Max(1, Settings.ProvenPeerSlots), Settings.ProvenPeerLifetime, Secrets.ProvenPeerKey);
    }

    /// <summary>Remote addresses that completed a handshake lately: their SYNs are preferred under a flood (see <see cref="TcpProvenPeers"/>).</summary>
    internal TcpProvenPeers ProvenPeers { get; }

    /// <summary>A connection reached ESTABLISHED: its remote address is proven to answer (RFC 4987 §3).</summary>
    internal void NoteHandshakeCompleted(IpAddress remote, Instant now)
    {
        if (Settings.ProvenPeerSlots > 0) ProvenPeers.Add(remote, now);
        HandshakeCompleted?.Invoke(remote, now);
    }

    /// <summary>
    /// Called (on the thread that runs the stack, from inside its receive path) with the remote address of every
    /// connection that completes its three-way handshake, in either direction: the proof the layer's own proven-peer
    /// table keeps (RFC 4987 §3). For a runtime that looks at frames before the stack does, so that it can tell a
    /// returning client's SYN from a flood's when it must shed some (NetStack.Tap's receive thread). Must not call back
    /// into the stack.
    /// </summary>
    public Action<IpAddress, Instant>? HandshakeCompleted { get; set; }

    private bool IsProven(IpAddress remote, Instant now) => Settings.ProvenPeerSlots > 0 && ProvenPeers.Contains(remote, now);

    /// <summary>The settings every connection starts with.</summary>
    public TcpSettings Settings { get; }
    /// <summary>The layer's counters.</summary>
    public TcpStatistics Stats { get; } = new();
    internal TcpSecrets Secrets { get; }
    /// <summary>Connections the layer holds (every state but LISTEN).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Raised when a connection's <see cref="TcpConnection.Readiness"/> may have changed, its urgent pointer advanced
    /// (<see cref="TcpConnection.UrgentSignals"/>) or it reported a soft error (<see cref="TcpConnection.SoftErrors"/>).
    /// </summary>
    public event Action<TcpConnection>? ConnectionChanged;
    /// <summary>Raised when a listener has a connection to accept.</summary>
    public event Action<TcpListenSocket>? ListenerReady;
    /// <summary>
    /// Raised when a connection's retransmission timer expires (RFC 6298 §5.4; RFC 9293 §3.8.3 for SYN and SYN,ACK), before
    /// it retransmits or gives up; the argument is the number of consecutive expirations. For tracing (nothing may change the
    /// connection from inside the handler).
    /// </summary>
    public event Action<TcpConnection, int>? RetransmissionTimeout;

    internal void OnRetransmissionTimeout(TcpConnection c, int retries) => RetransmissionTimeout?.Invoke(c, retries);

    /// <summary>Starts listening. An unspecified address listens on every address of both families.</summary>
    public TcpListenSocket Listen(IpEndpoint local, int backlog, TcpSettings? settings = null)
    {
        if (local.Port == 0) throw new ArgumentException("A listener needs a port.", nameof(local));
        bool wildcard = local.Address.IsUnspecified;
        if (wildcard ? _wildcardListeners.ContainsKey(local.Port) : _listeners.ContainsKey(local))
            throw new InvalidOperationException($"Already listening on {local}.");
        var l = new TcpListenSocket(this, local, backlog, settings ?? Settings);
        if (wildcard) _wildcardListeners[local.Port] = l; else _listeners[local] = l;
        return l;
    }

    /// <summary>Takes an established connection from <paramref name="listener"/>'s accept queue.</summary>
    public static bool TryAccept(TcpListenSocket listener, out TcpConnection connection) => listener.TryAccept(out connection);

    /// <summary>
    /// Active open (RFC 9293 §3.10.1): picks the source address (unless given) and an ephemeral port
    /// (unless given) and sends SYN. A connection that cannot start is returned closed with
    /// <see cref="TcpError.Unreachable"/>.
    /// </summary>
    public TcpConnection Connect(IpEndpoint remote, Instant now, IpEndpoint? local = null, TcpSettings? settings = null)
    {
        settings ??= Settings;
        // RFC 9293 §3.9.1.1: "A TCP implementation MUST reject as an error a local OPEN call for an invalid remote IP
        // address (e.g., a broadcast or multicast address)" (MUST-46). A subnet's directed broadcast is the IP layer's to refuse.
        if (!remote.Address.IsUnicast)
        {
            var refused = new TcpConnection(this, settings, new IpEndpoint(remote.Address.IsV4 ? Ipv4Address.Any : Ipv6Address.Unspecified, 0), remote);
            refused.Terminate(TcpError.Unreachable);
            return refused;
        }
        IpAddress source;
        // RFC 9293 §3.9.1.1: OPEN's optional local address (MUST-43) must be one the IP layer has (MUST-44).
        if (local is { } l && !l.Address.IsUnspecified)
        {
            if (l.Address.Version != remote.Address.Version || !_ip.IsLocalAddress(l.Address))
            {
                var refused = new TcpConnection(this, settings, l, remote);
                refused.Terminate(TcpError.AddressNotAvailable);
                return refused;
            }
            source = l.Address;
        }
        else if (!_ip.TrySelectSource(remote.Address, out source))
        {
            var failed = new TcpConnection(this, settings, new IpEndpoint(remote.Address.IsV4 ? Ipv4Address.Any : Ipv6Address.Unspecified, 0), remote);
            failed.Terminate(TcpError.Unreachable);
            return failed;
        }
        ushort port = local?.Port ?? 0;
        if (port == 0 && !TryPickEphemeral(source, remote, out port))
        {
            var failed = new TcpConnection(this, settings, new IpEndpoint(source, 0), remote);
            failed.Terminate(TcpError.Unreachable);
            return failed;
        }
        var c = new TcpConnection(this, settings, new IpEndpoint(source, port), remote);
        if (!_connections.TryAdd(Key(c.Local, c.Remote), c))
        {
            c.Terminate(TcpError.AddressNotAvailable); // the four-tuple is in use (Linux: EADDRNOTAVAIL)
            return c;
        }
        c.InTable = true;
        Stats.ActiveOpens++;
        c.StartConnect(now);
        Schedule(c);
        Flush(now);
        return c;
    }

    private bool TryPickEphemeral(IpAddress source, IpEndpoint remote, out ushort port)
    {
        // RFC 6056 §3.3.1 (algorithm 1, simple random start).
        int range = 65536 - EphemeralFirst;
        int start = _random.Next(range);
        for (int i = 0; i < range; i++)
        {
            port = (ushort)(EphemeralFirst + (start + i) % range);
            if (!_connections.ContainsKey(new FourTuple(source, port, remote.Address, remote.Port))) return true;
        }
        port = 0;
        return false;
    }

    /// <inheritdoc/>
    public TransportVerdict Receive(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now)
    {
        Stats.SegmentsReceived++;
        if (info.Source.IsV4) Stats.Ipv4SegmentsReceived++; else Stats.Ipv6SegmentsReceived++;
        if (!TcpSegment.TryParse(payload, out var seg, out _)) { Stats.Malformed++; return TransportVerdict.Dropped; }
        // A checksum the device vouched for (IpPacketInfo.ChecksumTrusted) is not computed again, as in Linux.
        if (!info.ChecksumTrusted && !seg.VerifyChecksum(info.Source, info.Destination)) { Stats.BadChecksum++; return TransportVerdict.Dropped; }
        // RFC 9293 §3.9.2.3: a SYN (any segment: TCP is unicast only) to a broadcast or multicast address is silently
        // discarded (MUST-57), and one from an invalid source address (unspecified, multicast, broadcast) ignored (MUST-63).
        if (info.IsBroadcastOrMulticast || !info.Source.IsUnicast) { Stats.BadAddress++; return TransportVerdict.Dropped; }

        var local = new IpEndpoint(info.Destination, seg.DestinationPort);
        var remote = new IpEndpoint(info.Source, seg.SourcePort);
        if (_connections.TryGetValue(Key(local, remote), out var c)
            && c.State == TcpState.SynReceived && !c.FromCookie && c.Listener is { } half && half.Settings.SynCookies
            && seg.Ack && !seg.Syn && !seg.Rst
            && Secrets.TryValidateCookie(local, remote, seg.SequenceNumber - 1, seg.AckNumber - 1, now, out _))
        {
            // The peer completed the handshake with the SYN cookie we sent for its first SYN (the SYN queue was full);
            // a retransmitted SYN then found room and made this half-open entry with another ISN. The cookie wins:
            // the half-open entry goes (back to LISTEN, RFC 9293 §3.10.7.4) and the cookie opens the connection.
            c.Terminate(TcpError.None);
            _connections.Remove(Key(local, remote));
            c = null;
        }
        if (c is not null)
        {
            var before = c.Observable;
            c.TouchKeepalive(now);
            c.Process(seg, now);
            Schedule(c);
            FlushOrDefer(now);
            if (c.Observable != before) ConnectionChanged?.Invoke(c);
            return TransportVerdict.Delivered;
        }
        if (FindListener(local) is { } listener)
        {
            ToListener(listener, seg, local, remote, now);
            FlushOrDefer(now);
            return TransportVerdict.Delivered;
        }
        Stats.NoConnection++;
        ReplyRst(seg, local, remote, now);
        return TransportVerdict.Dropped;
    }

    private TcpListenSocket? FindListener(IpEndpoint local)
    {
        if (_listeners.TryGetValue(local, out var l)) return l;
        return _wildcardListeners.TryGetValue(local.Port, out l) ? l : null;
    }

    /// <summary>RFC 9293 §3.10.7.2: a segment for a LISTEN socket.</summary>
    private void ToListener(TcpListenSocket listener, in TcpSegment seg, IpEndpoint local, IpEndpoint remote, Instant now)
    {
        if (seg.Rst) return; // an incoming RST in LISTEN is ignored
        if (seg.Ack)
        {
            // Possibly the third segment of a handshake answered with a SYN cookie (RFC 4987 §3.6).
            if (!seg.Syn && listener.Settings.SynCookies
                && Secrets.TryValidateCookie(local, remote, seg.SequenceNumber - 1, seg.AckNumber - 1, now, out ushort mss))
            {
                if (listener.AcceptQueueFull || _connections.Count >= Settings.MaxConnections)
                {
                    CookieOverflow(listener, seg, local, remote, mss, now);
                    return;
                }
                Stats.SynCookiesAccepted++;
                var cc = new TcpConnection(this, listener.Settings, local, remote) { Listener = listener };
                _connections[Key(local, remote)] = cc;
                cc.InTable = true;
                Stats.PassiveOpens++;
                cc.StartFromCookie(seg, seg.ToRepr(), mss, now);
                if (seg.Payload.Length > 0 || seg.Fin) cc.Process(seg, now);
                Schedule(cc);
                return;
            }
            if (!seg.Syn && listener.Settings.SynCookies) Stats.SynCookiesRejected++;
            ReplyRst(seg, local, remote, now); // any ACK in LISTEN: <SEQ=SEG.ACK><CTL=RST>
            return;
        }
        if (!seg.Syn) return;
        // The listener's SYN budget (RFC 4987 §3.2): beyond it a SYN is dropped here, before any SYN,ACK, cookie or state.
        // A source that completed a handshake lately takes from a budget of its own, which SYNs from spoofed sources
        // (that never complete one) cannot use up (RFC 4987 §3).
        bool proven = IsProven(remote.Address, now);
        if (proven) Stats.ProvenPeerSyns++;
        if (!listener.TryTakeSyn(now, proven)) { Stats.SynDroppedRateLimited++; return; }

        // A full accept queue refuses new handshakes whether or not cookies are on (Linux's tcp_conn_request drops the SYN
        // when sk_acceptq_is_full): a SYN,ACK now would let the client believe in a connection that cannot be queued. The
        // client retransmits its SYN (RFC 9293 §3.8.3) and gets in once the application has accepted.
        if (listener.AcceptQueueFull) { Stats.SynDroppedAcceptQueueFull++; return; }
        // Load-based shedding (RFC 4987 §3): while the loop is behind its device, only a budget of SYNs per poll is
        // answered; the rest are dropped here (counted DropReason.TcpSynShed by the stack) so that established
        // connections' segments queued behind a flood are reached sooner. The client retransmits (RFC 9293 §3.8.3).
        if (!_ip.TryTakeSynWork(remote.Address, proven)) return;
        var repr = seg.ToRepr();
        if (listener.SynQueueFull || _connections.Count >= Settings.MaxConnections)
        {
            if (!listener.Settings.SynCookies || _connections.Count >= Settings.MaxConnections) { Stats.SynDropped++; return; }
            // RFC 4987 §3.6: answer without keeping state; the sequence number encodes what we need.
            int peerMss = repr.Mss ?? (remote.Address.IsV4 ? 536 : 1220);
            int idx = TcpSecrets.CookieMssIndex(Math.Min(peerMss, (int)PathMss(remote.Address)));
            var cookie = Secrets.Cookie(local, remote, seg.SequenceNumber, idx, now);
            var settings = listener.Settings;
            var synAck = new TcpRepr
            {
                SourcePort = local.Port,
                DestinationPort = remote.Port,
                SequenceNumber = cookie,
                AckNumber = seg.SequenceNumber + 1,
                Flags = TcpFlags.Syn | TcpFlags.Ack,
                Window = TcpConnection.CookieWindow(settings),
                Mss = TcpSecrets.CookieMss[idx],
            };
            // Options need state, which a cookie does not keep: like Linux, keep the window shift and SACK permission in
            // the low bits of our TSval when the SYN offered timestamps (the ACK echoes it); without timestamps, none.
            if (settings.Timestamps && repr.Timestamps is { } peerTs)
            {
                byte? peerShift = settings.WindowScaling ? repr.WindowScale : null;
                bool sack = settings.Sack && repr.SackPermitted;
                synAck.Timestamps = new TcpTimestamps(TcpSecrets.CookieTimestamp(Secrets.TimestampNow(local, remote, now), peerShift, sack), peerTs.Value);
                if (peerShift.HasValue) synAck.WindowScale = TcpConnection.ReceiveWindowShift(settings);
                synAck.SackPermitted = sack;
            }
            SendRepr(synAck, local.Address, remote.Address, now, settings);
            Stats.SynCookiesSent++;
            return;
        }
        var c = new TcpConnection(this, listener.Settings, local, remote) { Listener = listener, HalfOpenCounted = true };
        listener.HalfOpen++;
        _connections[Key(local, remote)] = c;
        c.InTable = true;
        Stats.PassiveOpens++;
        c.StartFromSyn(seg, repr, Secrets.InitialSequence(local, remote, now), now);
        Schedule(c);
    }

    /// <summary>
    /// A valid cookie ACK (RFC 4987 §3.6) that finds the accept queue (or the connection table) full. The client has
    /// completed its handshake and believes it is connected, and a cookie kept no state to retransmit, so silence would
    /// leave it believing that for good (a client that waits for the server to speak never sends again). Without
    /// <see cref="TcpSettings.AbortOnOverflow"/>, the handshake is kept as a half-open connection while the SYN queue has
    /// room, as if the SYN had found room: it retransmits its SYN,ACK and completes on the client's next ACK once the
    /// accept queue has room, or resets the client when its retransmissions run out. With no room for that: a segment
    /// with data or FIN is dropped (the client retransmits it, and the cookie is checked again then; once the cookie has
    /// expired the answer is a RST), a bare ACK (never retransmitted) is answered with RST.
    /// </summary>
    private void CookieOverflow(TcpListenSocket listener, in TcpSegment seg, IpEndpoint local, IpEndpoint remote, ushort mss, Instant now)
    {
        Stats.AcceptQueueOverflows++;
        bool abort = listener.Settings.AbortOnOverflow;
        if (!abort && !listener.SynQueueFull && _connections.Count < Settings.MaxConnections)
        {
            var c = new TcpConnection(this, listener.Settings, local, remote) { Listener = listener, HalfOpenCounted = true, FromCookie = true };
            listener.HalfOpen++;
            _connections[Key(local, remote)] = c;
            c.InTable = true;
            Stats.PassiveOpens++;
            c.StartHalfOpenFromCookie(seg, seg.ToRepr(), mss, now);
            Schedule(c);
            return;
        }
        if (abort || (seg.Payload.Length == 0 && !seg.Fin))
        {
            Stats.AcceptQueueOverflowResets++;
            ReplyRst(seg, local, remote, now); // <SEQ=SEG.ACK><CTL=RST>: SEG.ACK is the client's RCV.NXT
        }
    }

    /// <summary>RFC 9293 §3.10.7.1: the reply to a segment for no connection (never to a RST).</summary>
    private void ReplyRst(in TcpSegment seg, IpEndpoint local, IpEndpoint remote, Instant now)
    {
        if (seg.Rst) return;
        var repr = new TcpRepr { SourcePort = local.Port, DestinationPort = remote.Port };
        if (seg.Ack)
        {
            repr.SequenceNumber = seg.AckNumber;        // <SEQ=SEG.ACK><CTL=RST>
            repr.Flags = TcpFlags.Rst;
        }
        else
        {
            repr.SequenceNumber = default;              // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
            repr.AckNumber = seg.SequenceNumber + seg.SegmentLength;
            repr.Flags = TcpFlags.Rst | TcpFlags.Ack;
        }
        SendRepr(repr, local.Address, remote.Address, now);
        Stats.ResetsSent++;
    }

    /// <summary>Passes a connection's reachability advice to the IP layer (RFC 9293 §3.8.3 MUST-20, RFC 4861 §7.3.1).</summary>
    internal void ReachabilityAdvice(IpAddress remote, bool forwardProgress, Instant now) =>
        _ip.ReachabilityAdvice(remote, forwardProgress, now);

    private void SendRepr(in TcpRepr repr, IpAddress source, IpAddress destination, Instant now, TcpSettings? settings = null)
    {
        int n = repr.Write(_scratch, default, source, destination);
        Output(source, destination, _scratch.AsSpan(0, n), now, (byte)((settings?.TrafficClass ?? 0) & 0xFC), settings?.HopLimit ?? 0);
    }

    /// <inheritdoc/>
    public void ReceiveIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now)
    {
        Stats.IcmpErrors++;
        if (quotedTransport.Length < 8) return;
        ushort sport = BinaryPrimitives.ReadUInt16BigEndian(quotedTransport);
        ushort dport = BinaryPrimitives.ReadUInt16BigEndian(quotedTransport[2..]);
        var seq = new SeqNumber(BinaryPrimitives.ReadUInt32BigEndian(quotedTransport[4..]));
        if (!_connections.TryGetValue(new FourTuple(error.OriginalSource, sport, error.OriginalDestination, dport), out var c)) return;
        bool v4 = error.Version == IpVersion.V4;
        // RFC 5927 §4.1: only believe errors quoting a sequence number in flight.
        if (!c.IsSequenceInFlight(seq)) return;
        if ((v4 && error.Type == 3 && error.Code == 4) || (!v4 && error.Type == 2))
        {
            // RFC 1191 §6.5 / RFC 8201 §4: a smaller path MTU.
            int ipHeader = v4 ? 20 : 40;
            int payload = Math.Min((int)Math.Min(error.Parameter, 65535u) - ipHeader, _ip.MaxTransportPayload(error.OriginalDestination));
            c.OnPathMtu(payload);
            Schedule(c);
            FlushOrDefer(now);
            return;
        }
        // RFC 1122 §4.2.3.9: unreachable protocol/port are hard errors; abort a connection still opening (RFC 5461).
        bool hard = (v4 && error.Type == 3 && error.Code is 2 or 3) || (!v4 && error.Type == 1 && error.Code == 4);
        if (hard && c.State == TcpState.SynSent)
        {
            c.Terminate(TcpError.Unreachable);
            ConnectionChanged?.Invoke(c);
            return;
        }
        // RFC 9293 §3.9.2.2: the others are soft: never abort (MUST-56), tell the application (MUST-47, SHLD-25).
        var kind = (v4, error.Type) switch
        {
            (true, 3) or (false, 1) => TcpSoftErrorKind.Unreachable,
            (true, 11) or (false, 3) => TcpSoftErrorKind.TimeExceeded,
            (true, 12) or (false, 4) => TcpSoftErrorKind.ParameterProblem,
            _ => TcpSoftErrorKind.None,
        };
        if (kind == TcpSoftErrorKind.None) return;
        c.NoteSoftError(new TcpSoftError(kind, error.Reporter, error.Type, error.Code, now));
        ConnectionChanged?.Invoke(c);
    }

    /// <summary>Fires due timers and sends queued output. Returns the next deadline.</summary>
    public Instant Poll(Instant now)
    {
        _timerScratch.Clear();
        // Only the heap's due entries are looked at: O(due · log n) per call, not O(connections).
        while (_timers.TryPeek(out var c, out var at) && at <= now)
        {
            _timers.Dequeue();
            TimerEntriesExamined++;
            if (at != c.ScheduledDeadline || !c.InTable) continue;   // superseded by an earlier entry, or gone
            c.ScheduledDeadline = Instant.MaxValue;
            if (c.NextDeadline <= now) _timerScratch.Add(c);
            else Schedule(c);                                          // its timers moved later: queue it again
        }
        foreach (var c in _timerScratch)
        {
            var before = c.Observable;
            c.OnTimers(now);
            if (c.State != TcpState.Closed) MarkDirty(c);
            if (c.Observable != before) ConnectionChanged?.Invoke(c);
            Schedule(c);
        }
        Flush(now);
        return NextDeadline;
    }

    /// <summary>The earliest timer of any connection; "now" (<see cref="Instant.Zero"/>) when output is queued.</summary>
    public Instant NextDeadline
    {
        get
        {
            if (_dirty.Count > 0) return Instant.Zero;
            // The answer is exact: superseded entries on top are dropped, and a top entry whose connection's timers
            // moved is re-queued at its real deadline.
            while (_timers.TryPeek(out var c, out var at))
            {
                if (at != c.ScheduledDeadline || !c.InTable) { _timers.Dequeue(); continue; }
                if (c.NextDeadline == at) return at;
                _timers.Dequeue();                  // moved (later, or earlier without a Schedule): queue it where it is
                c.ScheduledDeadline = Instant.MaxValue;
                Schedule(c);
            }
            return Instant.MaxValue;
        }
    }

    /// <summary>Connections with an entry in the timer heap (entries, counting superseded ones): for tests and benchmarks.</summary>
    internal int TimerHeapCount => _timers.Count;

    /// <summary>Timer heap entries Poll has taken out (due or superseded): what the timers cost, for tests and benchmarks.</summary>
    internal long TimerEntriesExamined { get; private set; }

    /// <summary>Puts <paramref name="c"/>'s next deadline in the timer heap if it is earlier than the one already there.</summary>
    internal void Schedule(TcpConnection c)
    {
        if (!c.InTable) return;
        var d = c.NextDeadline;
        if (d >= c.ScheduledDeadline) return;
        c.ScheduledDeadline = d;
        _timers.Enqueue(c, d);
        // Superseded entries are dropped as they come up; should they pile up (deadlines moved earlier again and again),
        // rebuild the heap from the live connections so that it stays O(connections).
        if (_timers.Count > 4 * _connections.Count + 64) RebuildTimers();
    }

    private void RebuildTimers()
    {
        _timers.Clear();
        foreach (var c in _connections.Values)
        {
            c.ScheduledDeadline = c.NextDeadline;
            if (c.ScheduledDeadline != Instant.MaxValue) _timers.Enqueue(c, c.ScheduledDeadline);
        }
    }

    internal void MarkDirty(TcpConnection c)
    {
        if (c.IsDirty) return;
        c.IsDirty = true;
        _dirty.Add(c);
    }

    /// <summary>
    /// Output made due by a received segment or ICMP error: inside the stack's ingress pass it waits for the egress pass
    /// (<see cref="IIpLayer.DeferToEgress"/>: no device is called from inside IP's receive call, and the segments are built
    /// straight into their buffers rather than copied into the egress queue); over a bare <see cref="IIpLayer"/> it goes now.
    /// </summary>
    private void FlushOrDefer(Instant now)
    {
        if (_dirty.Count == 0) return;
        if (_ip.DeferToEgress(this)) return;
        Flush(now);
    }

    void IEgressParticipant.Egress(Instant now) => Flush(now);

    private void Flush(Instant now)
    {
        for (int i = 0; i < _dirty.Count; i++)
        {
            var c = _dirty[i];
            c.IsDirty = false;
            var before = c.Observable;
            c.Transmit(now);
            Schedule(c);
            if (c.Observable != before) ConnectionChanged?.Invoke(c);
        }
        _dirty.Clear();
    }

    internal void OnClosed(TcpConnection c)
    {
        if (c.HalfOpenCounted)
        {
            c.HalfOpenCounted = false;
            c.Listener?.OnHalfOpenClosed();
        }
        if (c.InTable)
        {
            _connections.Remove(Key(c.Local, c.Remote));
            c.InTable = false;
        }
    }

    internal void Forget(TcpConnection c) => OnClosed(c);

    internal void RemoveListener(TcpListenSocket l)
    {
        if (l.Local.Address.IsUnspecified) _wildcardListeners.Remove(l.Local.Port);
        else _listeners.Remove(l.Local);
    }

    internal void NotifyListener(TcpListenSocket l) => ListenerReady?.Invoke(l);


    /// <summary>
    /// Hands a segment to IP. <paramref name="partialChecksum"/>: its checksum holds the pseudo-header sum only;
    /// <paramref name="segmentSize"/> &gt; 0: a super-segment of <paramref name="segments"/> segments of that many payload
    /// bytes (the last may be shorter), counted as that many segments sent.
    /// </summary>
    internal void Output(IpAddress source, IpAddress destination, ReadOnlySpan<byte> segment, Instant now, byte trafficClass = 0, byte hopLimit = 0,
        bool partialChecksum = false, int segmentSize = 0, int segments = 1) =>
        Output(source, destination, null, 0, segment, now, trafficClass, hopLimit, partialChecksum, segmentSize, segments);

    /// <summary>
    /// <see cref="Output(IpAddress, IpAddress, ReadOnlySpan{byte}, Instant, byte, byte, bool, int, int)"/> of a segment built
    /// at <paramref name="frame"/>[<paramref name="offset"/>..+<paramref name="length"/>] with
    /// <see cref="IpSendBuffers.TransportHeadroom"/> free in front: IP writes its header there (<see cref="IIpLayer.SendInPlace"/>).
    /// </summary>
    internal void Output(IpAddress source, IpAddress destination, byte[] frame, int offset, int length, Instant now, byte trafficClass = 0,
        byte hopLimit = 0, bool partialChecksum = false, int segmentSize = 0, int segments = 1) =>
        Output(source, destination, frame, offset, frame.AsSpan(offset, length), now, trafficClass, hopLimit, partialChecksum, segmentSize, segments);

    private void Output(IpAddress source, IpAddress destination, byte[]? frame, int offset, ReadOnlySpan<byte> segment, Instant now,
        byte trafficClass, byte hopLimit, bool partialChecksum, int segmentSize, int segments)
    {
        Stats.SegmentsSent += segments;
        if (segments > 1) Stats.SuperSegmentsSent++;
        if (destination.IsV4) Stats.Ipv4SegmentsSent += segments; else Stats.Ipv6SegmentsSent += segments;
        // RFC 9293 §3.7.2 / RFC 1191: over IPv4, segments carry DF so that path MTU discovery works (as Linux does);
        // a "fragmentation needed" answer lowers the MSS in ReceiveIcmpError. RFC 9293 §3.9.1.9 / §3.9.2: the
        // connection's DSCP (MUST-48) and TTL (MUST-49).
        var options = new IpSendOptions(ttl: hopLimit, trafficClass: trafficClass, dontFragment: destination.IsV4)
        {
            PartialChecksum = partialChecksum,
            SegmentSize = segmentSize,
        };
        var result = frame is null
            ? _ip.Send(source, destination, IpProtocol.Tcp, segment, options, now)
            : _ip.SendInPlace(source, destination, IpProtocol.Tcp, frame, offset, segment.Length, options, now);
        if (result != IpSendResult.Sent) Stats.SendFailures++;
    }

    /// <summary>What the network layer takes toward <paramref name="remote"/>: partial checksums, super-segments.</summary>
    internal TransmitOffloadSupport TransmitOffloads(IpAddress remote) => _ip.TransmitOffloads(remote);

    /// <summary>Our MSS toward <paramref name="remote"/>: the largest unfragmented transport payload minus the TCP header.</summary>
    internal ushort PathMss(IpAddress remote) =>
        (ushort)Math.Clamp(_ip.MaxTransportPayload(remote) - TcpSegment.HeaderLength, 64, 65535 - 60);

    internal bool TryTakeChallengeAck(Instant now)
    {
        if (now.Microseconds - _challengeWindowStart.Microseconds >= 1_000_000)
        {
            _challengeWindowStart = now;
            _challengeCount = 0;
        }
        if (_challengeCount >= Settings.ChallengeAckLimit) { Stats.ChallengeAcksSuppressed++; return false; }
        _challengeCount++;
        return true;
    }

    private static FourTuple Key(IpEndpoint local, IpEndpoint remote) => new(local.Address, local.Port, remote.Address, remote.Port);

    private readonly record struct FourTuple(IpAddress LocalAddress, ushort LocalPort, IpAddress RemoteAddress, ushort RemotePort);
}
