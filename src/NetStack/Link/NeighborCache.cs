using System.Buffers;
using NetStack.Wire;

namespace NetStack.Link;

/// <summary>Neighbour-unreachability-detection states (RFC 4861 §7.3.2). ARP entries use the same machine, as Linux does.</summary>
internal enum NeighborState
{
    /// <summary>Resolution in progress: solicitations sent, no link-layer address yet.</summary>
    Incomplete,
    /// <summary>Positively confirmed within the reachable time.</summary>
    Reachable,
    /// <summary>Address known but not confirmed lately; nothing is sent until traffic needs it.</summary>
    Stale,
    /// <summary>Traffic was sent to a stale entry; waiting a short while for upper-layer confirmation before probing.</summary>
    Delay,
    /// <summary>Unicast solicitations being sent to confirm reachability.</summary>
    Probe,
    /// <summary>
    /// RFC 7048 §3: a neighbour whose unicast probes went unanswered. Packets still go to its link-layer address while
    /// solicitations back off exponentially; the entry goes after MAX_MULTICAST_SOLICIT of them. Routers in this state
    /// are not (probably) reachable for default router selection.
    /// </summary>
    Unreachable,
}

/// <summary>Limits and timers of a neighbour cache (RFC 4861 §10 constants as defaults).</summary>
public sealed class NeighborCacheOptions
{
    /// <summary>
    /// Entries per interface. When full, a new entry evicts one in this order, least recently used first within each
    /// class (RFC 6583 §7: unresolved entries must not push out entries in use): an INCOMPLETE entry whose first
    /// solicitation went unanswered; a STALE entry never confirmed reachable; any resolved entry idle for longer than
    /// <see cref="BaseReachableTime"/>. Else the new one is refused (counted <see cref="DropReason.NeighborCacheFull"/>).
    /// </summary>
    public int MaxEntries { get; init; } = 512;

    /// <summary>
    /// At most this many INCOMPLETE entries at once (RFC 6583 §7.1: a budget for unresolved entries, so that a flood
    /// towards or from spoofed on-link addresses cannot fill the table). Beyond it, the oldest unresolved entry whose
    /// first solicitation went unanswered is replaced, else the new resolution is refused (counted).
    /// </summary>
    public int MaxUnresolved { get; init; } = 64;

    /// <summary>
    /// Multicast (broadcast, for ARP) solicitations per second for unresolved entries, a token bucket of
    /// <see cref="SolicitBurst"/> (RFC 6583 §7.1.2: rate-limit the creation of unresolved entries and the solicitations
    /// sent). A new unresolved entry needs a token; a retransmission without one is skipped (counted
    /// <see cref="DropReason.NeighborRateLimited"/>). Unicast probes of known neighbours (RFC 4861 §7.3.3) are not limited:
    /// they are bounded by the table and keep neighbours in use reachable during a flood.
    /// </summary>
    public int SolicitsPerSecond { get; init; } = 100;

    /// <summary>Bucket depth for <see cref="SolicitsPerSecond"/>.</summary>
    public int SolicitBurst { get; init; } = 100;

    /// <summary>
    /// Bounds on a RetransTimer learned from a Router Advertisement (RFC 4861 §6.3.4). Linux (net/ipv6/ndisc.c,
    /// ndisc_router_discovery) raises values under 10 ms to 10 ms (HZ/100) and has no upper bound but jiffies overflow;
    /// RFC 4861 gives none either, so values above RFC 7048 §3 MAX_RETRANS_TIMER (60 s) are ignored as bogus (one RA
    /// with 0xFFFFFFFF ms would otherwise hold unresolved entries for 49 days).
    /// </summary>
    public TimeSpan MinLearnedRetransTimer { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <inheritdoc cref="MinLearnedRetransTimer"/>
    public TimeSpan MaxLearnedRetransTimer { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Bounds on a Reachable Time learned from a Router Advertisement: Linux raises values under 100 ms (HZ/10) to
    /// 100 ms; RFC 4861 §6.2.1 / §10 MAX_REACHABLE_TIME is 3,600,000 ms (1 hour), and larger values are ignored.
    /// </summary>
    public TimeSpan MinLearnedReachableTime { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <inheritdoc cref="MinLearnedReachableTime"/>
    public TimeSpan MaxLearnedReachableTime { get; init; } = TimeSpan.FromMilliseconds(3_600_000);
    /// <summary>Packets held per unresolved neighbour (RFC 4861 §7.2.2 asks for at least one); more are counted drops.</summary>
    public int MaxQueuedPackets { get; init; } = 8;

    /// <summary>
    /// Bytes held for all unresolved neighbours of the interface together (Linux bounds each neighbour's queue by
    /// unres_qlen_bytes, 212,992 by default; one per-interface total here, so that <see cref="MaxUnresolved"/> entries
    /// cannot each hold a full queue). Beyond it, new packets are counted drops (<see cref="DropReason.NeighborQueueFull"/>).
    /// </summary>
    public int MaxQueuedBytes { get; init; } = 256 * 1024;
    /// <summary>BASE_REACHABLE_TIME; the actual ReachableTime is drawn uniformly from 0.5 to 1.5 times it (RFC 4861 §6.3.2).</summary>
    public TimeSpan BaseReachableTime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>RETRANS_TIMER: between solicitations.</summary>
    public TimeSpan RetransTimer { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>DELAY_FIRST_PROBE_TIME.</summary>
    public TimeSpan DelayFirstProbeTime { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>MAX_MULTICAST_SOLICIT (broadcast ARP requests for ARP).</summary>
    public int MaxMulticastSolicit { get; init; } = 3;
    /// <summary>MAX_UNICAST_SOLICIT.</summary>
    public int MaxUnicastSolicit { get; init; } = 3;

    /// <summary>
    /// Each retransmission of a solicitation waits this many times longer than the previous one (RFC 7048 §3
    /// BACKOFF_MULTIPLE, e.g. 2: 1 s, 2 s, 4 s ...), up to <see cref="MaxRetransTimer"/>. 1 (the default) keeps RFC 4861's
    /// fixed RETRANS_TIMER. ARP defaults to 2 (see <c>Ipv4Settings.Arp</c>).
    /// </summary>
    public int RetransBackoffMultiple { get; init; } = 1;

    /// <summary>The longest wait between solicitations under back-off (RFC 7048 §3 MAX_RETRANS_TIMER: 60 s).</summary>
    public TimeSpan MaxRetransTimer { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>What a neighbour cache asks of its family (ARP or NDP) when timers or updates fire.</summary>
internal interface INeighborSink<TAddress>
{
    /// <summary>Send a solicitation (ARP request / Neighbor Solicitation) for <paramref name="target"/>:
    /// to the broadcast / solicited-node group when <paramref name="unicastTo"/> is null, else unicast to that MAC.</summary>
    void Solicit(TAddress target, MacAddress? unicastTo, Instant now);

    /// <summary>Transmit a packet that waited for resolution, now that <paramref name="mac"/> is known.</summary>
    void SendQueued(TAddress target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now);

    /// <summary>Resolution failed: a waiting packet is dropped (IPv6 answers it with Address Unreachable, RFC 4861 §7.2.2).</summary>
    void ResolutionFailed(TAddress target, ReadOnlySpan<byte> packet, Instant now);
}

/// <summary>The outcome of <see cref="NeighborCache{TAddress}.Resolve"/>.</summary>
internal enum NeighborLookup
{
    /// <summary>The MAC is known: send now.</summary>
    Known,
    /// <summary>Not known yet; queue the packet with <see cref="NeighborCache{TAddress}.Enqueue"/>.</summary>
    Pending,
    /// <summary>The cache is full of entries that cannot be evicted; the packet is dropped (counted).</summary>
    CacheFull,
}

/// <summary>
/// One interface's neighbour cache for one family: the RFC 4861 §7.3 state machine, bounded in entries and in
/// packets waiting per entry. Pure: it takes <c>now</c>, and it acts only through its <see cref="INeighborSink{TAddress}"/>.
/// ARP uses it too: an ARP reply is a solicited, overriding advertisement, and a request addressed to us is
/// unsolicited information about its sender (RFC 826 merge), exactly how Linux shares one neighbour subsystem.
/// </summary>
internal sealed class NeighborCache<TAddress> where TAddress : struct, IEquatable<TAddress>
{
    private sealed class Entry
    {
        public NeighborState State;
        public MacAddress Mac;
        public bool HasMac;
        public bool IsRouter;
        /// <summary>Was confirmed reachable at least once (RFC 6583 §7: kept over new unresolved entries).</summary>
        public bool Confirmed;
        public Instant Deadline = Instant.MaxValue;
        public Instant LastUsed;
        public int ProbesSent;
        public readonly Queue<(byte[] Buffer, int Length, EtherType Type)> Waiting = new();
    }

    private readonly Dictionary<TAddress, Entry> _entries = [];
    private readonly NeighborCacheOptions _options;
    private readonly INeighborSink<TAddress> _sink;
    private readonly StackStatistics _stats;
    private readonly IRandomSource _random;
    private TimeSpan _reachableTime;
    private readonly TimeSpan _minRetransInterval;
    private Instant _nextDeadline = Instant.MaxValue;
    private readonly List<TAddress> _scratch = [];
    private double _solicitTokens;
    private long _queuedBytes;
    private Instant _solicitRefilled;

    /// <param name="options">Limits and timers.</param>
    /// <param name="sink">Where solicitations and released packets go.</param>
    /// <param name="stats">Drop counters.</param>
    /// <param name="random">For ReachableTime's random factor.</param>
    /// <param name="minRetransInterval">A floor under the wait between solicitations for one neighbour, whatever the
    /// options say (ARP: 1 s, RFC 1122 §2.3.2.1 "a mechanism to prevent ARP flooding").</param>
    public NeighborCache(NeighborCacheOptions options, INeighborSink<TAddress> sink, StackStatistics stats, IRandomSource random,
        TimeSpan minRetransInterval = default)
    {
        _options = options;
        _minRetransInterval = minRetransInterval;
        _sink = sink;
        _stats = stats;
        _random = random;
        BaseReachableTime = options.BaseReachableTime;
        RetransTimer = options.RetransTimer;
        _solicitTokens = options.SolicitBurst;
        _solicitRefilled = Instant.Zero;
    }

    /// <summary>
    /// A Router Advertisement's Retrans Timer (milliseconds, 0 = unspecified), RFC 4861 §6.3.4, within
    /// <see cref="NeighborCacheOptions.MinLearnedRetransTimer"/> / <see cref="NeighborCacheOptions.MaxLearnedRetransTimer"/>:
    /// raised to the floor, ignored above the ceiling. Returns false when the value was ignored.
    /// </summary>
    public bool TrySetRetransTimerFromWire(uint milliseconds)
    {
        if (milliseconds == 0) return true;
        var t = TimeSpan.FromMilliseconds(milliseconds);
        if (t > _options.MaxLearnedRetransTimer) return false;
        if (t < _options.MinLearnedRetransTimer) t = _options.MinLearnedRetransTimer;
        RetransTimer = t;
        return true;
    }

    /// <summary>
    /// A Router Advertisement's Reachable Time (milliseconds, 0 = unspecified), RFC 4861 §6.3.4: a new value draws a
    /// new ReachableTime; bounded like <see cref="TrySetRetransTimerFromWire"/>. Returns false when ignored.
    /// </summary>
    public bool TrySetBaseReachableTimeFromWire(uint milliseconds)
    {
        if (milliseconds == 0) return true;
        var t = TimeSpan.FromMilliseconds(milliseconds);
        if (t > _options.MaxLearnedReachableTime) return false;
        if (t < _options.MinLearnedReachableTime) t = _options.MinLearnedReachableTime;
        if (t != BaseReachableTime) BaseReachableTime = t;
        return true;
    }

    public int Count => _entries.Count;

    /// <summary>Bytes waiting for resolution on this interface (bounded by <see cref="NeighborCacheOptions.MaxQueuedBytes"/>).</summary>
    public long QueuedBytes => _queuedBytes;

    /// <summary>RETRANS_TIMER in force (a router advertisement may change it, RFC 4861 §6.3.4).</summary>
    public TimeSpan RetransTimer { get; set; }

    /// <summary>BaseReachableTime in force; setting it draws a new ReachableTime (RFC 4861 §6.3.4).</summary>
    public TimeSpan BaseReachableTime
    {
        get;
        set
        {
            field = value;
            // RFC 4861 §6.3.2: uniformly distributed between MIN_RANDOM_FACTOR (0.5) and MAX_RANDOM_FACTOR (1.5).
            _reachableTime = TimeSpan.FromTicks((long)(value.Ticks * (0.5 + _random.NextDouble())));
        }
    }

    public TimeSpan ReachableTime => _reachableTime;

    /// <summary>The current state of a neighbour, for tests and diagnostics.</summary>
    public bool TryGetState(TAddress address, out NeighborState state, out MacAddress mac)
    {
        if (_entries.TryGetValue(address, out var e))
        {
            state = e.State;
            mac = e.Mac;
            return true;
        }
        state = default;
        mac = default;
        return false;
    }

    public bool IsRouter(TAddress address) => _entries.TryGetValue(address, out var e) && e.IsRouter;

    /// <summary>
    /// Next-hop lookup for sending (RFC 4861 §7.3.3): a known entry gives its MAC (a STALE one moves to DELAY);
    /// an unknown neighbour gets an INCOMPLETE entry and a first solicitation, and the caller queues the packet.
    /// </summary>
    public NeighborLookup Resolve(TAddress address, Instant now, out MacAddress mac)
    {
        mac = default;
        if (_entries.TryGetValue(address, out var e))
        {
            e.LastUsed = now;
            if (!e.HasMac) return NeighborLookup.Pending;
            mac = e.Mac;
            if (e.State == NeighborState.Stale)
            {
                e.State = NeighborState.Delay;
                SetDeadline(e, now + _options.DelayFirstProbeTime);
            }
            return NeighborLookup.Known;
        }
        if (!TryCreateUnresolvedSlot(now))
        {
            _stats.Drop(DropReason.NeighborRateLimited);
            return NeighborLookup.CacheFull;
        }
        e = TryCreate(address, now, unresolved: true);
        if (e is null) return NeighborLookup.CacheFull;
        TakeSolicitToken(now);
        e.State = NeighborState.Incomplete;
        e.ProbesSent = 1;
        SetDeadline(e, now + RetransInterval(1));
        _sink.Solicit(address, null, now);
        return NeighborLookup.Pending;
    }

    /// <summary>Holds a copy of a packet for a neighbour being resolved; false (and counted) when its queue is full.</summary>
    public bool Enqueue(TAddress address, EtherType etherType, ReadOnlySpan<byte> packet)
    {
        if (!_entries.TryGetValue(address, out var e) || e.HasMac)
        {
            return false;
        }
        if (e.Waiting.Count >= _options.MaxQueuedPackets || _queuedBytes + packet.Length > _options.MaxQueuedBytes)
        {
            _stats.Drop(DropReason.NeighborQueueFull);
            return false;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(buffer);
        e.Waiting.Enqueue((buffer, packet.Length, etherType));
        _queuedBytes += packet.Length;
        return true;
    }

    /// <summary>
    /// A solicited or unsolicited advertisement (NA, or ARP reply) with the RFC 4861 §7.2.5 flags.
    /// <paramref name="mac"/> is null when the advertisement carried no target link-layer address.
    /// </summary>
    public void Advertise(TAddress address, MacAddress? mac, bool solicited, bool overrideFlag, bool? isRouter, Instant now)
    {
        if (!_entries.TryGetValue(address, out var e))
        {
            // §7.2.5: no entry -> the advertisement SHOULD be silently discarded.
            return;
        }
        if (e.State == NeighborState.Incomplete)
        {
            if (mac is null) return; // §7.2.5: no TLLA -> discard
            e.Mac = mac.Value;
            e.HasMac = true;
            if (solicited) MakeReachable(e, now);
            else { e.State = NeighborState.Stale; SetDeadline(e, Instant.MaxValue); }
            if (isRouter.HasValue) e.IsRouter = isRouter.Value;
            Flush(address, e, now);
            return;
        }
        bool differs = mac.HasValue && mac.Value != e.Mac;
        if (!overrideFlag && differs)
        {
            // §7.2.5: O=0 and a different address: a REACHABLE entry becomes STALE, the address is not updated.
            if (e.State == NeighborState.Reachable) { e.State = NeighborState.Stale; SetDeadline(e, Instant.MaxValue); }
            return;
        }
        if (mac.HasValue) e.Mac = mac.Value;
        if (solicited) MakeReachable(e, now);
        else if (differs) { e.State = NeighborState.Stale; SetDeadline(e, Instant.MaxValue); }
        if (isRouter.HasValue) e.IsRouter = isRouter.Value;
    }

    /// <summary>
    /// Unsolicited information about a neighbour's link-layer address (source link-layer option of an NS,
    /// RS, RA or Redirect; an ARP request addressed to us): RFC 4861 §7.2.3 / §6.3.4 / §8.3.
    /// <paramref name="create"/> false for ARP packets not addressed to us (RFC 826: update only, never create).
    /// </summary>
    public void Learn(TAddress address, MacAddress mac, Instant now, bool create = true, bool? isRouter = null)
    {
        if (!_entries.TryGetValue(address, out var e))
        {
            if (!create) return;
            e = TryCreate(address, now, unresolved: false);
            if (e is null) return;
            e.Mac = mac;
            e.HasMac = true;
            e.State = NeighborState.Stale;
            if (isRouter.HasValue) e.IsRouter = isRouter.Value;
            return;
        }
        if (isRouter.HasValue) e.IsRouter = isRouter.Value;
        if (!e.HasMac)
        {
            e.Mac = mac;
            e.HasMac = true;
            e.State = NeighborState.Stale;
            SetDeadline(e, Instant.MaxValue);
            Flush(address, e, now);
            return;
        }
        if (e.Mac != mac)
        {
            e.Mac = mac;
            e.State = NeighborState.Stale;
            SetDeadline(e, Instant.MaxValue);
        }
    }

    /// <summary>
    /// Sets the IsRouter flag of an existing entry without touching its state or address (RFC 4861 §6.3.4: a Router
    /// Advertisement sets it even when it carries no source link-layer address). No entry: nothing to do.
    /// </summary>
    public void MarkRouter(TAddress address, bool isRouter = true)
    {
        if (_entries.TryGetValue(address, out var e)) e.IsRouter = isRouter;
    }

    /// <summary>Forward progress reported by an upper layer (RFC 4861 §7.3.1), e.g. new TCP acknowledgments.</summary>
    public void ConfirmReachability(TAddress address, Instant now)
    {
        if (_entries.TryGetValue(address, out var e) && e.HasMac) MakeReachable(e, now);
    }

    /// <summary>
    /// Negative advice from an upper layer (RFC 1122 §3.3.1.4, RFC 9293 §3.8.3 MUST-20: its segments keep going
    /// unanswered): a REACHABLE entry becomes STALE, so the next packet starts unreachability detection (DELAY, then
    /// unicast probes) instead of being trusted for the rest of the reachable time.
    /// </summary>
    public void Suspect(TAddress address)
    {
        if (_entries.TryGetValue(address, out var e) && e.State == NeighborState.Reachable)
        {
            e.State = NeighborState.Stale;
            SetDeadline(e, Instant.MaxValue);
        }
    }

    /// <summary>Removes an entry (a router lost its lifetime, an address was reconfigured).</summary>
    public void Remove(TAddress address)
    {
        if (_entries.Remove(address, out var e)) DropQueue(e);
    }

    public Instant NextDeadline => _nextDeadline;

    /// <summary>Runs the timers due at <paramref name="now"/> and returns the next deadline.</summary>
    public Instant Poll(Instant now)
    {
        if (now < _nextDeadline) return _nextDeadline;
        _scratch.Clear();
        foreach (var (address, e) in _entries)
            if (e.Deadline <= now) _scratch.Add(address);
        foreach (var address in _scratch)
        {
            var e = _entries[address];
            switch (e.State)
            {
                case NeighborState.Incomplete:
                    if (e.ProbesSent >= _options.MaxMulticastSolicit) { Fail(address, e, now); continue; }
                    e.ProbesSent++;
                    e.Deadline = now + RetransInterval(e.ProbesSent);
                    if (TakeSolicitToken(now)) _sink.Solicit(address, null, now);
                    else _stats.Drop(DropReason.NeighborRateLimited);
                    break;
                case NeighborState.Reachable:
                    e.State = NeighborState.Stale;
                    e.Deadline = Instant.MaxValue;
                    break;
                case NeighborState.Delay:
                    e.State = NeighborState.Probe;
                    e.ProbesSent = 1;
                    e.Deadline = now + RetransInterval(1);
                    _sink.Solicit(address, e.Mac, now);
                    break;
                case NeighborState.Probe:
                    if (e.ProbesSent < _options.MaxUnicastSolicit)
                    {
                        e.ProbesSent++;
                        e.Deadline = now + RetransInterval(e.ProbesSent);
                        _sink.Solicit(address, e.Mac, now);
                        break;
                    }
                    // RFC 4861 §7.3.3 deletes the entry here. RFC 7048 §3: UNREACHABLE instead, packets still sent to
                    // the known address: the answers may merely be late (a loop that ran late on a loaded machine finds
                    // them queued behind a flood while the timer fires), and a deleted neighbour in use would have to
                    // win a new resolution against the flood's budget (RFC 6583 §7). Never-confirmed UNREACHABLE entries
                    // are the first evicted under pressure (EvictOne), so spoofed information cannot hold the table.
                    if (_options.MaxMulticastSolicit <= 0) { Fail(address, e, now); continue; }
                    e.State = NeighborState.Unreachable;
                    _stats.NeighborsUnreachable++;
                    e.ProbesSent = 1;
                    e.Deadline = now + UnreachableInterval(1);
                    SolicitUnreachable(address, e, now);
                    break;
                case NeighborState.Unreachable:
                    if (e.ProbesSent >= _options.MaxMulticastSolicit) { Fail(address, e, now); continue; }
                    e.ProbesSent++;
                    e.Deadline = now + UnreachableInterval(e.ProbesSent);
                    SolicitUnreachable(address, e, now);
                    break;
                default:
                    e.Deadline = Instant.MaxValue;
                    break;
            }
        }
        RecomputeDeadline();
        return _nextDeadline;
    }

    /// <summary>
    /// The wait after the <paramref name="probesSent"/>-th solicitation: RETRANS_TIMER (RFC 4861 §7.2.2), multiplied by
    /// BACKOFF_MULTIPLE for each earlier one and capped at MAX_RETRANS_TIMER (RFC 7048 §3, without its random factor:
    /// deterministic), never under the floor (RFC 1122 §2.3.2.1: at most one ARP request per second per destination).
    /// </summary>
    public TimeSpan RetransInterval(int probesSent)
    {
        var interval = RetransTimer;
        int multiple = _options.RetransBackoffMultiple;
        if (multiple > 1)
        {
            var cap = _options.MaxRetransTimer > RetransTimer ? _options.MaxRetransTimer : RetransTimer;
            for (int i = 1; i < probesSent && interval < cap; i++) interval *= multiple;
            if (interval > cap) interval = cap;
        }
        return interval < _minRetransInterval ? _minRetransInterval : interval;
    }

    /// <summary>
    /// The wait after the <paramref name="probesSent"/>-th multicast solicitation in UNREACHABLE: RFC 7048 §3 backs off
    /// exponentially, RETRANS_TIMER × BACKOFF_MULTIPLE^n (at least 2, the multiple ARP uses), capped at
    /// MAX_RETRANS_TIMER, without the random factor (deterministic): 2 s, 4 s, 8 s by default.
    /// </summary>
    private TimeSpan UnreachableInterval(int probesSent)
    {
        int multiple = Math.Max(2, _options.RetransBackoffMultiple);
        var cap = _options.MaxRetransTimer > RetransTimer ? _options.MaxRetransTimer : RetransTimer;
        var interval = RetransTimer;
        for (int i = 0; i < probesSent && interval < cap; i++) interval *= multiple;
        if (interval > cap) interval = cap;
        return interval < _minRetransInterval ? _minRetransInterval : interval;
    }

    /// <summary>
    /// RFC 7048 §3: UNREACHABLE solicits by multicast (the neighbour may have a new link-layer address), within the
    /// solicitation budget (RFC 6583 §7.1.2); without a token, a unicast probe to the known address (bounded by the
    /// table and the back-off, as PROBE's).
    /// </summary>
    private void SolicitUnreachable(TAddress address, Entry e, Instant now) =>
        _sink.Solicit(address, TakeSolicitToken(now) ? null : e.Mac, now);

    private void Fail(TAddress address, Entry e, Instant now)
    {
        _entries.Remove(address);
        while (e.Waiting.TryDequeue(out var w))
        {
            _queuedBytes -= w.Length;
            _stats.Drop(DropReason.NeighborUnreachable);
            _sink.ResolutionFailed(address, w.Buffer.AsSpan(0, w.Length), now);
            ArrayPool<byte>.Shared.Return(w.Buffer);
        }
    }

    private void MakeReachable(Entry e, Instant now)
    {
        e.State = NeighborState.Reachable;
        e.Confirmed = true;
        e.ProbesSent = 0;
        SetDeadline(e, now + _reachableTime);
    }

    private void Flush(TAddress address, Entry e, Instant now)
    {
        while (e.Waiting.TryDequeue(out var w))
        {
            _queuedBytes -= w.Length;
            _sink.SendQueued(address, e.Mac, w.Type, w.Buffer.AsSpan(0, w.Length), now);
            ArrayPool<byte>.Shared.Return(w.Buffer);
        }
    }

    private void DropQueue(Entry e)
    {
        while (e.Waiting.TryDequeue(out var w))
        {
            _queuedBytes -= w.Length;
            _stats.Drop(DropReason.NeighborUnreachable);
            ArrayPool<byte>.Shared.Return(w.Buffer);
        }
    }

    private Entry? TryCreate(TAddress address, Instant now, bool unresolved)
    {
        if (_entries.Count >= _options.MaxEntries && !EvictOne(now, unresolvedOnly: false))
        {
            _stats.Drop(DropReason.NeighborCacheFull);
            return null;
        }
        var e = new Entry { LastUsed = now };
        _entries.Add(address, e);
        return e;
    }

    /// <summary>
    /// Room under the unresolved budget (RFC 6583 §7.1) and a solicitation token (§7.1.2) for a new INCOMPLETE entry:
    /// when the budget is spent, the oldest unresolved entry that has had its chance to be answered is replaced.
    /// </summary>
    private bool TryCreateUnresolvedSlot(Instant now)
    {
        Refill(now);
        if (_solicitTokens < 1) return false;
        int unresolved = 0;
        foreach (var e in _entries.Values)
            if (!e.HasMac) unresolved++;
        return unresolved < _options.MaxUnresolved || EvictOne(now, unresolvedOnly: true);
    }

    private void Refill(Instant now)
    {
        if (now <= _solicitRefilled) return;
        _solicitTokens = Math.Min(_options.SolicitBurst,
            _solicitTokens + (now - _solicitRefilled).TotalSeconds * _options.SolicitsPerSecond);
        _solicitRefilled = now;
    }

    private bool TakeSolicitToken(Instant now)
    {
        Refill(now);
        if (_solicitTokens < 1) return false;
        _solicitTokens -= 1;
        return true;
    }

    /// <summary>
    /// Eviction under pressure, in any state, least recently used first within each class (RFC 6583 §7):
    /// 0) INCOMPLETE entries whose first solicitation went unanswered (younger ones are still being resolved);
    /// 1) STALE or UNREACHABLE entries never confirmed reachable (unsolicited information, e.g. spoofed ARP requests or NS);
    /// 2) any other resolved entry idle for longer than BaseReachableTime (not in use).
    /// Entries in use (recently used or confirmed) are never pushed out by newcomers.
    /// </summary>
    private bool EvictOne(Instant now, bool unresolvedOnly)
    {
        TAddress? victim = null;
        int bestClass = int.MaxValue;
        Instant oldest = Instant.MaxValue;
        var firstAnswerWait = RetransInterval(1);
        foreach (var (address, e) in _entries)
        {
            int cls;
            if (!e.HasMac) cls = now - e.LastUsed >= firstAnswerWait ? 0 : -1;
            else if (unresolvedOnly) cls = -1;
            else if ((e.State is NeighborState.Stale or NeighborState.Unreachable) && !e.Confirmed) cls = 1;
            else if (now - e.LastUsed > BaseReachableTime) cls = 2;
            else cls = -1;
            if (cls < 0) continue;
            if (cls < bestClass || (cls == bestClass && e.LastUsed < oldest))
            {
                bestClass = cls;
                oldest = e.LastUsed;
                victim = address;
            }
        }
        if (victim is not { } v) return false;
        Remove(v);
        return true;
    }

    private void SetDeadline(Entry e, Instant deadline)
    {
        e.Deadline = deadline;
        if (deadline < _nextDeadline) _nextDeadline = deadline;
    }

    private void RecomputeDeadline()
    {
        var next = Instant.MaxValue;
        foreach (var e in _entries.Values)
            if (e.Deadline < next) next = e.Deadline;
        _nextDeadline = next;
    }
}
