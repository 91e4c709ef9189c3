using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// Source filters of the IGMPv3 host (RFC 3376 §3, §5; the same state machine serves MLDv2, RFC 3810 §4, §6): how
/// socket-level records merge into the interface state, what state changes report, how retransmissions merge, how
/// queries are answered, the old-version compatibility modes, and the limits.
/// </summary>
public sealed class SourceFilterMembershipTests
{
    private static readonly Instant T0 = Instant.FromSeconds(10);
    private static readonly Ipv4Address G = Ipv4Address.Parse("232.1.1.1");
    private static readonly Ipv4Address S1 = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address S2 = Ipv4Address.Parse("192.0.2.11");
    private static readonly Ipv4Address S3 = Ipv4Address.Parse("192.0.2.12");
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static IgmpHost NewHost(ulong seed = 1, int maxSources = 64) => new(new SeededRandom(seed), 16, maxSources);

    private static List<IgmpOutput> Drain(IgmpHost h, Instant until)
    {
        var all = new List<IgmpOutput>();
        for (var t = h.NextDeadline; t <= until; t = h.NextDeadline) h.Poll(t, all);
        return all;
    }

    /// <summary>Everything due now (the immediate report of a change).</summary>
    private static List<IgmpOutput> Now(IgmpHost h, Instant now)
    {
        var list = new List<IgmpOutput>();
        h.Poll(now, list);
        return list;
    }

    /// <summary>A host whose pending reports have all gone out (state changes finish within seconds).</summary>
    private static IgmpHost Quiet(IgmpHost h)
    {
        var start = h.NextDeadline;
        if (start != Instant.MaxValue) Drain(h, start + TimeSpan.FromSeconds(30));
        Assert.Equal(Instant.MaxValue, h.NextDeadline);
        return h;
    }

    private static (GroupRecordType, Ipv4Address[]) R(GroupRecordType type, params Ipv4Address[] sources) => (type, sources);

    private static List<(GroupRecordType Type, Ipv4Address[] Sources)> Records(IEnumerable<IgmpOutput> outputs) =>
        [.. outputs.Select(o =>
        {
            Assert.Equal(IgmpMessageKind.V3Record, o.Kind);
            return (o.RecordType, (o.Sources ?? []).OrderBy(a => a.Value).ToArray());
        })];

    private static void AssertRecords(IEnumerable<IgmpOutput> actual, params (GroupRecordType Type, Ipv4Address[] Sources)[] expected)
    {
        var got = Records(actual);
        Assert.Equal(expected.Length, got.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Type, got[i].Type);
            Assert.Equal(expected[i].Sources.OrderBy(a => a.Value), got[i].Sources);
        }
    }

    private static void AssertState(IgmpHost h, bool exclude, params Ipv4Address[] sources)
    {
        var (ex, list) = h.StateOf(G);
        Assert.Equal(exclude, ex);
        Assert.Equal(sources.OrderBy(a => a.Value), list.OrderBy(a => a.Value));
    }

    // ---- RFC 3376 §3.2 merge rules ----

    [Fact]
    public void Source_joins_merge_to_INCLUDE_with_the_union_of_their_sources_RFC3376_3_2()
    {
        var h = NewHost();
        h.JoinSource(G, S1, T0);
        h.JoinSource(G, S2, T0);
        h.JoinSource(G, S1, T0);
        AssertState(h, false, S1, S2);
        Assert.Equal(FilterChangeResult.Done, h.LeaveSource(G, S1, T0));
        AssertState(h, false, S1, S2); // S1 is still joined once
        h.LeaveSource(G, S1, T0);
        AssertState(h, false, S2);
    }

    [Fact]
    public void Any_EXCLUDE_record_makes_EXCLUDE_with_the_intersection_minus_the_included_sources_RFC3376_3_2()
    {
        var h = NewHost();
        h.Join(G, T0);
        h.Join(G, T0);
        Assert.Equal(FilterChangeResult.Done, h.BlockSource(G, S1, T0)); // record 1: {S1}
        Assert.Equal(FilterChangeResult.Done, h.BlockSource(G, S2, T0)); // record 1: {S1, S2}
        AssertState(h, true); // record 2 blocks nothing: the intersection is empty
        Assert.Equal(FilterChangeResult.Done, h.BlockSource(G, S1, T0)); // record 2: {S1}
        AssertState(h, true, S1);
        h.JoinSource(G, S1, T0); // an INCLUDE {S1} record takes S1 out of the exclusion
        AssertState(h, true);
        h.LeaveSource(G, S1, T0);
        AssertState(h, true, S1);
    }

    [Fact]
    public void Receive_filter_accepts_listed_sources_in_INCLUDE_and_unlisted_ones_in_EXCLUDE_RFC3376_3_2()
    {
        var h = NewHost();
        h.JoinSource(G, S1, T0);
        Assert.True(h.IsMember(G, S1));
        Assert.False(h.IsMember(G, S2));
        h.Join(G, T0);
        h.BlockSource(G, S2, T0);
        Assert.True(h.IsMember(G, S1));
        Assert.False(h.IsMember(G, S2));
        Assert.True(h.IsMember(G, S3));
        Assert.True(h.IsMember(IgmpHost.AllSystems, S2)); // 224.0.0.1 has no filter
    }

    [Fact]
    public void Leave_after_the_last_record_leaves_the_group_and_filters_everything()
    {
        var h = NewHost();
        h.JoinSource(G, S1, T0);
        h.LeaveSource(G, S1, T0);
        Assert.False(h.IsJoined(G));
        Assert.False(h.IsMember(G, S1));
        Assert.Equal(FilterChangeResult.NotFound, h.LeaveSource(G, S1, T0));
        Assert.Equal(FilterChangeResult.NotFound, h.BlockSource(G, S1, T0)); // no any-source join to block in
        Assert.Equal(FilterChangeResult.NotFound, h.UnblockSource(G, S1, T0));
    }

    // ---- RFC 3376 §5.1 state-change table ----

    [Fact]
    public void INCLUDE_A_to_INCLUDE_B_reports_ALLOW_B_minus_A_RFC3376_5_1()
    {
        // INCLUDE {} -> INCLUDE {S1}: the first source join.
        var h = NewHost();
        h.JoinSource(G, S1, T0);
        AssertRecords(Now(h, T0), R(GroupRecordType.AllowNewSources, S1));
    }

    [Fact]
    public void INCLUDE_A_to_INCLUDE_B_reports_ALLOW_and_BLOCK_RFC3376_5_1()
    {
        var h = Quiet(NewHost());
        h.JoinSource(G, S1, T0);
        h.JoinSource(G, S2, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        // {S1, S2} -> {S2, S3} in one step is not possible through the API; two steps each report their own difference.
        h.JoinSource(G, S3, t);
        AssertRecords(Now(h, t), R(GroupRecordType.AllowNewSources, S3));
        Quiet(h);
        var u = t + TimeSpan.FromSeconds(40);
        h.LeaveSource(G, S1, u);
        AssertRecords(Now(h, u), R(GroupRecordType.BlockOldSources, S1));
    }

    [Fact]
    public void EXCLUDE_A_to_EXCLUDE_B_reports_BLOCK_B_minus_A_and_ALLOW_A_minus_B_RFC3376_5_1()
    {
        var h = NewHost();
        h.Join(G, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.BlockSource(G, S1, t);
        AssertRecords(Now(h, t), R(GroupRecordType.BlockOldSources, S1));
        Quiet(h);
        var u = t + TimeSpan.FromSeconds(40);
        h.UnblockSource(G, S1, u);
        AssertRecords(Now(h, u), R(GroupRecordType.AllowNewSources, S1));
    }

    [Fact]
    public void INCLUDE_A_to_EXCLUDE_B_reports_TO_EX_B_RFC3376_5_1()
    {
        var h = NewHost();
        h.JoinSource(G, S1, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.Join(G, t); // EXCLUDE {} merged with INCLUDE {S1}: EXCLUDE {}
        AssertRecords(Now(h, t), R(GroupRecordType.ChangeToExcludeMode));
        AssertState(h, true);
    }

    [Fact]
    public void EXCLUDE_A_to_INCLUDE_B_reports_TO_IN_B_RFC3376_5_1()
    {
        var h = NewHost();
        h.Join(G, T0);
        h.JoinSource(G, S1, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.Leave(G, t);
        AssertRecords(Now(h, t), R(GroupRecordType.ChangeToIncludeMode, S1));
        AssertState(h, false, S1);
    }

    [Fact]
    public void Leaving_the_last_source_reports_BLOCK_of_it_RFC3376_5_1()
    {
        // INCLUDE {S1} -> INCLUDE {}: BLOCK({S1}), repeated [Robustness Variable] times.
        var h = Quiet(NewHost());
        h.JoinSource(G, S1, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.LeaveSource(G, S1, t);
        var all = Drain(h, t + TimeSpan.FromSeconds(10));
        AssertRecords(all, R(GroupRecordType.BlockOldSources, S1), R(GroupRecordType.BlockOldSources, S1));
        Assert.Equal(Instant.MaxValue, h.NextDeadline);
    }

    [Fact]
    public void A_change_that_leaves_the_interface_state_as_it_was_reports_nothing_RFC3376_5_1()
    {
        var h = NewHost();
        h.Join(G, T0);
        h.Join(G, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.BlockSource(G, S1, t); // the other record still wants S1
        Assert.Empty(Now(h, t));
        Assert.Equal(Instant.MaxValue, h.NextDeadline);
    }

    // ---- retransmission and merging ----

    [Fact]
    public void A_source_list_change_is_sent_Robustness_Variable_times_within_the_unsolicited_report_interval_RFC3376_5_1()
    {
        var h = NewHost(5);
        h.JoinSource(G, S1, T0);
        AssertRecords(Now(h, T0), R(GroupRecordType.AllowNewSources, S1));
        Assert.InRange(h.NextDeadline - T0, TimeSpan.Zero, Second);
        AssertRecords(Drain(h, T0 + TimeSpan.FromSeconds(10)), R(GroupRecordType.AllowNewSources, S1));
        Assert.Equal(Instant.MaxValue, h.NextDeadline);
    }

    [Fact]
    public void The_querier_robustness_variable_sets_the_number_of_transmissions_RFC3376_5_1_and_8_1()
    {
        var h = NewHost(6);
        h.OnQuery(IgmpQueryVersion.V3, G, Second, 4, TimeSpan.Zero, T0); // QRV 4 (G not joined: nothing to answer)
        var t = T0 + Second;
        h.JoinSource(G, S1, t);
        Assert.Equal(4, Drain(h, t + TimeSpan.FromSeconds(10)).Count);
    }

    [Fact]
    public void A_second_change_while_one_is_pending_is_sent_at_once_and_each_source_keeps_its_own_count_RFC3376_5_1()
    {
        var h = NewHost(7);
        h.JoinSource(G, S1, T0);
        AssertRecords(Now(h, T0), R(GroupRecordType.AllowNewSources, S1)); // S1: one retransmission left
        var t = T0 + TimeSpan.FromMilliseconds(1);
        h.JoinSource(G, S2, t);
        // The merged report goes at once: S1's retransmission and S2's first transmission in one ALLOW record.
        AssertRecords(Now(h, t), R(GroupRecordType.AllowNewSources, S1, S2));
        // Then only S2 has a retransmission left.
        AssertRecords(Drain(h, t + TimeSpan.FromSeconds(10)), R(GroupRecordType.AllowNewSources, S2));
    }

    [Fact]
    public void A_pending_source_whose_change_is_undone_is_reported_with_its_current_treatment_RFC3376_5_1()
    {
        // ALLOW = sources with retransmission state that must be forwarded; BLOCK = those that must be blocked.
        var h = NewHost(8);
        h.JoinSource(G, S1, T0);
        h.JoinSource(G, S2, T0);
        Now(h, T0);
        var t = T0 + TimeSpan.FromMilliseconds(1);
        h.LeaveSource(G, S1, t);
        AssertRecords(Now(h, t), R(GroupRecordType.AllowNewSources, S2), R(GroupRecordType.BlockOldSources, S1));
    }

    [Fact]
    public void A_filter_mode_change_takes_precedence_over_pending_source_changes_Robustness_times_RFC3376_5_1()
    {
        var h = NewHost(9);
        h.JoinSource(G, S1, T0);
        Now(h, T0); // ALLOW(S1) once; one retransmission pending
        var t = T0 + TimeSpan.FromMilliseconds(1);
        h.Join(G, t); // INCLUDE {S1} -> EXCLUDE {}
        AssertRecords(Now(h, t), R(GroupRecordType.ChangeToExcludeMode));
        var u = t + TimeSpan.FromMilliseconds(1);
        h.BlockSource(G, S2, u); // a source-list change during the filter-mode retransmissions
        AssertRecords(Now(h, u), R(GroupRecordType.ChangeToExcludeMode, S2)); // still TO_EX, with the new state
        // That was the second of [Robustness Variable] = 2 filter-mode-change reports, and S2's first state-change report:
        // S2 is owed one more, a source-list-change record.
        AssertRecords(Drain(h, u + TimeSpan.FromSeconds(10)), R(GroupRecordType.BlockOldSources, S2));
    }

    [Fact]
    public void A_source_change_after_the_first_filter_mode_report_gets_source_records_for_the_reports_it_is_still_owed_RFC3376_5_1()
    {
        var h = NewHost(19, 64);
        h.OnQuery(IgmpQueryVersion.V3, G, Second, 3, TimeSpan.Zero, T0); // Robustness Variable 3
        h.Join(G, T0);
        AssertRecords(Now(h, T0), R(GroupRecordType.ChangeToExcludeMode)); // 2 filter-mode reports left
        var t = T0 + TimeSpan.FromMilliseconds(1);
        h.BlockSource(G, S1, t); // S1 is owed 3 reports
        AssertRecords(Now(h, t), R(GroupRecordType.ChangeToExcludeMode, S1));
        AssertRecords(Drain(h, t + TimeSpan.FromSeconds(10)),
            R(GroupRecordType.ChangeToExcludeMode, S1), R(GroupRecordType.BlockOldSources, S1));
    }

    [Fact]
    public void Join_and_leave_of_any_source_still_report_TO_EX_and_TO_IN_of_nothing_RFC3376_5_1()
    {
        var h = NewHost(10);
        h.Join(G, T0);
        AssertRecords(Drain(h, T0 + TimeSpan.FromSeconds(5)), R(GroupRecordType.ChangeToExcludeMode), R(GroupRecordType.ChangeToExcludeMode));
        var t = T0 + TimeSpan.FromSeconds(10);
        h.Leave(G, t);
        AssertRecords(Drain(h, t + TimeSpan.FromSeconds(5)), R(GroupRecordType.ChangeToIncludeMode), R(GroupRecordType.ChangeToIncludeMode));
        Assert.Equal(0, h.Count);
    }

    // ---- RFC 3376 §5.2 query answers ----

    private static IgmpHost Answering(Action<IgmpHost> setUp)
    {
        var h = NewHost(11);
        setUp(h);
        return Quiet(h);
    }

    private static readonly Instant Q = T0 + TimeSpan.FromSeconds(60);

    private static List<IgmpOutput> Answer(IgmpHost h, Ipv4Address group, params Ipv4Address[] sources)
    {
        h.OnQuery(IgmpQueryVersion.V3, group, Second, 0, TimeSpan.Zero, Q, sources);
        return Drain(h, Q + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void General_query_is_answered_with_IS_IN_of_the_included_sources_RFC3376_5_2()
    {
        var h = Answering(x => { x.JoinSource(G, S1, T0); x.JoinSource(G, S2, T0); });
        AssertRecords(Answer(h, default), R(GroupRecordType.ModeIsInclude, S1, S2));
    }

    [Fact]
    public void General_query_is_answered_with_IS_EX_of_the_blocked_sources_RFC3376_5_2()
    {
        var h = Answering(x => { x.Join(G, T0); x.BlockSource(G, S1, T0); });
        AssertRecords(Answer(h, default), R(GroupRecordType.ModeIsExclude, S1));
    }

    [Fact]
    public void Group_specific_query_is_answered_with_the_current_state_RFC3376_5_2()
    {
        var h = Answering(x => x.JoinSource(G, S1, T0));
        AssertRecords(Answer(h, G), R(GroupRecordType.ModeIsInclude, S1));
    }

    [Fact]
    public void INCLUDE_A_and_a_source_query_for_B_is_answered_IS_IN_A_times_B_RFC3376_5_2()
    {
        var h = Answering(x => { x.JoinSource(G, S1, T0); x.JoinSource(G, S2, T0); });
        AssertRecords(Answer(h, G, S2, S3), R(GroupRecordType.ModeIsInclude, S2));
    }

    [Fact]
    public void INCLUDE_A_and_a_source_query_for_sources_outside_A_gets_no_answer_RFC3376_5_2()
    {
        var h = Answering(x => x.JoinSource(G, S1, T0));
        Assert.Empty(Answer(h, G, S2, S3));
    }

    [Fact]
    public void EXCLUDE_A_and_a_source_query_for_B_is_answered_IS_IN_B_minus_A_RFC3376_5_2()
    {
        var h = Answering(x => { x.Join(G, T0); x.BlockSource(G, S1, T0); });
        AssertRecords(Answer(h, G, S1, S2), R(GroupRecordType.ModeIsInclude, S2));
    }

    [Fact]
    public void EXCLUDE_A_and_a_source_query_only_for_blocked_sources_gets_no_answer_RFC3376_5_2()
    {
        var h = Answering(x => { x.Join(G, T0); x.BlockSource(G, S1, T0); });
        Assert.Empty(Answer(h, G, S1));
    }

    [Fact]
    public void Pending_source_queries_merge_their_source_lists_RFC3376_5_2_rule_5()
    {
        var h = Answering(x => { x.JoinSource(G, S1, T0); x.JoinSource(G, S2, T0); x.JoinSource(G, S3, T0); });
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, Q, [S1]);
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, Q, [S2]);
        AssertRecords(Drain(h, Q + TimeSpan.FromSeconds(6)), R(GroupRecordType.ModeIsInclude, S1, S2));
    }

    [Fact]
    public void A_group_query_over_a_pending_source_query_answers_the_whole_state_RFC3376_5_2_rule_5()
    {
        var h = Answering(x => { x.JoinSource(G, S1, T0); x.JoinSource(G, S2, T0); });
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, Q, [S1]);
        h.OnQuery(IgmpQueryVersion.V3, G, TimeSpan.FromSeconds(5), 0, TimeSpan.Zero, Q);
        AssertRecords(Drain(h, Q + TimeSpan.FromSeconds(6)), R(GroupRecordType.ModeIsInclude, S1, S2));
    }

    [Fact]
    public void Recorded_query_sources_are_bounded_RFC3376_9_1()
    {
        var h = Answering(x => x.Join(G, T0));
        var many = Enumerable.Range(0, 200).Select(i => new Ipv4Address(198, 51, 100, (byte)i)).ToArray();
        var answer = Assert.Single(Answer(h, G, many));
        Assert.Equal(GroupRecordType.ModeIsInclude, answer.RecordType);
        Assert.Equal(IgmpHost.MaxQuerySources, answer.Sources!.Length);
    }

    // ---- RFC 3376 §7.2.1 compatibility ----

    private static void HearV2Querier(IgmpHost h, Instant now) =>
        h.OnQuery(IgmpQueryVersion.V2, default, TimeSpan.FromMilliseconds(1), 0, TimeSpan.Zero, now);

    [Fact]
    public void In_IGMPv2_mode_a_source_join_is_an_IGMPv2_report_RFC3376_7_2_1()
    {
        var h = NewHost(12);
        HearV2Querier(h, T0);
        Drain(h, T0 + Second);
        var t = T0 + Second;
        h.JoinSource(G, S1, t);
        var sent = Drain(h, t + TimeSpan.FromSeconds(30));
        Assert.Equal(2, sent.Count);
        Assert.All(sent, m => Assert.Equal(new IgmpOutput(IgmpMessageKind.V2Report, G), m));
    }

    [Fact]
    public void In_IGMPv2_mode_a_source_list_change_is_a_report_and_TO_IN_of_nothing_a_leave_RFC3376_7_2_1()
    {
        var h = NewHost(13);
        HearV2Querier(h, T0);
        var t = T0 + Second;
        h.JoinSource(G, S1, t);
        Drain(h, t + TimeSpan.FromSeconds(30));
        var u = t + TimeSpan.FromSeconds(31);
        h.JoinSource(G, S2, u);
        Assert.All(Drain(h, u + TimeSpan.FromSeconds(30)), m => Assert.Equal(IgmpMessageKind.V2Report, m.Kind));
        var v = u + TimeSpan.FromSeconds(31);
        h.LeaveSource(G, S1, v);
        h.LeaveSource(G, S2, v);
        Assert.Contains(new IgmpOutput(IgmpMessageKind.V2Leave, G), Drain(h, v + TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void In_IGMPv2_mode_a_query_for_a_source_joined_group_is_answered_with_a_report_RFC3376_7_2_1()
    {
        var h = NewHost(14);
        h.JoinSource(G, S1, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        HearV2Querier(h, t);
        Assert.Equal([new IgmpOutput(IgmpMessageKind.V2Report, G)], Drain(h, t + Second));
    }

    [Fact]
    public void Block_in_IGMPv1_mode_sends_a_report_and_leaving_sends_nothing_RFC3376_7_2_1()
    {
        var h = NewHost(15);
        h.Join(G, T0);
        Quiet(h);
        var t = T0 + TimeSpan.FromSeconds(40);
        h.OnQuery(IgmpQueryVersion.V1, default, TimeSpan.FromMilliseconds(1), 0, TimeSpan.Zero, t);
        Drain(h, t + Second);
        var u = t + Second;
        h.BlockSource(G, S1, u);
        Assert.All(Drain(h, u + TimeSpan.FromSeconds(30)), m => Assert.Equal(IgmpMessageKind.V1Report, m.Kind));
        var v = u + TimeSpan.FromSeconds(31);
        h.Leave(G, v);
        Assert.Empty(Drain(h, v + TimeSpan.FromSeconds(30)));
    }

    // ---- limits ----

    [Fact]
    public void Source_joins_beyond_the_per_group_limit_are_refused()
    {
        var h = NewHost(16, maxSources: 2);
        Assert.Equal(FilterChangeResult.Done, h.JoinSource(G, S1, T0));
        Assert.Equal(FilterChangeResult.Done, h.JoinSource(G, S2, T0));
        Assert.Equal(FilterChangeResult.Done, h.JoinSource(G, S2, T0)); // a known source is only counted again
        Assert.Equal(FilterChangeResult.SourceLimit, h.JoinSource(G, S3, T0));
        AssertState(h, false, S1, S2);
    }

    [Fact]
    public void Blocked_sources_beyond_the_per_group_limit_are_refused()
    {
        var h = NewHost(17, maxSources: 1);
        h.Join(G, T0);
        Assert.Equal(FilterChangeResult.Done, h.BlockSource(G, S1, T0));
        Assert.Equal(FilterChangeResult.SourceLimit, h.BlockSource(G, S2, T0));
        AssertState(h, true, S1);
    }

    [Fact]
    public void A_source_join_for_a_new_group_counts_against_the_group_table()
    {
        var h = new IgmpHost(new SeededRandom(18), 1);
        Assert.True(h.Join(G, T0));
        Assert.Equal(FilterChangeResult.GroupTableFull, h.JoinSource(Ipv4Address.Parse("232.1.1.2"), S1, T0));
        Assert.Equal(FilterChangeResult.Done, h.JoinSource(G, S1, T0)); // the joined group takes more records
    }
}
