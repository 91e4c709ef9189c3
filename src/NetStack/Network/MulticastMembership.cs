using NetStack.Wire;

namespace NetStack.Network;

/// <summary>Which protocol generation a host speaks on a link, set by the oldest querier heard.</summary>
internal enum MembershipMode
{
    /// <summary>IGMPv3 / MLDv2: group records.</summary>
    Current,
    /// <summary>IGMPv2 / MLDv1: reports to the group, a leave (Leave Group / Done) when the last member goes.</summary>
    Old,
    /// <summary>IGMPv1: reports only, no leave message.</summary>
    OldWithoutLeave,
}

/// <summary>What the membership state machine wants sent.</summary>
internal enum MembershipMessage
{
    /// <summary>One group record of a current-version report (the layer packs the records due together).</summary>
    Record,
    /// <summary>An old-version membership report, sent to the group itself.</summary>
    Report,
    /// <summary>An old-version leave (IGMPv2 Leave Group, MLDv1 Done).</summary>
    Leave,
}

/// <summary>One message (or record) due, with the mode it was decided in.</summary>
internal readonly record struct MembershipOutput<TAddress>(MembershipMessage Kind, MembershipMode Mode, TAddress Group,
    GroupRecordType RecordType = default, TAddress[]? Sources = null);

/// <summary>
/// The host side of IGMPv3 (RFC 3376 §5) and MLDv2 (RFC 3810 §6), which is one algorithm over two address families, with
/// the older protocols' behaviour when an old querier is heard (RFC 3376 §7.2.1, RFC 3810 §8.2.1): reference-counted
/// any-source memberships (EXCLUDE {} filters); state-change records on join and leave sent at once and repeated
/// [Robustness Variable - 1] times at random intervals within the Unsolicited Report Interval; answers to general,
/// group-specific and group-and-source-specific queries after a random delay within the maximum response time; report
/// suppression in the old modes. Pure: output goes into a list, time comes in. <see cref="Ipv4.IgmpHost"/> and
/// <see cref="Ipv6.MldListener"/> add the family's groups, query versions and messages.
/// </summary>
internal abstract class MulticastMembership<TAddress> where TAddress : struct, IEquatable<TAddress>
{
    /// <summary>RFC 3376 §8.1 / RFC 3810 §9.1: Robustness Variable default.</summary>
    public const int DefaultRobustness = 2;

    /// <summary>RFC 3376 §8.11 / RFC 3810 §9.11: Unsolicited Report Interval of the current versions, 1 second.</summary>
    public static readonly TimeSpan UnsolicitedReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>RFC 2236 §8.10 / RFC 2710 §7.10: the old versions' Unsolicited Report Interval, 10 seconds.</summary>
    public static readonly TimeSpan OldUnsolicitedReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 3376 §8.2-8.3 / RFC 3810 §9.2-9.3 defaults: Query Interval 125 s, Query Response Interval 10 s.</summary>
    public static readonly TimeSpan DefaultQueryInterval = TimeSpan.FromSeconds(125);
    public static readonly TimeSpan DefaultQueryResponseInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<TAddress, Group> _groups = [];
    private readonly Dictionary<TAddress, Group> _leaving = [];
    private readonly List<TAddress> _done = [];
    private readonly IRandomSource _random;
    private readonly int _maxGroups;
    private Instant _generalResponseAt = Instant.MaxValue;

    protected MulticastMembership(IRandomSource random, int maxGroups)
    {
        _random = random;
        _maxGroups = maxGroups;
    }

    /// <summary>The Robustness Variable in use (the querier's QRV once heard).</summary>
    protected int Robustness { get; set; } = DefaultRobustness;

    /// <summary>RFC 3376 §9.1 / RFC 3810 §10.1: how many sources of group-and-source queries are recorded.</summary>
    protected abstract int QuerySourceLimit { get; }

    /// <summary>Whether joining or leaving <paramref name="group"/> is reported (the all-systems / all-nodes group never is).</summary>
    protected abstract bool Reportable(TAddress group);

    /// <summary>The protocol generation spoken at <paramref name="now"/>.</summary>
    public abstract MembershipMode ModeAt(Instant now);

    /// <summary>Groups joined by callers.</summary>
    public IEnumerable<TAddress> Groups => _groups.Keys;

    public int Count => _groups.Count;

    /// <summary>Whether <paramref name="group"/> was joined by a caller.</summary>
    public bool IsJoined(TAddress group) => _groups.ContainsKey(group);

    /// <summary>Joins <paramref name="group"/> (reference counted). False when the group table is full.</summary>
    public bool Join(TAddress group, Instant now)
    {
        _ = now;
        if (_groups.TryGetValue(group, out var g)) { g.References++; return true; }
        if (_groups.Count >= _maxGroups) return false;
        g = new Group { References = 1 };
        _groups[group] = g;
        _leaving.Remove(group);
        if (!Reportable(group)) return true;
        // RFC 3376 §5.1 / RFC 3810 §6.1: INCLUDE {} -> EXCLUDE {} is reported as TO_EX {} at once, then [Robustness
        // Variable] - 1 more times; in the old modes an unsolicited report, also repeated (RFC 2236 §3, RFC 2710 §4).
        g.Change = GroupRecordType.ChangeToExcludeMode;
        g.ChangesLeft = Robustness;
        g.ChangeAt = now;
        return true;
    }

    /// <summary>Leaves <paramref name="group"/> when its last reference goes; false when it was not joined.</summary>
    public bool Leave(TAddress group, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g)) return false;
        if (--g.References > 0) return true;
        _groups.Remove(group);
        if (!Reportable(group)) return true;
        var mode = ModeAt(now);
        // RFC 1112: IGMPv1 has no leave message.
        if (mode == MembershipMode.OldWithoutLeave) return true;
        // RFC 3376 §5.1 / RFC 3810 §6.1: EXCLUDE {} -> INCLUDE {} is TO_IN {}, repeated like a join. RFC 2236 §3 /
        // RFC 2710 §4: one Leave Group / Done; "MAY" be sent even when we were not the last reporter, which we always do.
        _leaving[group] = new Group
        {
            Change = GroupRecordType.ChangeToIncludeMode,
            ChangesLeft = mode == MembershipMode.Old ? 1 : Robustness,
            ChangeAt = now,
        };
        return true;
    }

    /// <summary>
    /// Schedules the answer to a query for <paramref name="group"/> (the unspecified address: a general query) within
    /// <paramref name="maxResponse"/>, in the mode in force; <paramref name="sources"/> make a group-and-source query.
    /// </summary>
    protected void ScheduleQueryResponse(TAddress group, bool general, TimeSpan maxResponse, Instant now, ReadOnlySpan<TAddress> sources)
    {
        if (ModeAt(now) != MembershipMode.Current)
        {
            // RFC 2236 §3 / RFC 2710 §4 / RFC 1112 §7.2: each queried group's timer gets a random delay in
            // [0, Max Response Time], unless it already runs shorter.
            foreach (var (addr, g) in _groups)
            {
                if (!Reportable(addr) || (!general && !group.Equals(addr))) continue;
                var at = now + RandomDelay(maxResponse);
                if (at < g.ResponseAt) g.ResponseAt = at;
            }
            return;
        }
        var when = now + RandomDelay(maxResponse);
        if (general)
        {
            // RFC 3376 §5.2 / RFC 3810 §6.2 rules 1-2: a pending general response sooner than the new delay stays; else reschedule.
            if (when < _generalResponseAt) _generalResponseAt = when;
            return;
        }
        // Rules 3-4: a group query is answered by that group's timer, unless a general response comes sooner.
        if (!_groups.TryGetValue(group, out var gs) || !Reportable(group)) return;
        if (_generalResponseAt <= when) return;
        // Rule 5: a source list is recorded only when no group response is pending; a pending group-specific response
        // (no list) stays one; lists of pending source responses merge (bounded).
        bool pending = gs.ResponseAt != Instant.MaxValue;
        if (sources.IsEmpty) gs.QuerySources = null;
        else if (!pending) gs.QuerySources = [.. sources[..Math.Min(sources.Length, QuerySourceLimit)]];
        else if (gs.QuerySources is { } list)
            foreach (var s in sources) if (!list.Contains(s) && list.Count < QuerySourceLimit) list.Add(s);
        if (when < gs.ResponseAt) gs.ResponseAt = when;
    }

    /// <summary>Forgets a pending answer to a general query (an old querier appeared: RFC 3376 §7.2.1, RFC 3810 §8.2.1).</summary>
    protected void CancelGeneralResponse() => _generalResponseAt = Instant.MaxValue;

    /// <summary>Forgets everything that only means something in the current version: pending general and source
    /// responses and state-change retransmissions (Linux does the same when an old querier appears).</summary>
    protected void CancelCurrentVersionState()
    {
        _generalResponseAt = Instant.MaxValue;
        _leaving.Clear();
        foreach (var g in _groups.Values)
        {
            g.ChangesLeft = 0;
            g.QuerySources = null;
        }
    }

    /// <summary>RFC 2236 §3 / RFC 2710 §4 / RFC 1112 §7.2: in the old modes another member's report for a group cancels
    /// our pending one (current-version hosts do not suppress, RFC 3376 §5.2, RFC 3810 §6.2).</summary>
    public void OnReportHeard(TAddress group, Instant now)
    {
        if (ModeAt(now) != MembershipMode.Current && _groups.TryGetValue(group, out var g)) g.ResponseAt = Instant.MaxValue;
    }

    /// <summary>Appends the messages due at <paramref name="now"/> to <paramref name="output"/>.</summary>
    public void Poll(Instant now, List<MembershipOutput<TAddress>> output)
    {
        var mode = ModeAt(now);
        if (_generalResponseAt <= now)
        {
            _generalResponseAt = Instant.MaxValue;
            // RFC 3376 §5.2 / RFC 3810 §6.3: a general query is answered with the current state of every group: IS_EX {}.
            foreach (var addr in _groups.Keys)
                if (Reportable(addr)) output.Add(new(MembershipMessage.Record, mode, addr, GroupRecordType.ModeIsExclude));
        }
        foreach (var (addr, g) in _groups)
        {
            if (g.ResponseAt <= now)
            {
                g.ResponseAt = Instant.MaxValue;
                // Our state is EXCLUDE {}: a group query gets IS_EX {}, a group-and-source query IS_IN of the queried
                // sources (all of them are wanted); the old modes send their report.
                output.Add(mode != MembershipMode.Current ? new(MembershipMessage.Report, mode, addr)
                    : g.QuerySources is { } qs ? new(MembershipMessage.Record, mode, addr, GroupRecordType.ModeIsInclude, [.. qs])
                    : new(MembershipMessage.Record, mode, addr, GroupRecordType.ModeIsExclude));
                g.QuerySources = null;
            }
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, mode, now, output);
        }
        _done.Clear();
        foreach (var (addr, g) in _leaving)
        {
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, mode, now, output);
            if (g.ChangesLeft == 0) _done.Add(addr);
        }
        foreach (var a in _done) _leaving.Remove(a);
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

    private void EmitChange(TAddress addr, Group g, MembershipMode mode, Instant now, List<MembershipOutput<TAddress>> output)
    {
        bool leave = g.Change == GroupRecordType.ChangeToIncludeMode;
        if (mode == MembershipMode.Current) output.Add(new(MembershipMessage.Record, mode, addr, g.Change));
        else if (!leave) output.Add(new(MembershipMessage.Report, mode, addr));
        else if (mode == MembershipMode.Old) output.Add(new(MembershipMessage.Leave, mode, addr));
        // (IGMPv1 has no leave: a leave pending from before the switch is dropped.)
        g.ChangesLeft--;
        // RFC 3376 §5.1 / RFC 3810 §6.1: retransmissions at random intervals in [0, Unsolicited Report Interval].
        g.ChangeAt = now + RandomDelay(mode == MembershipMode.Current ? UnsolicitedReportInterval : OldUnsolicitedReportInterval);
    }

    protected TimeSpan RandomDelay(TimeSpan max) =>
        max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(_random.NextDouble() * max.Ticks));

    private sealed class Group
    {
        public int References;
        public GroupRecordType Change;
        public int ChangesLeft;
        public Instant ChangeAt = Instant.MaxValue;
        public Instant ResponseAt = Instant.MaxValue;
        public List<TAddress>? QuerySources;
    }
}
