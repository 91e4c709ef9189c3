using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class MldListenerTests
{
    private static readonly Instant T0 = Instant.FromSeconds(10);
    private static readonly Ipv6Address G = Ipv6Address.Parse("ff02::1:ff00:1");

    private static List<MldOutput> Drain(MldListener l, Instant until)
    {
        var all = new List<MldOutput>();
        for (var t = l.NextDeadline; t <= until; t = l.NextDeadline) l.Poll(t, all);
        return all;
    }

    [Fact]
    public void Join_reports_change_to_exclude_robustness_times_RFC3810_6_1()
    {
        var l = new MldListener(new SeededRandom(1), 16);
        l.Join(G, T0);
        var out0 = new List<MldOutput>();
        l.Poll(T0, out0); // sent at once
        Assert.Equal([new MldOutput(MldMessageKind.V2Record, G, GroupRecordType.ChangeToExcludeMode)], out0);
        var rest = Drain(l, T0 + TimeSpan.FromSeconds(5));
        Assert.Single(rest); // Robustness Variable 2: one retransmission
        Assert.True(l.NextDeadline == Instant.MaxValue);
    }

    [Fact]
    public void Retransmission_comes_within_the_unsolicited_report_interval()
    {
        var l = new MldListener(new SeededRandom(2), 16);
        l.Join(G, T0);
        l.Poll(T0, []);
        Assert.InRange(l.NextDeadline - T0, TimeSpan.Zero, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void All_nodes_group_is_never_reported_RFC3810_6()
    {
        var l = new MldListener(new SeededRandom(3), 16);
        l.Join(Ipv6Address.AllNodes, T0);
        l.Join(Ipv6Address.Parse("ff01::5"), T0);
        l.OnQuery(Ipv6Address.Unspecified, TimeSpan.FromSeconds(1), false, 0, TimeSpan.Zero, T0);
        Assert.Empty(Drain(l, T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void General_query_is_answered_with_mode_is_exclude_within_max_response_delay_RFC3810_6_2()
    {
        var l = new MldListener(new SeededRandom(4), 16);
        l.Join(G, T0);
        Drain(l, T0 + TimeSpan.FromSeconds(5));
        var q = T0 + TimeSpan.FromSeconds(10);
        l.OnQuery(Ipv6Address.Unspecified, TimeSpan.FromSeconds(2), false, 0, TimeSpan.Zero, q);
        Assert.InRange(l.NextDeadline - q, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        var msgs = Drain(l, q + TimeSpan.FromSeconds(3));
        Assert.Equal([new MldOutput(MldMessageKind.V2Record, G, GroupRecordType.ModeIsExclude)], msgs);
    }

    [Fact]
    public void Group_query_for_a_group_we_do_not_listen_to_gets_no_answer()
    {
        var l = new MldListener(new SeededRandom(5), 16);
        l.Join(G, T0);
        Drain(l, T0 + TimeSpan.FromSeconds(5));
        l.OnQuery(Ipv6Address.Parse("ff02::1:ff00:2"), TimeSpan.FromSeconds(1), false, 0, TimeSpan.Zero, T0 + TimeSpan.FromSeconds(6));
        Assert.Empty(Drain(l, T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Leave_reports_change_to_include()
    {
        var l = new MldListener(new SeededRandom(6), 16);
        l.Join(G, T0);
        Drain(l, T0 + TimeSpan.FromSeconds(5));
        l.Leave(G, T0 + TimeSpan.FromSeconds(6));
        var msgs = Drain(l, T0 + TimeSpan.FromSeconds(10));
        Assert.Equal(2, msgs.Count);
        Assert.All(msgs, m => Assert.Equal(GroupRecordType.ChangeToIncludeMode, m.RecordType));
    }

    [Fact]
    public void V1_query_switches_to_v1_reports_RFC3810_8_2_1()
    {
        var l = new MldListener(new SeededRandom(7), 16);
        l.Join(G, T0);
        Drain(l, T0 + TimeSpan.FromSeconds(5));
        var q = T0 + TimeSpan.FromSeconds(6);
        l.OnQuery(Ipv6Address.Unspecified, TimeSpan.FromSeconds(1), true, 0, TimeSpan.Zero, q);
        Assert.True(l.IsV1Compatible(q + TimeSpan.FromSeconds(259)));
        Assert.False(l.IsV1Compatible(q + TimeSpan.FromSeconds(260)));
        var msgs = Drain(l, q + TimeSpan.FromSeconds(2));
        Assert.Equal([new MldOutput(MldMessageKind.V1Report, G, default)], msgs);
    }

    [Fact]
    public void Joins_are_reference_counted()
    {
        var l = new MldListener(new SeededRandom(8), 16);
        l.Join(G, T0);
        l.Join(G, T0);
        l.Leave(G, T0);
        Assert.True(l.IsMember(G));
        l.Leave(G, T0);
        Assert.False(l.IsMember(G));
    }
}

public class MldSourceQueryTests
{
    [Fact]
    public void Group_and_source_query_is_answered_with_mode_is_include_of_the_queried_sources_RFC3810_6_3()
    {
        var t0 = Instant.FromSeconds(10);
        var g = Ipv6Address.Parse("ff05::1234");
        var s1 = Ipv6Address.Parse("2001:db8::1");
        var l = new MldListener(new SeededRandom(9), 16);
        l.Join(g, t0);
        var sink = new List<MldOutput>();
        for (var t = l.NextDeadline; t <= t0 + TimeSpan.FromSeconds(5); t = l.NextDeadline) l.Poll(t, sink);
        var q = t0 + TimeSpan.FromSeconds(6);
        l.OnQuery(g, TimeSpan.FromSeconds(1), false, 0, TimeSpan.Zero, q, [s1]);
        var outp = new List<MldOutput>();
        l.Poll(q + TimeSpan.FromSeconds(1), outp);
        var rec = Assert.Single(outp);
        Assert.Equal(GroupRecordType.ModeIsInclude, rec.RecordType);
        Assert.Equal([s1], rec.Sources!);
    }
}
