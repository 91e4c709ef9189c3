using NetStack.Network.Ipv4;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

/// <summary>The pure IGMP host state machine (RFC 3376 §5, §7; RFC 2236; RFC 1112).</summary>
public class IgmpHostTests
{
    private static readonly Instant T0 = Instant.FromSeconds(10);
    private static readonly Ipv4Address G = Ipv4Address.Parse("239.1.2.3");
    private static readonly Ipv4Address G2 = Ipv4Address.Parse("239.1.2.4");
    private static readonly TimeSpan S1 = TimeSpan.FromSeconds(1);

    private static List<IgmpOutput> Drain(IgmpHost h, Instant until)
    {
        var all = new List<IgmpOutput>();
        for (var t = h.NextDeadline; t <= until; t = h.NextDeadline) h.Poll(t, all);
        return all;
    }

    private static IgmpHost Joined(ulong seed, params Ipv4Address[] groups)
    {
        var h = new IgmpHost(new SeededRandom(seed), 16);
        foreach (var g in groups) h.Join(g, T0);
        Drain(h, T0 + TimeSpan.FromSeconds(5));
        return h;
    }

    [Fact]
    public void Join_reports_TO_EX_at_once_and_robustness_minus_one_more_times_RFC3376_5_1()
    {
        var h = new IgmpHost(new SeededRandom(1), 16);
        Assert.True(h.Join(G, T0));
        var first = new List<IgmpOutput>();
        h.Poll(T0, first);
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V3Record, G, GroupRecordType.ChangeToExcludeMode)], first);
        Assert.InRange(h.NextDeadline - T0, TimeSpan.Zero, S1); // within the Unsolicited Report Interval (§8.11)
        var rest = Drain(h, T0 + TimeSpan.FromSeconds(5));
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V3Record, G, GroupRecordType.ChangeToExcludeMode)], rest);
        Assert.Equal(Instant.MaxValue, h.NextDeadline);
    }

    [Fact]
    public void Leave_reports_TO_IN_twice()
    {
        var h = Joined(2, G);
        Assert.True(h.Leave(G, T0 + TimeSpan.FromSeconds(6)));
        var msgs = Drain(h, T0 + TimeSpan.FromSeconds(10));
        Assert.Equal(2, msgs.Count);
        Assert.All(msgs, m => Assert.Equal(new IgmpOutput(IgmpMessageKind.V3Record, G, GroupRecordType.ChangeToIncludeMode), m));
        Assert.False(h.IsMember(G));
    }

    [Fact]
    public void All_systems_is_always_a_member_and_never_reported_RFC3376_5()
    {
        var h = new IgmpHost(new SeededRandom(3), 16);
        Assert.True(h.IsMember(IgmpHost.AllSystems));
        h.Join(IgmpHost.AllSystems, T0);
        h.OnQuery(IgmpQueryVersion.V3, default, S1, 0, TimeSpan.Zero, T0);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, T0);
        h.Leave(IgmpHost.AllSystems, T0);
        Assert.Empty(Drain(h, T0 + TimeSpan.FromSeconds(20)));
        Assert.True(h.IsMember(IgmpHost.AllSystems));
    }

    [Fact]
    public void General_query_is_answered_with_IS_EX_of_every_group_within_max_resp_time_RFC3376_5_2()
    {
        var h = Joined(4, G, G2);
        var q = T0 + TimeSpan.FromSeconds(10);
        h.OnQuery(IgmpQueryVersion.V3, default, TimeSpan.FromSeconds(2), 0, TimeSpan.Zero, q);
        Assert.InRange(h.NextDeadline - q, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        var msgs = Drain(h, q + TimeSpan.FromSeconds(3));
        Assert.Equal(2, msgs.Count);
        Assert.All(msgs, m => Assert.Equal(GroupRecordType.ModeIsExclude, m.RecordType));
        Assert.Equal(new[] { G, G2 }.Order(), msgs.Select(m => m.Group).Order());
    }

    [Fact]
    public void Group_specific_query_is_answered_only_for_that_group()
    {
        var h = Joined(5, G, G2);
        var q = T0 + TimeSpan.FromSeconds(10);
        h.OnQuery(IgmpQueryVersion.V3, G2, S1, 0, TimeSpan.Zero, q);
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V3Record, G2, GroupRecordType.ModeIsExclude)], Drain(h, q + TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void Group_query_for_a_group_not_joined_gets_no_answer()
    {
        var h = Joined(6, G);
        h.OnQuery(IgmpQueryVersion.V3, G2, S1, 0, TimeSpan.Zero, T0 + TimeSpan.FromSeconds(6));
        Assert.Empty(Drain(h, T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Group_and_source_query_is_answered_with_IS_IN_of_the_queried_sources_RFC3376_5_2()
    {
        var h = Joined(7, G);
        var s = Ipv4Address.Parse("192.0.2.7");
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V3, G, S1, 0, TimeSpan.Zero, q, [s]);
        var rec = Assert.Single(Drain(h, q + TimeSpan.FromSeconds(2)));
        Assert.Equal(GroupRecordType.ModeIsInclude, rec.RecordType);
        Assert.Equal([s], rec.Sources!);
    }

    [Fact]
    public void Recorded_query_sources_are_bounded_RFC3376_9_1()
    {
        var h = Joined(8, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        var many = Enumerable.Range(0, 500).Select(i => new Ipv4Address(0xC6336400u + (uint)i)).ToArray();
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, q, many);
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, q, many.Reverse().ToArray());
        var rec = Assert.Single(Drain(h, q + TimeSpan.FromSeconds(6)));
        Assert.Equal(IgmpHost.MaxQuerySources, rec.Sources!.Length);
    }

    [Fact]
    public void V2_query_switches_to_v2_reports_to_the_group_RFC3376_7_2_1()
    {
        var h = Joined(9, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, q);
        Assert.Equal(IgmpCompatibility.V2, h.Mode(q));
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V2Report, G)], Drain(h, q + TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void In_v2_mode_a_leave_sends_one_Leave_Group_RFC2236_3()
    {
        var h = Joined(10, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, q);
        Drain(h, q + TimeSpan.FromSeconds(2));
        h.Leave(G, q + TimeSpan.FromSeconds(3));
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V2Leave, G)], Drain(h, q + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void In_v2_mode_a_join_sends_v2_reports()
    {
        var h = Joined(11);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, q);
        h.Join(G, q);
        var msgs = Drain(h, q + TimeSpan.FromSeconds(30));
        Assert.Equal(2, msgs.Count);
        Assert.All(msgs, m => Assert.Equal(new IgmpOutput(IgmpMessageKind.V2Report, G), m));
    }

    [Fact]
    public void V1_query_switches_to_v1_reports_and_no_leave_RFC3376_7_2_1()
    {
        var h = Joined(12, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V1, default, TimeSpan.FromSeconds(10), 0, TimeSpan.Zero, q);
        Assert.Equal(IgmpCompatibility.V1, h.Mode(q));
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V1Report, G)], Drain(h, q + TimeSpan.FromSeconds(11)));
        h.Leave(G, q + TimeSpan.FromSeconds(12));
        Assert.Empty(Drain(h, q + TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void V1_mode_wins_over_v2_mode_while_both_queriers_are_present_RFC3376_7_2_1()
    {
        var h = Joined(13, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V1, default, TimeSpan.FromSeconds(10), 0, TimeSpan.Zero, q);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, q);
        Assert.Equal(IgmpCompatibility.V1, h.Mode(q + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Older_version_querier_present_timer_expires_back_to_v3_RFC3376_8_12()
    {
        var h = Joined(14, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V2, default, TimeSpan.FromSeconds(10), 0, TimeSpan.Zero, q);
        Drain(h, q + TimeSpan.FromSeconds(11));
        // Robustness 2 * Query Interval 125 s + Query Response Interval 10 s = 260 s.
        Assert.Equal(IgmpCompatibility.V2, h.Mode(q + TimeSpan.FromSeconds(259)));
        var back = q + TimeSpan.FromSeconds(260);
        Assert.Equal(IgmpCompatibility.V3, h.Mode(back));
        h.Leave(G, back);
        Assert.All(Drain(h, back + TimeSpan.FromSeconds(5)),
            m => Assert.Equal(new IgmpOutput(IgmpMessageKind.V3Record, G, GroupRecordType.ChangeToIncludeMode), m));
    }

    [Fact]
    public void A_v3_querys_QRV_and_QQIC_set_the_robustness_and_the_timeout()
    {
        var h = Joined(15, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V3, default, S1, 3, TimeSpan.FromSeconds(20), q);
        Drain(h, q + TimeSpan.FromSeconds(2));
        h.Join(G2, q + TimeSpan.FromSeconds(3));
        Assert.Equal(3, Drain(h, q + TimeSpan.FromSeconds(10)).Count); // QRV 3: the change goes 3 times
        var q2 = q + TimeSpan.FromSeconds(20);
        h.OnQuery(IgmpQueryVersion.V2, default, S1, 0, TimeSpan.Zero, q2);
        Assert.Equal(IgmpCompatibility.V2, h.Mode(q2 + TimeSpan.FromSeconds(60))); // 3 * 20 + 1 = 61 s
        Assert.Equal(IgmpCompatibility.V3, h.Mode(q2 + TimeSpan.FromSeconds(61)));
    }

    [Fact]
    public void In_v2_mode_another_members_report_suppresses_ours_RFC2236_3()
    {
        var h = Joined(16, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V2, default, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, q);
        h.OnReportHeard(G, q);
        Assert.Empty(Drain(h, q + TimeSpan.FromSeconds(6)));
    }

    [Fact]
    public void In_v3_mode_reports_of_others_do_not_suppress_ours_RFC3376_5_2()
    {
        var h = Joined(17, G);
        var q = T0 + TimeSpan.FromSeconds(6);
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, q);
        h.OnReportHeard(G, q);
        Assert.Single(Drain(h, q + TimeSpan.FromSeconds(6)));
    }

    [Fact]
    public void Joins_are_reference_counted()
    {
        var h = new IgmpHost(new SeededRandom(18), 16);
        h.Join(G, T0);
        h.Join(G, T0);
        h.Leave(G, T0);
        Assert.True(h.IsMember(G));
        h.Leave(G, T0);
        Assert.False(h.IsMember(G));
        Assert.False(h.Leave(G, T0));
    }

    [Fact]
    public void The_group_table_is_bounded()
    {
        var h = new IgmpHost(new SeededRandom(19), 2);
        Assert.True(h.Join(G, T0));
        Assert.True(h.Join(G2, T0));
        Assert.False(h.Join(Ipv4Address.Parse("239.9.9.9"), T0));
        Assert.True(h.Join(G, T0)); // another reference to a group held is fine
    }
}
