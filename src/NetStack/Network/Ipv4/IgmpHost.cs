using NetStack.Wire;

namespace NetStack.Network.Ipv4;

/// <summary>What an IGMP host wants sent.</summary>
internal enum IgmpMessageKind
{
    /// <summary>One group record of an IGMPv3 report (to 224.0.0.22); the layer packs the records due together.</summary>
    V3Record,
    /// <summary>IGMPv1 Membership Report (RFC 1112), sent to the group itself.</summary>
    V1Report,
    /// <summary>IGMPv2 Membership Report (RFC 2236), sent to the group itself.</summary>
    V2Report,
    /// <summary>IGMPv2 Leave Group, sent to 224.0.0.2 (RFC 2236 §3).</summary>
    V2Leave,
}

/// <summary>Which protocol the host speaks on an interface (RFC 3376 §7.2.1 Host Compatibility Mode).</summary>
internal enum IgmpCompatibility
{
    V3,
    V2,
    V1,
}

/// <summary>One message (or v3 record) the host wants sent.</summary>
internal readonly record struct IgmpOutput(IgmpMessageKind Kind, Ipv4Address Group, Igmpv3RecordType RecordType = default,
    Ipv4Address[]? Sources = null);

/// <summary>
/// The host side of IGMPv3 (RFC 3376 §5, §7) on one interface, with the IGMPv1/v2 compatibility modes of §7.2.1
/// (RFC 1112, RFC 2236): reference-counted any-source memberships (EXCLUDE {} filters); state-change reports on
/// join and leave sent at once and repeated [Robustness Variable - 1] times at random intervals within the
/// Unsolicited Report Interval; answers to general, group-specific and group-and-source-specific queries after a
/// random delay within the Max Resp Time. 224.0.0.1 is always joined and never reported (RFC 3376 §5, RFC 2236 §6).
/// Pure: output goes into a list, time comes in.
/// </summary>
internal sealed class IgmpHost
{
    /// <summary>224.0.0.1, the all-systems group (RFC 1112 §4).</summary>
    public static readonly Ipv4Address AllSystems = new(224, 0, 0, 1);
    /// <summary>224.0.0.2, the all-routers group, destination of IGMPv2 Leave Group (RFC 2236 §3).</summary>
    public static readonly Ipv4Address AllRouters = new(224, 0, 0, 2);
    /// <summary>224.0.0.22, the all-IGMPv3-capable-routers group, destination of IGMPv3 reports (RFC 3376 §4.2.14).</summary>
    public static readonly Ipv4Address AllIgmpv3Routers = new(224, 0, 0, 22);

    /// <summary>RFC 3376 §8.1: Robustness Variable default.</summary>
    public const int DefaultRobustness = 2;

    /// <summary>RFC 3376 §8.11: Unsolicited Report Interval, 1 second.</summary>
    public static readonly TimeSpan UnsolicitedReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>RFC 2236 §8.10: IGMPv1/v2 Unsolicited Report Interval, 10 seconds.</summary>
    public static readonly TimeSpan V2UnsolicitedReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 3376 §8.2 / §8.3 defaults: Query Interval 125 s, Query Response Interval 10 s.</summary>
    public static readonly TimeSpan DefaultQueryInterval = TimeSpan.FromSeconds(125);
    public static readonly TimeSpan DefaultQueryResponseInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 3376 §9.1: "record only a limited number of sources" of group-and-source-specific queries.</summary>
    public const int MaxQuerySources = 64;

    private readonly Dictionary<Ipv4Address, Group> _groups = [];
    private readonly Dictionary<Ipv4Address, Group> _leaving = [];
    private readonly IRandomSource _random;
    private readonly int _maxGroups;
    private int _robustness = DefaultRobustness;
    private TimeSpan _queryInterval = DefaultQueryInterval;
    private Instant _generalResponseAt = Instant.MaxValue;

    public IgmpHost(IRandomSource random, int maxGroups)
    {
        _random = random;
        _maxGroups = maxGroups;
    }

    /// <summary>Until when an IGMPv1 querier counts as present (RFC 3376 §7.2.1 IGMPv1 Querier Present timer).</summary>
    public Instant V1QuerierUntil { get; private set; } = new Instant(long.MinValue);

    /// <summary>Until when an IGMPv2 querier counts as present (RFC 3376 §7.2.1 IGMPv2 Querier Present timer).</summary>
    public Instant V2QuerierUntil { get; private set; } = new Instant(long.MinValue);

    /// <summary>RFC 3376 §7.2.1: v1 while the IGMPv1 Querier Present timer runs, else v2 while the v2 one runs, else v3.</summary>
    public IgmpCompatibility Mode(Instant now) =>
        now < V1QuerierUntil ? IgmpCompatibility.V1 : now < V2QuerierUntil ? IgmpCompatibility.V2 : IgmpCompatibility.V3;

    /// <summary>Groups joined (224.0.0.1 only when a caller joined it explicitly).</summary>
    public IEnumerable<Ipv4Address> Groups => _groups.Keys;

    public int Count => _groups.Count;

    /// <summary>RFC 1112 §6.4 / RFC 1122 §3.3.7: whether datagrams to <paramref name="group"/> are for us; 224.0.0.1 always.</summary>
    public bool IsMember(Ipv4Address group) => group == AllSystems || _groups.ContainsKey(group);

    /// <summary>Whether <paramref name="group"/> was joined by a caller (the implicit 224.0.0.1 membership does not count).</summary>
    public bool IsJoined(Ipv4Address group) => _groups.ContainsKey(group);

    /// <summary>RFC 3376 §5 / RFC 2236 §6: 224.0.0.1 is never reported.</summary>
    public static bool IsReportable(Ipv4Address group) => group.IsMulticast && group != AllSystems;

    /// <summary>Joins <paramref name="group"/> (reference counted). False when the group table is full.</summary>
    public bool Join(Ipv4Address group, Instant now)
    {
        if (_groups.TryGetValue(group, out var g)) { g.References++; return true; }
        if (_groups.Count >= _maxGroups) return false;
        g = new Group { References = 1 };
        _groups[group] = g;
        _leaving.Remove(group);
        if (!IsReportable(group)) return true;
        // RFC 3376 §5.1: INCLUDE {} -> EXCLUDE {} is reported as TO_EX {} at once, then [Robustness Variable] - 1 more
        // times; RFC 2236 §3 / RFC 1112 §7.2: in the old modes an unsolicited report, also repeated.
        g.Change = Igmpv3RecordType.ChangeToExcludeMode;
        g.ChangesLeft = _robustness;
        g.ChangeAt = now;
        return true;
    }

    /// <summary>Leaves <paramref name="group"/> when its last reference goes; false when it was not joined.</summary>
    public bool Leave(Ipv4Address group, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g)) return false;
        if (--g.References > 0) return true;
        _groups.Remove(group);
        if (!IsReportable(group)) return true;
        var mode = Mode(now);
        // RFC 3376 §7.2.1 / RFC 1112: IGMPv1 has no leave message.
        if (mode == IgmpCompatibility.V1) return true;
        // RFC 3376 §5.1: EXCLUDE {} -> INCLUDE {} is TO_IN {}, repeated like a join. RFC 2236 §3: a v2 host sends one
        // Leave Group to 224.0.0.2; "it MAY send" it even when it was not the last to report, which we always do.
        _leaving[group] = new Group
        {
            Change = Igmpv3RecordType.ChangeToIncludeMode,
            ChangesLeft = mode == IgmpCompatibility.V2 ? 1 : _robustness,
            ChangeAt = now,
        };
        return true;
    }

    /// <summary>
    /// A Membership Query heard on the link. <paramref name="group"/> 0.0.0.0 = general query.
    /// <paramref name="robustness"/> and <paramref name="queryInterval"/> come from a v3 query (0 / zero = keep).
    /// <paramref name="sources"/> make a v3 group-and-source-specific query.
    /// </summary>
    public void OnQuery(IgmpQueryVersion version, Ipv4Address group, TimeSpan maxResponseTime, int robustness, TimeSpan queryInterval,
        Instant now, ReadOnlySpan<Ipv4Address> sources = default)
    {
        // RFC 3376 §4.1.6 / §4.1.7: adopt the querier's QRV (0: keep ours) and its query interval.
        if (robustness > 0) _robustness = robustness;
        if (queryInterval > TimeSpan.Zero) _queryInterval = queryInterval;
        if (version is IgmpQueryVersion.V1 or IgmpQueryVersion.V2)
        {
            // RFC 3376 §8.12: Older Version Querier Present Timeout = Robustness Variable * Query Interval + Query Response
            // Interval (the latter taken from the query's own Max Resp Time).
            var until = now + TimeSpan.FromTicks(_robustness * _queryInterval.Ticks) + maxResponseTime;
            bool wasV3 = Mode(now) == IgmpCompatibility.V3;
            if (version == IgmpQueryVersion.V1) V1QuerierUntil = until;
            else V2QuerierUntil = until;
            // RFC 3376 §7.2.1: switch at once. Pending IGMPv3 responses and state-change retransmissions have no
            // meaning in the old protocols (Linux clears them too when an old querier appears).
            if (wasV3) CancelV3State();
        }
        if (Mode(now) != IgmpCompatibility.V3)
        {
            // RFC 2236 §3 / RFC 1112 §7.2: each queried group's timer gets a random delay in [0, Max Response Time],
            // unless it already runs shorter.
            foreach (var (addr, g) in _groups)
            {
                if (!IsReportable(addr) || (!group.IsUnspecified && group != addr)) continue;
                var at = now + RandomDelay(maxResponseTime);
                if (at < g.ResponseAt) g.ResponseAt = at;
            }
            return;
        }
        var when = now + RandomDelay(maxResponseTime);
        if (group.IsUnspecified)
        {
            // RFC 3376 §5.2 rules 1 and 2: a pending general response sooner than the new delay stays; else reschedule.
            if (when < _generalResponseAt) _generalResponseAt = when;
            return;
        }
        // RFC 3376 §5.2 rules 3-5: a group query is answered by that group's timer, unless a general response comes sooner.
        if (!_groups.TryGetValue(group, out var gs) || !IsReportable(group)) return;
        if (_generalResponseAt <= when) return;
        // RFC 3376 §5.2 rule 5: a source list is recorded only when no group response is pending; a pending
        // group-specific response (no list) stays one; lists of pending source responses merge (bounded, §9.1).
        bool pending = gs.ResponseAt != Instant.MaxValue;
        if (sources.IsEmpty) gs.QuerySources = null;
        else if (!pending) gs.QuerySources = [.. sources[..Math.Min(sources.Length, MaxQuerySources)]];
        else if (gs.QuerySources is { } list)
            foreach (var s in sources) if (!list.Contains(s) && list.Count < MaxQuerySources) list.Add(s);
        if (when < gs.ResponseAt) gs.ResponseAt = when;
    }

    /// <summary>RFC 2236 §3 / RFC 1112 §7.2: in the v1/v2 modes, another member's report for a group cancels our pending one.
    /// (IGMPv3 hosts do not suppress, RFC 3376 §5.2.)</summary>
    public void OnReportHeard(Ipv4Address group, Instant now)
    {
        if (Mode(now) != IgmpCompatibility.V3 && _groups.TryGetValue(group, out var g)) g.ResponseAt = Instant.MaxValue;
    }

    /// <summary>Appends the messages due at <paramref name="now"/> to <paramref name="output"/>.</summary>
    public void Poll(Instant now, List<IgmpOutput> output)
    {
        var mode = Mode(now);
        if (_generalResponseAt <= now)
        {
            _generalResponseAt = Instant.MaxValue;
            // RFC 3376 §5.2: a general query is answered with the current state of every group: IS_EX {}.
            foreach (var addr in _groups.Keys)
                if (IsReportable(addr)) output.Add(new IgmpOutput(IgmpMessageKind.V3Record, addr, Igmpv3RecordType.ModeIsExclude));
        }
        foreach (var (addr, g) in _groups)
        {
            if (g.ResponseAt <= now)
            {
                g.ResponseAt = Instant.MaxValue;
                // RFC 3376 §5.2: our state is EXCLUDE {}: a group query gets IS_EX {}, a group-and-source query IS_IN of
                // the queried sources (all of them are wanted); the old modes send their report.
                output.Add(mode switch
                {
                    IgmpCompatibility.V1 => new IgmpOutput(IgmpMessageKind.V1Report, addr),
                    IgmpCompatibility.V2 => new IgmpOutput(IgmpMessageKind.V2Report, addr),
                    _ => g.QuerySources is { } qs
                        ? new IgmpOutput(IgmpMessageKind.V3Record, addr, Igmpv3RecordType.ModeIsInclude, [.. qs])
                        : new IgmpOutput(IgmpMessageKind.V3Record, addr, Igmpv3RecordType.ModeIsExclude),
                });
                g.QuerySources = null;
            }
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, mode, now, output);
        }
        List<Ipv4Address>? done = null;
        foreach (var (addr, g) in _leaving)
        {
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, mode, now, output);
            if (g.ChangesLeft == 0) (done ??= []).Add(addr);
        }
        if (done is not null) foreach (var a in done) _leaving.Remove(a);
    }

    /// <summary>When <see cref="Poll"/> next has something to do.</summary>
    public Instant NextDeadline
    {
        get
        {
            var next = _generalResponseAt;
            foreach (var g in _groups.Values)
            {
                next = Instant.Min(next, g.ResponseAt);
                if (g.ChangesLeft > 0) next = Instant.Min(next, g.ChangeAt);
            }
            foreach (var g in _leaving.Values) if (g.ChangesLeft > 0) next = Instant.Min(next, g.ChangeAt);
            return next;
        }
    }

    private void CancelV3State()
    {
        _generalResponseAt = Instant.MaxValue;
        _leaving.Clear();
        foreach (var g in _groups.Values)
        {
            g.ChangesLeft = 0;
            g.QuerySources = null;
        }
    }

    private void EmitChange(Ipv4Address addr, Group g, IgmpCompatibility mode, Instant now, List<IgmpOutput> output)
    {
        bool leave = g.Change == Igmpv3RecordType.ChangeToIncludeMode;
        switch (mode)
        {
            case IgmpCompatibility.V1:
                // RFC 1112 has no leave; a leave pending from before the switch is dropped.
                if (!leave) output.Add(new IgmpOutput(IgmpMessageKind.V1Report, addr));
                break;
            case IgmpCompatibility.V2:
                output.Add(new IgmpOutput(leave ? IgmpMessageKind.V2Leave : IgmpMessageKind.V2Report, addr));
                break;
            default:
                output.Add(new IgmpOutput(IgmpMessageKind.V3Record, addr, g.Change));
                break;
        }
        g.ChangesLeft--;
        // RFC 3376 §5.1: retransmissions at random intervals in [0, Unsolicited Report Interval]; RFC 2236 §3: the v2 one.
        g.ChangeAt = now + RandomDelay(mode == IgmpCompatibility.V3 ? UnsolicitedReportInterval : V2UnsolicitedReportInterval);
    }

    private TimeSpan RandomDelay(TimeSpan max) =>
        max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(_random.NextDouble() * max.Ticks));

    private sealed class Group
    {
        public int References;
        public Igmpv3RecordType Change;
        public int ChangesLeft;
        public Instant ChangeAt = Instant.MaxValue;
        public Instant ResponseAt = Instant.MaxValue;
        public List<Ipv4Address>? QuerySources;
    }
}
