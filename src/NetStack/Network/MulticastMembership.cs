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

/// <summary>The four socket-level source-filter operations of RFC 3678 (IP_ADD/DROP_SOURCE_MEMBERSHIP, IP_BLOCK/UNBLOCK_SOURCE).</summary>
internal enum SourceFilterChange
{
    Join,
    Leave,
    Block,
    Unblock,
}

/// <summary>The outcome of a change to a group's socket-level filter records.</summary>
internal enum FilterChangeResult
{
    /// <summary>Done (and reported when the interface state changed).</summary>
    Done,
    /// <summary>No such record: the group (or source) was not joined, or the source not blocked.</summary>
    NotFound,
    /// <summary>A new group was refused: the interface's group table is full.</summary>
    GroupTableFull,
    /// <summary>A new source was refused: the group's source list is full (like Linux igmp_max_msf / mld_max_msf).</summary>
    SourceLimit,
}

/// <summary>One message (or record) due, with the mode it was decided in.</summary>
internal readonly record struct MembershipOutput<TAddress>(MembershipMessage Kind, MembershipMode Mode, TAddress Group,
    GroupRecordType RecordType = default, TAddress[]? Sources = null);

/// <summary>
/// The host side of IGMPv3 (RFC 3376 §3, §5) and MLDv2 (RFC 3810 §4, §6), which is one algorithm over two address
/// families, with the older protocols' behaviour when an old querier is heard (RFC 3376 §7.2.1, RFC 3810 §8.2.1).
/// <para>
/// Each caller's join is one socket-level filter record (RFC 3376 §3 / RFC 3810 §3 IPMulticastListen), reference
/// counted: an any-source join is EXCLUDE {} (its blocked sources added by <see cref="BlockSource"/>), a source join is
/// INCLUDE {source}. The interface state of a group is their merge (RFC 3376 §3.2 / RFC 3810 §4.2). Changes of the
/// interface state are reported at once with the records of the §5.1 / §6.1 table and repeated [Robustness Variable] - 1
/// more times at random intervals within the Unsolicited Report Interval, merged with pending retransmissions; queries
/// are answered with current-state records after a random delay within the maximum response time; report suppression in
/// the old modes. Pure: output goes into a list, time comes in. <see cref="Ipv4.IgmpHost"/> and
/// <see cref="Ipv6.MldListener"/> add the family's groups, query versions and messages.
/// </para>
/// </summary>
internal abstract class MulticastMembership<TAddress> where TAddress : struct, IEquatable<TAddress>
{
    /// <summary>RFC 3376 §8.1 / RFC 3810 §9.1: Robustness Variable default.</summary>
    public const int DefaultRobustness = 2;

    /// <summary>Sources per group a filter may name by default (Linux mld_max_msf is 64; igmp_max_msf 10).</summary>
    public const int DefaultMaxSourcesPerGroup = 64;

    /// <summary>RFC 3376 §8.11 / RFC 3810 §9.11: Unsolicited Report Interval of the current versions, 1 second.</summary>
    public static readonly TimeSpan UnsolicitedReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>RFC 2236 §8.10 / RFC 2710 §7.10: the old versions' Unsolicited Report Interval, 10 seconds.</summary>
    public static readonly TimeSpan OldUnsolicitedReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 3376 §8.2-8.3 / RFC 3810 §9.2-9.3 defaults: Query Interval 125 s, Query Response Interval 10 s.</summary>
    public static readonly TimeSpan DefaultQueryInterval = TimeSpan.FromSeconds(125);
    public static readonly TimeSpan DefaultQueryResponseInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<TAddress, Group> _groups = [];
    private readonly List<TAddress> _done = [];
    private readonly List<TAddress> _scratchA = [];
    private readonly List<TAddress> _scratchB = [];
    private readonly IRandomSource _random;
    private readonly int _maxGroups;
    private readonly int _maxSources;
    private int _joined;
    private Instant _generalResponseAt = Instant.MaxValue;

    protected MulticastMembership(IRandomSource random, int maxGroups, int maxSourcesPerGroup)
    {
        _random = random;
        _maxGroups = maxGroups;
        _maxSources = Math.Max(1, maxSourcesPerGroup);
    }

    /// <summary>The Robustness Variable in use (the querier's QRV once heard).</summary>
    protected int Robustness { get; set; } = DefaultRobustness;

    /// <summary>RFC 3376 §9.1 / RFC 3810 §10.1: how many sources of group-and-source queries are recorded.</summary>
    protected abstract int QuerySourceLimit { get; }

    /// <summary>Whether joining or leaving <paramref name="group"/> is reported (the all-systems / all-nodes group never is).</summary>
    protected abstract bool Reportable(TAddress group);

    /// <summary>The protocol generation spoken at <paramref name="now"/>.</summary>
    public abstract MembershipMode ModeAt(Instant now);

    /// <summary>Groups joined by callers (any filter other than INCLUDE {}).</summary>
    public IEnumerable<TAddress> Groups
    {
        get
        {
            foreach (var (a, g) in _groups) if (g.Joined) yield return a;
        }
    }

    /// <summary>Groups joined.</summary>
    public int Count => _joined;

    /// <summary>The most sources one group's filter may name.</summary>
    public int MaxSourcesPerGroup => _maxSources;

    /// <summary>Whether <paramref name="group"/> was joined by a caller (its interface state is not INCLUDE {}).</summary>
    public bool IsJoined(TAddress group) => _groups.TryGetValue(group, out var g) && g.Joined;

    /// <summary>
    /// RFC 3376 §3.2 / RFC 3810 §4.2 with RFC 3376 §6.4-style filtering at the interface: whether the interface state of
    /// <paramref name="group"/> accepts datagrams from <paramref name="source"/> (INCLUDE: listed; EXCLUDE: not listed).
    /// </summary>
    public bool Accepts(TAddress group, TAddress source)
    {
        if (!_groups.TryGetValue(group, out var g) || !g.Joined) return false;
        return g.ExcludeMode != g.State.Contains(source);
    }

    /// <summary>The interface state of <paramref name="group"/>: its filter mode and source list (INCLUDE {} when not joined).</summary>
    public (bool Exclude, TAddress[] Sources) StateOf(TAddress group) =>
        _groups.TryGetValue(group, out var g) && g.Joined ? (g.ExcludeMode, [.. g.State]) : (false, []);

    /// <summary>Joins <paramref name="group"/> for any source: one more EXCLUDE {} record (reference counted). False when the
    /// group table is full.</summary>
    public bool Join(TAddress group, Instant now) => JoinAnySource(group, now) == FilterChangeResult.Done;

    /// <summary>Adds an EXCLUDE {} record for <paramref name="group"/>.</summary>
    public FilterChangeResult JoinAnySource(TAddress group, Instant now)
    {
        if (GetOrAdd(group) is not { } g) return FilterChangeResult.GroupTableFull;
        Mark(g, () => g.Exclude.Add([]));
        Changed(group, g, now);
        return FilterChangeResult.Done;
    }

    /// <summary>
    /// Removes an EXCLUDE record of <paramref name="group"/>; false when there is none. Joins carry no socket identity here,
    /// so the record dropped is the one blocking the most sources: a wrong guess lets a source through rather than losing one.
    /// </summary>
    public bool Leave(TAddress group, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g) || g.Exclude.Count == 0) return false;
        int pick = 0;
        for (int i = 1; i < g.Exclude.Count; i++) if (g.Exclude[i].Count >= g.Exclude[pick].Count) pick = i;
        Mark(g, () => g.Exclude.RemoveAt(pick));
        Changed(group, g, now);
        return true;
    }

    /// <summary>Adds an INCLUDE {<paramref name="source"/>} record for <paramref name="group"/> (reference counted per source).</summary>
    /// <summary>One of the four source-filter operations, as the socket API names them.</summary>
    public FilterChangeResult ChangeSource(SourceFilterChange change, TAddress group, TAddress source, Instant now) => change switch
    {
        SourceFilterChange.Join => JoinSource(group, source, now),
        SourceFilterChange.Leave => LeaveSource(group, source, now),
        SourceFilterChange.Block => BlockSource(group, source, now),
        _ => UnblockSource(group, source, now),
    };

    public FilterChangeResult JoinSource(TAddress group, TAddress source, Instant now)
    {
        if (_groups.TryGetValue(group, out var existing) && !existing.Include.ContainsKey(source) && existing.Include.Count >= _maxSources)
            return FilterChangeResult.SourceLimit;
        if (GetOrAdd(group) is not { } g) return FilterChangeResult.GroupTableFull;
        Mark(g, () => g.Include[source] = g.Include.GetValueOrDefault(source) + 1);
        Changed(group, g, now);
        return FilterChangeResult.Done;
    }

    /// <summary>Removes one INCLUDE {<paramref name="source"/>} record of <paramref name="group"/>.</summary>
    public FilterChangeResult LeaveSource(TAddress group, TAddress source, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g) || !g.Include.TryGetValue(source, out int n)) return FilterChangeResult.NotFound;
        Mark(g, () =>
        {
            if (n > 1) g.Include[source] = n - 1;
            else g.Include.Remove(source);
        });
        Changed(group, g, now);
        return FilterChangeResult.Done;
    }

    /// <summary>Adds <paramref name="source"/> to an EXCLUDE record of <paramref name="group"/> that does not yet block it
    /// (like IP_BLOCK_SOURCE on an any-source join). NotFound without such a record.</summary>
    public FilterChangeResult BlockSource(TAddress group, TAddress source, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g)) return FilterChangeResult.NotFound;
        foreach (var record in g.Exclude)
        {
            if (record.Contains(source)) continue;
            if (record.Count >= _maxSources) return FilterChangeResult.SourceLimit;
            Mark(g, () => record.Add(source));
            Changed(group, g, now);
            return FilterChangeResult.Done;
        }
        return FilterChangeResult.NotFound;
    }

    /// <summary>Removes <paramref name="source"/> from an EXCLUDE record of <paramref name="group"/> that blocks it.</summary>
    public FilterChangeResult UnblockSource(TAddress group, TAddress source, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g)) return FilterChangeResult.NotFound;
        foreach (var record in g.Exclude)
        {
            if (!record.Contains(source)) continue;
            Mark(g, () => record.Remove(source));
            Changed(group, g, now);
            return FilterChangeResult.Done;
        }
        return FilterChangeResult.NotFound;
    }

    private Group? GetOrAdd(TAddress group)
    {
        if (_groups.TryGetValue(group, out var g))
        {
            if (!g.Joined && _joined >= _maxGroups) return null;
            return g;
        }
        if (_joined >= _maxGroups) return null;
        // Entries kept only to finish their leave's retransmissions are bounded too: the oldest such goes first.
        if (_groups.Count >= 2 * _maxGroups)
        {
            foreach (var (a, old) in _groups)
                if (!old.Joined) { _groups.Remove(a); break; }
        }
        g = new Group();
        _groups[group] = g;
        return g;
    }

    private void Mark(Group g, Action change)
    {
        bool was = g.Joined;
        change();
        if (was != g.Joined) _joined += g.Joined ? 1 : -1;
    }

    /// <summary>
    /// Recomputes the interface state of <paramref name="group"/> from its records (RFC 3376 §3.2 / RFC 3810 §4.2) and
    /// schedules the state-change report (RFC 3376 §5.1 / RFC 3810 §6.1).
    /// </summary>
    private void Changed(TAddress group, Group g, Instant now)
    {
        bool oldExclude = g.ExcludeMode;
        _scratchA.Clear();
        _scratchA.AddRange(g.State);
        Merge(g);
        bool modeChange = oldExclude != g.ExcludeMode;
        if (!modeChange && SameSources(_scratchA, g.State)) { ForgetIfIdle(group, g); return; }
        if (!Reportable(group)) { ForgetIfIdle(group, g); return; }
        var mode = ModeAt(now);
        if (mode != MembershipMode.Current)
        {
            // RFC 3376 §7.2.1 / RFC 3810 §8.3.1: the old protocols know no sources. INCLUDE {} is a leave (IGMPv2 Leave
            // Group / MLDv1 Done, sent once: RFC 2236 §3, RFC 2710 §4; IGMPv1 has none, RFC 1112); any other change is an
            // unsolicited report, repeated (RFC 2236 §3 / RFC 2710 §4), even when only the source list moved.
            g.SourcesLeft.Clear();
            bool leave = !g.Joined;
            if (leave && mode == MembershipMode.OldWithoutLeave) { g.ModeChangesLeft = 0; ForgetIfIdle(group, g); return; }
            g.ModeChangesLeft = leave ? 1 : Robustness;
        }
        else if (modeChange)
        {
            // RFC 3376 §5.1 / RFC 3810 §6.1: INCLUDE(A) -> EXCLUDE(B): TO_EX(B); EXCLUDE(A) -> INCLUDE(B): TO_IN(B); the next
            // [Robustness Variable] reports carry the filter-mode-change record whatever source-list changes follow.
            // Simplification: source retransmission state from before the mode change is dropped, as the TO_IN / TO_EX
            // record carries the whole new state (Linux does the same).
            g.ModeChangesLeft = Robustness;
            g.SourcesLeft.Clear();
        }
        else
        {
            // RFC 3376 §5.1 / RFC 3810 §6.1: INCLUDE(A) -> INCLUDE(B): ALLOW(B-A), BLOCK(A-B); EXCLUDE(A) -> EXCLUDE(B):
            // ALLOW(A-B), BLOCK(B-A). Each source in the difference gets [Robustness Variable] retransmissions of its
            // own; whether it is allowed or blocked is decided when the report is built, from the state then.
            SymmetricDifference(_scratchA, g.State, _scratchB);
            foreach (var s in _scratchB) g.SourcesLeft[s] = Robustness;
            // Bounded: past 4x the source limit the pending changes are folded into a filter-mode-change record, which
            // carries the whole state (TO_IN / TO_EX of the current list).
            if (g.SourcesLeft.Count > 4 * _maxSources) { g.SourcesLeft.Clear(); g.ModeChangesLeft = Robustness; }
        }
        // RFC 3376 §5.1 / RFC 3810 §6.1: the (merged) report goes at once and is the first of [Robustness Variable].
        g.ChangeAt = now;
        if (!g.Joined) { g.ResponseAt = Instant.MaxValue; g.QuerySources = null; }
    }

    /// <summary>RFC 3376 §3.2 / RFC 3810 §4.2: any EXCLUDE record -> EXCLUDE with the intersection of the EXCLUDE lists minus
    /// the union of the INCLUDE lists; else INCLUDE with the union of the INCLUDE lists.</summary>
    private static void Merge(Group g)
    {
        g.State.Clear();
        if (g.Exclude.Count > 0)
        {
            g.ExcludeMode = true;
            foreach (var s in g.Exclude[0])
            {
                bool inAll = true;
                for (int i = 1; i < g.Exclude.Count && inAll; i++) inAll = g.Exclude[i].Contains(s);
                if (inAll && !g.Include.ContainsKey(s)) g.State.Add(s);
            }
        }
        else
        {
            g.ExcludeMode = false;
            foreach (var s in g.Include.Keys) g.State.Add(s);
        }
    }

    private static bool SameSources(List<TAddress> a, HashSet<TAddress> b)
    {
        if (a.Count != b.Count) return false;
        foreach (var s in a) if (!b.Contains(s)) return false;
        return true;
    }

    private static void SymmetricDifference(List<TAddress> a, HashSet<TAddress> b, List<TAddress> result)
    {
        result.Clear();
        foreach (var s in a) if (!b.Contains(s)) result.Add(s);
        foreach (var s in b) if (!a.Contains(s)) result.Add(s);
    }

    private void ForgetIfIdle(TAddress group, Group g)
    {
        if (!g.Joined && !g.Pending) _groups.Remove(group);
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
                if (!g.Joined || !Reportable(addr) || (!general && !group.Equals(addr))) continue;
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
        if (!_groups.TryGetValue(group, out var gs) || !gs.Joined || !Reportable(group)) return;
        if (_generalResponseAt <= when) return;
        // Rule 5: a source list is recorded only when no group response is pending; a pending group-specific response
        // (no list) stays one, and so does a new group-specific query over a pending source one; lists of pending source
        // responses merge (bounded: RFC 3376 §9.1 / RFC 3810 §10.1).
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
        _done.Clear();
        foreach (var (addr, g) in _groups)
        {
            g.ModeChangesLeft = 0;
            g.SourcesLeft.Clear();
            g.QuerySources = null;
            if (!g.Joined) _done.Add(addr);
        }
        foreach (var a in _done) _groups.Remove(a);
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
            // RFC 3376 §5.2 / RFC 3810 §6.3: a general query is answered with the current state of every group:
            // IS_IN(A) for INCLUDE(A), IS_EX(A) for EXCLUDE(A).
            foreach (var (addr, g) in _groups)
                if (g.Joined && Reportable(addr))
                    output.Add(new(MembershipMessage.Record, mode, addr,
                        g.ExcludeMode ? GroupRecordType.ModeIsExclude : GroupRecordType.ModeIsInclude, ListOf(g.State)));
        }
        _done.Clear();
        foreach (var (addr, g) in _groups)
        {
            if (g.ResponseAt <= now)
            {
                g.ResponseAt = Instant.MaxValue;
                if (g.Joined)
                {
                    if (mode != MembershipMode.Current) output.Add(new(MembershipMessage.Report, mode, addr));
                    else if (SourceQueryAnswer(g) is { } answer)
                        output.Add(new(MembershipMessage.Record, mode, addr, GroupRecordType.ModeIsInclude, answer));
                    else if (g.QuerySources is null)
                        // RFC 3376 §5.2 / RFC 3810 §6.3: a group-specific query gets the group's current state.
                        output.Add(new(MembershipMessage.Record, mode, addr,
                            g.ExcludeMode ? GroupRecordType.ModeIsExclude : GroupRecordType.ModeIsInclude, ListOf(g.State)));
                }
                g.QuerySources = null;
            }
            if (g.Pending && g.ChangeAt <= now) EmitChange(addr, g, mode, now, output);
            if (!g.Joined && !g.Pending) _done.Add(addr);
        }
        foreach (var a in _done) _groups.Remove(a);
    }

    /// <summary>
    /// RFC 3376 §5.2 / RFC 3810 §6.3 for a group-and-source-specific query Q(G,B): INCLUDE(A) -> IS_IN(A*B);
    /// EXCLUDE(A) -> IS_IN(B-A); nothing when that list is empty (null: no source query pending, or nothing to say).
    /// </summary>
    private static TAddress[]? SourceQueryAnswer(Group g)
    {
        if (g.QuerySources is not { } b) return null;
        int n = 0;
        foreach (var s in b) if (g.ExcludeMode != g.State.Contains(s)) n++;
        if (n == 0) return null;
        var answer = new TAddress[n];
        n = 0;
        foreach (var s in b) if (g.ExcludeMode != g.State.Contains(s)) answer[n++] = s;
        return answer;
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
                if (g.Pending) next = Instant.Min(next, g.ChangeAt);
            }
            return next;
        }
    }

    private void EmitChange(TAddress addr, Group g, MembershipMode mode, Instant now, List<MembershipOutput<TAddress>> output)
    {
        if (mode != MembershipMode.Current)
        {
            // RFC 3376 §7.2.1 / RFC 3810 §8.3.1: the old protocols' report or leave, sources ignored.
            g.SourcesLeft.Clear();
            if (g.Joined) output.Add(new(MembershipMessage.Report, mode, addr));
            else if (mode == MembershipMode.Old) output.Add(new(MembershipMessage.Leave, mode, addr));
            // (IGMPv1 has no leave: a leave pending from before the switch is dropped.)
            g.ModeChangesLeft = g.Joined ? Math.Max(0, g.ModeChangesLeft - 1) : 0;
        }
        else if (g.ModeChangesLeft > 0)
        {
            // RFC 3376 §5.1 / RFC 3810 §6.1: a filter-mode-change record with the current state: TO_EX(all blocked) in
            // EXCLUDE mode, TO_IN(all forwarded) in INCLUDE mode.
            output.Add(new(MembershipMessage.Record, mode, addr,
                g.ExcludeMode ? GroupRecordType.ChangeToExcludeMode : GroupRecordType.ChangeToIncludeMode, ListOf(g.State)));
            g.ModeChangesLeft--;
            // A source's retransmission state lasts "until [Robustness Variable] State-Change reports have been sent";
            // this one counts (it carries the source's new treatment in the full list), so a source changed during the
            // filter-mode retransmissions gets ALLOW / BLOCK records only for the reports still owed to it afterwards.
            _scratchA.Clear();
            _scratchA.AddRange(g.SourcesLeft.Keys);
            foreach (var s in _scratchA) Decrement(g, s);
        }
        else
        {
            // RFC 3376 §5.1 / RFC 3810 §6.1: ALLOW = sources with retransmission state that must be forwarded, BLOCK = those
            // that must be blocked (by the current state); each source counts down its own retransmissions; an empty
            // record is omitted.
            _scratchA.Clear();
            _scratchB.Clear();
            foreach (var (s, _) in g.SourcesLeft) (g.ExcludeMode != g.State.Contains(s) ? _scratchA : _scratchB).Add(s);
            foreach (var s in _scratchA) Decrement(g, s);
            foreach (var s in _scratchB) Decrement(g, s);
            if (_scratchA.Count > 0) output.Add(new(MembershipMessage.Record, mode, addr, GroupRecordType.AllowNewSources, [.. _scratchA]));
            if (_scratchB.Count > 0) output.Add(new(MembershipMessage.Record, mode, addr, GroupRecordType.BlockOldSources, [.. _scratchB]));
        }
        // RFC 3376 §5.1 / RFC 3810 §6.1: retransmissions at random intervals in [0, Unsolicited Report Interval].
        g.ChangeAt = g.Pending
            ? now + RandomDelay(mode == MembershipMode.Current ? UnsolicitedReportInterval : OldUnsolicitedReportInterval)
            : Instant.MaxValue;
    }

    /// <summary>A record's source list; null for none (no allocation for the common any-source records).</summary>
    private static TAddress[]? ListOf(HashSet<TAddress> sources) => sources.Count == 0 ? null : [.. sources];

    private static void Decrement(Group g, TAddress s)
    {
        int left = g.SourcesLeft[s] - 1;
        if (left <= 0) g.SourcesLeft.Remove(s);
        else g.SourcesLeft[s] = left;
    }

    protected TimeSpan RandomDelay(TimeSpan max) =>
        max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(_random.NextDouble() * max.Ticks));

    private sealed class Group
    {
        /// <summary>Socket-level EXCLUDE records (any-source joins), each with the sources it blocks.</summary>
        public readonly List<List<TAddress>> Exclude = [];
        /// <summary>Socket-level INCLUDE {source} records, counted per source.</summary>
        public readonly Dictionary<TAddress, int> Include = [];
        /// <summary>The interface state: filter mode and source list (RFC 3376 §3.2).</summary>
        public bool ExcludeMode;
        public readonly HashSet<TAddress> State = [];
        /// <summary>State-change reports still to carry a filter-mode-change record (or, in the old modes, a report).</summary>
        public int ModeChangesLeft;
        /// <summary>RFC 3376 §5.1 / RFC 3810 §6.1: per-source retransmission state of source-list changes.</summary>
        public readonly Dictionary<TAddress, int> SourcesLeft = [];
        public Instant ChangeAt = Instant.MaxValue;
        public Instant ResponseAt = Instant.MaxValue;
        public List<TAddress>? QuerySources;

        public bool Joined => Exclude.Count > 0 || Include.Count > 0;
        public bool Pending => ModeChangesLeft > 0 || SourcesLeft.Count > 0;
    }
}
