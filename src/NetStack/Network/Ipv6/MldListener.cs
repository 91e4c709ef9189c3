using NetStack.Wire;

namespace NetStack.Network.Ipv6;

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
internal readonly record struct MldOutput(MldMessageKind Kind, Ipv6Address Group, GroupRecordType RecordType, Ipv6Address[]? Sources = null);

/// <summary>
/// The multicast listener side of MLDv2 (RFC 3810 §6-7) on one interface, with MLDv1 compatibility (§8), over the
/// shared <see cref="MulticastMembership{TAddress}"/> state machine: this class adds the IPv6 groups, the MLDv1
/// Older Version Querier Present timer and the MLD message kinds. The all-nodes group and groups of scope 0 or 1 are
/// never reported (§6).
/// </summary>
internal sealed class MldListener : MulticastMembership<Ipv6Address>
{
    /// <summary>RFC 2710 §7.10: MLDv1 Unsolicited Report Interval, 10 seconds.</summary>
    public static readonly TimeSpan V1UnsolicitedReportInterval = OldUnsolicitedReportInterval;

    private readonly List<MembershipOutput<Ipv6Address>> _scratch = [];

    public MldListener(IRandomSource random, int maxGroups, int maxSourcesPerGroup = DefaultMaxSourcesPerGroup)
        : base(random, maxGroups, maxSourcesPerGroup)
    {
    }

    /// <summary>RFC 3810 §10.1 leaves the bound open; we keep at most this many sources of a group-and-source query.</summary>
    protected override int QuerySourceLimit => 256;

    /// <summary>Until when an MLDv1 querier was heard (RFC 3810 §8.2.1 Older Version Querier Present timer).</summary>
    public Instant V1CompatibilityUntil { get; private set; } = new Instant(long.MinValue);

    public bool IsV1Compatible(Instant now) => now < V1CompatibilityUntil;

    public override MembershipMode ModeAt(Instant now) => IsV1Compatible(now) ? MembershipMode.Old : MembershipMode.Current;

    public bool IsMember(Ipv6Address group) => IsJoined(group);

    /// <summary>RFC 3810 §4.2: whether the interface state of <paramref name="group"/> accepts <paramref name="source"/>.</summary>
    public bool IsMember(Ipv6Address group, Ipv6Address source) => Accepts(group, source);

    /// <summary>RFC 3810 §6: ff02::1 and scope 0/1 groups are never reported.</summary>
    public static bool IsReportable(Ipv6Address group) =>
        group.IsMulticast && group != Ipv6Address.AllNodes && group.MulticastScope > 1;

    protected override bool Reportable(Ipv6Address group) => IsReportable(group);

    /// <summary>
    /// A query heard on the link. <paramref name="group"/> unspecified = general query. <paramref name="isV1"/>:
    /// a 24-byte MLDv1 query, which switches the listener into compatibility mode (RFC 3810 §8.2.1).
    /// <paramref name="robustness"/> and <paramref name="queryInterval"/> come from an MLDv2 query (0 = keep).
    /// </summary>
    public void OnQuery(Ipv6Address group, TimeSpan maxResponseDelay, bool isV1, int robustness, TimeSpan queryInterval, Instant now,
        ReadOnlySpan<Ipv6Address> sources = default)
    {
        if (robustness > 0) Robustness = robustness; // RFC 3810 §9.1: adopt the querier's QRV
        if (isV1)
        {
            var qi = queryInterval > TimeSpan.Zero ? queryInterval : DefaultQueryInterval;
            // RFC 3810 §9.12: Older Version Querier Present Timeout = Robustness * Query Interval + Query Response Interval.
            V1CompatibilityUntil = now + TimeSpan.FromTicks(Robustness * qi.Ticks) + DefaultQueryResponseInterval;
            CancelGeneralResponse();
        }
        ScheduleQueryResponse(group, group.IsUnspecified, maxResponseDelay, now, sources);
    }

    /// <summary>RFC 2710 §4: in MLDv1 mode, another listener's report for a group cancels our pending report.</summary>
    public void OnV1ReportHeard(Ipv6Address group, Instant now) => OnReportHeard(group, now);

    /// <summary>Appends the messages due at <paramref name="now"/> to <paramref name="output"/>.</summary>
    public void Poll(Instant now, List<MldOutput> output)
    {
        _scratch.Clear();
        Poll(now, _scratch);
        foreach (var m in _scratch)
        {
            output.Add(m.Kind switch
            {
                MembershipMessage.Record => new MldOutput(MldMessageKind.V2Record, m.Group, m.RecordType, m.Sources),
                MembershipMessage.Leave => new MldOutput(MldMessageKind.V1Done, m.Group, default),
                _ => new MldOutput(MldMessageKind.V1Report, m.Group, default),
            });
        }
    }
}
