using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>RFC 3810 §5.2.12 multicast address record types.</summary>
public enum MldRecordType : byte
{
    ModeIsInclude = 1,
    ModeIsExclude = 2,
    ChangeToInclude = 3,
    ChangeToExclude = 4,
    AllowNewSources = 5,
    BlockOldSources = 6,
}

/// <summary>What an MLD listener wants sent.</summary>
internal enum MldMessageKind
{
    /// <summary>One record of an MLDv2 Report (to ff02::16); the layer packs the records due together into one report.</summary>
    V2Record,
    /// <summary>MLDv1 Multicast Listener Report (RFC 2710), sent to the group itself.</summary>
    V1Report,
    /// <summary>MLDv1 Multicast Listener Done, sent to ff02::2.</summary>
    V1Done,
}

/// <summary>One message (or v2 record) the listener wants sent.</summary>
internal readonly record struct MldOutput(MldMessageKind Kind, Ipv6Address Group, MldRecordType RecordType, Ipv6Address[]? Sources = null);

/// <summary>
/// The multicast listener side of MLDv2 (RFC 3810 §6-7) on one interface, with MLDv1 compatibility (§8): our
/// any-source joins (EXCLUDE {} filters), state-change reports on join and leave sent at once and repeated
/// [Robustness Variable - 1] times at random intervals within the Unsolicited Report Interval, and answers
/// to general and group-specific queries after a random delay within the Maximum Response Delay. The
/// all-nodes group and groups of scope 0 or 1 are never reported (§6). Pure: output goes into a list.
/// </summary>
internal sealed class MldListener
{
    /// <summary>RFC 3810 §9.1: Robustness Variable default.</summary>
    public const int DefaultRobustness = 2;

    /// <summary>RFC 3810 §9.11: Unsolicited Report Interval, 1 second.</summary>
    public static readonly TimeSpan UnsolicitedReportInterval = TimeSpan.FromSeconds(1);

    /// <summary>RFC 2710 §7.10: MLDv1 Unsolicited Report Interval, 10 seconds.</summary>
    public static readonly TimeSpan V1UnsolicitedReportInterval = TimeSpan.FromSeconds(10);

    /// <summary>RFC 3810 §9.2 / §9.3 defaults: Query Interval 125 s, Query Response Interval 10 s.</summary>
    public static readonly TimeSpan DefaultQueryInterval = TimeSpan.FromSeconds(125);
    public static readonly TimeSpan DefaultQueryResponseInterval = TimeSpan.FromSeconds(10);

    private readonly Dictionary<Ipv6Address, Group> _groups = [];
    private readonly Dictionary<Ipv6Address, Group> _leaving = [];
    private readonly IRandomSource _random;
    private readonly int _maxGroups;
    private int _robustness = DefaultRobustness;
    private Instant _generalResponseAt = Instant.MaxValue;

    public MldListener(IRandomSource random, int maxGroups)
    {
        _random = random;
        _maxGroups = maxGroups;
    }

    /// <summary>Until when an MLDv1 querier was heard (RFC 3810 §8.2.1 Older Version Querier Present timer).</summary>
    public Instant V1CompatibilityUntil { get; private set; } = new Instant(long.MinValue);

    public bool IsV1Compatible(Instant now) => now < V1CompatibilityUntil;

    public IEnumerable<Ipv6Address> Groups => _groups.Keys;

    public bool IsMember(Ipv6Address group) => _groups.ContainsKey(group);

    /// <summary>RFC 3810 §6: ff02::1 and scope 0/1 groups are never reported.</summary>
    public static bool IsReportable(Ipv6Address group) =>
        group.IsMulticast && group != Ipv6Address.AllNodes && group.MulticastScope > 1;

    /// <summary>Joins <paramref name="group"/> (reference counted). Returns false when the group table is full.</summary>
    public bool Join(Ipv6Address group, Instant now)
    {
        if (_groups.TryGetValue(group, out var g)) { g.References++; return true; }
        if (_groups.Count >= _maxGroups) return false;
        g = new Group { References = 1 };
        _groups[group] = g;
        _leaving.Remove(group);
        if (!IsReportable(group)) return true;
        // RFC 3810 §6.1: INCLUDE {} -> EXCLUDE {} is reported as CHANGE_TO_EXCLUDE_MODE, at once and then repeated.
        g.Change = MldRecordType.ChangeToExclude;
        g.ChangesLeft = _robustness;
        g.ChangeAt = now;
        return true;
    }

    /// <summary>Leaves <paramref name="group"/> when its last reference goes.</summary>
    public void Leave(Ipv6Address group, Instant now)
    {
        if (!_groups.TryGetValue(group, out var g)) return;
        if (--g.References > 0) return;
        _groups.Remove(group);
        if (!IsReportable(group)) return;
        // RFC 3810 §6.1: EXCLUDE {} -> INCLUDE {} is CHANGE_TO_INCLUDE_MODE; MLDv1 mode sends Done (RFC 2710 §4).
        _leaving[group] = new Group { Change = MldRecordType.ChangeToInclude, ChangesLeft = IsV1Compatible(now) ? 1 : _robustness, ChangeAt = now };
    }

    /// <summary>
    /// A query heard on the link. <paramref name="group"/> unspecified = general query. <paramref name="isV1"/>:
    /// a 24-byte MLDv1 query, which switches the listener into compatibility mode (RFC 3810 §8.2.1).
    /// <paramref name="robustness"/> and <paramref name="queryInterval"/> come from an MLDv2 query (0 = keep).
    /// </summary>
    public void OnQuery(Ipv6Address group, TimeSpan maxResponseDelay, bool isV1, int robustness, TimeSpan queryInterval, Instant now,
        ReadOnlySpan<Ipv6Address> sources = default)
    {
        if (robustness > 0) _robustness = robustness; // RFC 3810 §9.1: adopt the querier's QRV
        if (isV1)
        {
            var qi = queryInterval > TimeSpan.Zero ? queryInterval : DefaultQueryInterval;
            // RFC 3810 §9.12: Older Version Querier Present Timeout = Robustness * Query Interval + Query Response Interval.
            V1CompatibilityUntil = now + TimeSpan.FromTicks(_robustness * qi.Ticks) + DefaultQueryResponseInterval;
            _generalResponseAt = Instant.MaxValue;
        }
        if (IsV1Compatible(now))
        {
            // RFC 2710 §4: each group's report timer is set to a random delay in [0, Max Response Delay], unless sooner already.
            foreach (var (addr, g) in _groups)
            {
                if (!IsReportable(addr) || (!group.IsUnspecified && group != addr)) continue;
                var at = now + RandomDelay(maxResponseDelay);
                if (at < g.ResponseAt) g.ResponseAt = at;
            }
            return;
        }
        var when = now + RandomDelay(maxResponseDelay);
        if (group.IsUnspecified)
        {
            // RFC 3810 §6.2 rule 1/2: a pending general response sooner than the new delay stays; otherwise reschedule.
            if (when < _generalResponseAt) _generalResponseAt = when;
            return;
        }
        // RFC 3810 §6.2 rule 3/4: a group-specific query is answered by that group's timer, unless a general response is due sooner.
        if (!_groups.TryGetValue(group, out var gs) || !IsReportable(group)) return;
        if (_generalResponseAt <= when) return;
        // RFC 3810 §6.2 rule 5: a source list is recorded only when no group response is pending; a pending
        // group-specific response (no list) stays a group-specific one; lists of pending responses merge.
        bool pending = gs.ResponseAt != Instant.MaxValue;
        if (sources.IsEmpty) gs.QuerySources = null;
        else if (!pending) gs.QuerySources = [.. sources];
        else if (gs.QuerySources is { } list) foreach (var s in sources) if (!list.Contains(s) && list.Count < 256) list.Add(s);
        if (when < gs.ResponseAt) gs.ResponseAt = when;
    }

    /// <summary>RFC 2710 §4: in MLDv1 mode, another listener's report for a group cancels our pending report.</summary>
    public void OnV1ReportHeard(Ipv6Address group, Instant now)
    {
        if (IsV1Compatible(now) && _groups.TryGetValue(group, out var g)) g.ResponseAt = Instant.MaxValue;
    }

    /// <summary>Appends the messages due at <paramref name="now"/> to <paramref name="output"/>.</summary>
    public void Poll(Instant now, List<MldOutput> output)
    {
        bool v1 = IsV1Compatible(now);
        if (_generalResponseAt <= now)
        {
            _generalResponseAt = Instant.MaxValue;
            // RFC 3810 §6.3: a general query is answered with the current state of every group: MODE_IS_EXCLUDE {}.
            foreach (var addr in _groups.Keys)
                if (IsReportable(addr)) output.Add(new MldOutput(MldMessageKind.V2Record, addr, MldRecordType.ModeIsExclude));
        }
        foreach (var (addr, g) in _groups)
        {
            if (g.ResponseAt <= now)
            {
                g.ResponseAt = Instant.MaxValue;
                // RFC 3810 §6.3: our state is EXCLUDE {}: a group query gets IS_EX {}, a group-and-source query IS_IN (queried sources).
                output.Add(v1 ? new MldOutput(MldMessageKind.V1Report, addr, default)
                    : g.QuerySources is { } qs ? new MldOutput(MldMessageKind.V2Record, addr, MldRecordType.ModeIsInclude, [.. qs])
                    : new MldOutput(MldMessageKind.V2Record, addr, MldRecordType.ModeIsExclude));
                g.QuerySources = null;
            }
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, v1, now, output);
        }
        List<Ipv6Address>? done = null;
        foreach (var (addr, g) in _leaving)
        {
            if (g.ChangesLeft > 0 && g.ChangeAt <= now) EmitChange(addr, g, v1, now, output);
            if (g.ChangesLeft == 0) (done ??= []).Add(addr);
        }
        if (done is not null) foreach (var a in done) _leaving.Remove(a);
    }

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

    private void EmitChange(Ipv6Address addr, Group g, bool v1, Instant now, List<MldOutput> output)
    {
        if (v1)
        {
            output.Add(new MldOutput(g.Change == MldRecordType.ChangeToInclude ? MldMessageKind.V1Done : MldMessageKind.V1Report, addr, default));
        }
        else
        {
            output.Add(new MldOutput(MldMessageKind.V2Record, addr, g.Change));
        }
        g.ChangesLeft--;
        // RFC 3810 §6.1: retransmissions at random intervals in [0, Unsolicited Report Interval].
        var interval = v1 ? V1UnsolicitedReportInterval : UnsolicitedReportInterval;
        g.ChangeAt = now + RandomDelay(interval);
    }

    private TimeSpan RandomDelay(TimeSpan max) =>
        max <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks((long)(_random.NextDouble() * max.Ticks));

    private sealed class Group
    {
        public int References;
        public MldRecordType Change;
        public int ChangesLeft;
        public Instant ChangeAt = Instant.MaxValue;
        public Instant ResponseAt = Instant.MaxValue;
        public List<Ipv6Address>? QuerySources;
    }
}
