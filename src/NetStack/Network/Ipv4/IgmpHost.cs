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
internal readonly record struct IgmpOutput(IgmpMessageKind Kind, Ipv4Address Group, GroupRecordType RecordType = default,
    Ipv4Address[]? Sources = null);

/// <summary>
/// The host side of IGMPv3 (RFC 3376 §5, §7) on one interface, with the IGMPv1/v2 compatibility modes of §7.2.1
/// (RFC 1112, RFC 2236), over the shared <see cref="MulticastMembership{TAddress}"/> state machine: this class adds the
/// IPv4 groups, the query versions and their Older Version Querier Present timers, and the IGMP message kinds.
/// 224.0.0.1 is always joined and never reported (RFC 3376 §5, RFC 2236 §6).
/// </summary>
internal sealed class IgmpHost : MulticastMembership<Ipv4Address>
{
    /// <summary>224.0.0.1, the all-systems group (RFC 1112 §4).</summary>
    public static readonly Ipv4Address AllSystems = new(224, 0, 0, 1);
    /// <summary>224.0.0.2, the all-routers group, destination of IGMPv2 Leave Group (RFC 2236 §3).</summary>
    public static readonly Ipv4Address AllRouters = new(224, 0, 0, 2);
    /// <summary>224.0.0.22, the all-IGMPv3-capable-routers group, destination of IGMPv3 reports (RFC 3376 §4.2.14).</summary>
    public static readonly Ipv4Address AllIgmpv3Routers = new(224, 0, 0, 22);

    /// <summary>RFC 3376 §9.1: "record only a limited number of sources" of group-and-source-specific queries.</summary>
    public const int MaxQuerySources = 64;

    private readonly List<MembershipOutput<Ipv4Address>> _scratch = [];
    private TimeSpan _queryInterval = DefaultQueryInterval;

    public IgmpHost(IRandomSource random, int maxGroups, int maxSourcesPerGroup = DefaultMaxSourcesPerGroup)
        : base(random, maxGroups, maxSourcesPerGroup)
    {
    }

    protected override int QuerySourceLimit => MaxQuerySources;

    /// <summary>Until when an IGMPv1 querier counts as present (RFC 3376 §7.2.1 IGMPv1 Querier Present timer).</summary>
    public Instant V1QuerierUntil { get; private set; } = new Instant(long.MinValue);

    /// <summary>Until when an IGMPv2 querier counts as present (RFC 3376 §7.2.1 IGMPv2 Querier Present timer).</summary>
    public Instant V2QuerierUntil { get; private set; } = new Instant(long.MinValue);

    /// <summary>RFC 3376 §7.2.1: v1 while the IGMPv1 Querier Present timer runs, else v2 while the v2 one runs, else v3.</summary>
    public IgmpCompatibility Mode(Instant now) =>
        now < V1QuerierUntil ? IgmpCompatibility.V1 : now < V2QuerierUntil ? IgmpCompatibility.V2 : IgmpCompatibility.V3;

    public override MembershipMode ModeAt(Instant now) => Mode(now) switch
    {
        IgmpCompatibility.V1 => MembershipMode.OldWithoutLeave,
        IgmpCompatibility.V2 => MembershipMode.Old,
        _ => MembershipMode.Current,
    };

    /// <summary>RFC 1112 §6.4 / RFC 1122 §3.3.7: whether datagrams to <paramref name="group"/> are for us; 224.0.0.1 always.</summary>
    public bool IsMember(Ipv4Address group) => group == AllSystems || IsJoined(group);

    /// <summary>RFC 3376 §3.2 with RFC 1112 §6.4: whether a datagram from <paramref name="source"/> to <paramref name="group"/>
    /// is for us: 224.0.0.1 always, else when the group's interface state accepts the source.</summary>
    public bool IsMember(Ipv4Address group, Ipv4Address source) => group == AllSystems || Accepts(group, source);

    /// <summary>RFC 3376 §5 / RFC 2236 §6: 224.0.0.1 is never reported.</summary>
    public static bool IsReportable(Ipv4Address group) => group.IsMulticast && group != AllSystems;

    protected override bool Reportable(Ipv4Address group) => IsReportable(group);

    /// <summary>
    /// A Membership Query heard on the link. <paramref name="group"/> 0.0.0.0 = general query.
    /// <paramref name="robustness"/> and <paramref name="queryInterval"/> come from a v3 query (0 / zero = keep).
    /// <paramref name="sources"/> make a v3 group-and-source-specific query.
    /// </summary>
    public void OnQuery(IgmpQueryVersion version, Ipv4Address group, TimeSpan maxResponseTime, int robustness, TimeSpan queryInterval,
        Instant now, ReadOnlySpan<Ipv4Address> sources = default)
    {
        // RFC 3376 §4.1.6 / §4.1.7: adopt the querier's QRV (0: keep ours) and its query interval.
        if (robustness > 0) Robustness = robustness;
        if (queryInterval > TimeSpan.Zero) _queryInterval = queryInterval;
        if (version is IgmpQueryVersion.V1 or IgmpQueryVersion.V2)
        {
            // RFC 3376 §8.12: Older Version Querier Present Timeout = Robustness Variable * Query Interval + Query Response
            // Interval (the latter taken from the query's own Max Resp Time).
            var until = now + TimeSpan.FromTicks(Robustness * _queryInterval.Ticks) + maxResponseTime;
            bool wasV3 = Mode(now) == IgmpCompatibility.V3;
            if (version == IgmpQueryVersion.V1) V1QuerierUntil = until;
            else V2QuerierUntil = until;
            // RFC 3376 §7.2.1: switch at once; IGMPv3 state has no meaning in the old protocols.
            if (wasV3) CancelCurrentVersionState();
        }
        ScheduleQueryResponse(group, group.IsUnspecified, maxResponseTime, now, sources);
    }

    /// <summary>Appends the messages due at <paramref name="now"/> to <paramref name="output"/>.</summary>
    public void Poll(Instant now, List<IgmpOutput> output)
    {
        _scratch.Clear();
        Poll(now, _scratch);
        foreach (var m in _scratch)
        {
            output.Add(m.Kind switch
            {
                MembershipMessage.Record => new IgmpOutput(IgmpMessageKind.V3Record, m.Group, m.RecordType, m.Sources),
                MembershipMessage.Leave => new IgmpOutput(IgmpMessageKind.V2Leave, m.Group),
                _ => new IgmpOutput(m.Mode == MembershipMode.OldWithoutLeave ? IgmpMessageKind.V1Report : IgmpMessageKind.V2Report, m.Group),
            });
        }
    }
}
