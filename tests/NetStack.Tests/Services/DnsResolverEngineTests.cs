using NetStack.Services;
using NetStack.Wire;

namespace NetStack.Tests.Services;

public class DnsResolverEngineTests
{
    private static readonly IpAddress S1 = Ipv4Address.Parse("192.0.2.53");
    private static readonly IpAddress S2 = Ipv6Address.Parse("2001:db8::53");
    private static readonly Ipv4Address Addr = Ipv4Address.Parse("198.51.100.7");

    private static DnsResolverEngine NewEngine(Func<DnsResolverOptions, DnsResolverOptions>? tweak = null, ulong seed = 1)
    {
        var o = new DnsResolverOptions([S1, S2]) { Timeout = TimeSpan.FromSeconds(2), Attempts = 2 };
        return new DnsResolverEngine(tweak is null ? o : tweak(o), new SeededRandom(seed));
    }

    private static Instant At(double s) => Instant.FromSeconds(s);

    private static List<DnsOutgoing> Drain(DnsResolverEngine e)
    {
        var l = new List<DnsOutgoing>();
        while (e.TryDequeueOutgoing(out var o)) l.Add(o);
        return l;
    }

    private static List<DnsResult> Results(DnsResolverEngine e)
    {
        var l = new List<DnsResult>();
        while (e.TryDequeueResult(out var r)) l.Add(r);
        return l;
    }

    /// <summary>A scripted server: answers the question of <paramref name="query"/> with what <paramref name="fill"/> adds.</summary>
    private static byte[] Answer(ReadOnlyMemory<byte> query, DnsWriterAction? fill = null, DnsRcode rcode = DnsRcode.NoError,
        bool truncated = false, ushort? id = null, string? questionName = null)
    {
        Assert.True(DnsMessage.TryParse(query.Span, out var q, out _));
        string name = "";
        DnsType type = default;
        foreach (var question in q.Questions) { name = question.Name.ToString(); type = question.Type; }
        var buf = new byte[512];
        var w = new DnsWriter(buf, new DnsHeader(id ?? q.Id, IsResponse: true, Truncated: truncated, RecursionAvailable: true, Rcode: rcode));
        Assert.True(w.TryAddQuestion(questionName ?? name, type));
        fill?.Invoke(ref w, name);
        return buf[..w.Length];
    }

    private delegate void DnsWriterAction(ref DnsWriter w, string name);

    [Fact]
    public void A_query_goes_to_the_first_server_with_a_random_id_and_recursion_desired()
    {
        var e = NewEngine();
        var h = e.StartQuery("www.example.test", DnsType.A, At(0));
        var o = Assert.Single(Drain(e));
        Assert.Equal(h, o.Handle);
        Assert.Equal(S1, o.Server);
        Assert.True(DnsMessage.TryParse(o.Payload.Span, out var m, out _));
        Assert.True(m.RecursionDesired);
        Assert.False(m.IsResponse);
        foreach (var q in m.Questions) { Assert.Equal("www.example.test", q.Name.ToString()); Assert.Equal(DnsType.A, q.Type); }
        var other = NewEngine(seed: 2);
        other.StartQuery("www.example.test", DnsType.A, At(0));
        Assert.True(DnsMessage.TryParse(Drain(other)[0].Payload.Span, out var m2, out _));
        Assert.NotEqual(m.Id, m2.Id);
    }

    [Fact]
    public void Answer_with_addresses_completes_the_query()
    {
        var e = NewEngine();
        var h = e.StartQuery("www.example.test", DnsType.A, At(0));
        var o = Drain(e)[0];
        e.Receive(S1, Answer(o.Payload, (ref DnsWriter w, string n) =>
        {
            w.TryAddA(DnsSection.Answer, n, 300, Addr);
            w.TryAddA(DnsSection.Answer, n, 200, Ipv4Address.Parse("198.51.100.8"));
        }), At(0.1));
        var r = Assert.Single(Results(e));
        Assert.Equal(h, r.Handle);
        Assert.Equal(DnsQueryStatus.Success, r.Status);
        Assert.Equal([(IpAddress)Addr, Ipv4Address.Parse("198.51.100.8")], r.Addresses);
        Assert.Equal(TimeSpan.FromSeconds(200), r.Ttl);
        Assert.Equal(0, e.Outstanding);
    }

    [Fact]
    public void Timeouts_move_through_the_servers_in_order_then_fail_with_Timeout()
    {
        var e = NewEngine();
        e.StartQuery("www.example.test", DnsType.A, At(0));
        var servers = new List<IpAddress> { Drain(e)[0].Server };
        for (int i = 1; i < 4; i++)
        {
            Assert.Equal(At(2 * i), e.NextDeadline);
            e.Poll(At(2 * i) - TimeSpan.FromMilliseconds(1));
            Assert.Empty(Drain(e));
            e.Poll(At(2 * i));
            servers.Add(Assert.Single(Drain(e)).Server);
        }
        Assert.Equal([S1, S2, S1, S2], servers);
        Assert.Empty(Results(e));
        e.Poll(At(8));
        Assert.Equal(DnsQueryStatus.Timeout, Assert.Single(Results(e)).Status);
        Assert.Equal(Instant.MaxValue, e.NextDeadline);
    }

    [Fact]
    public void Late_answer_from_an_earlier_server_is_still_accepted()
    {
        var e = NewEngine();
        e.StartQuery("www.example.test", DnsType.A, At(0));
        var first = Drain(e)[0];
        e.Poll(At(2));
        Drain(e);
        e.Receive(S1, Answer(first.Payload, (ref DnsWriter w, string n) => w.TryAddA(DnsSection.Answer, n, 60, Addr)), At(2.5));
        Assert.Equal(DnsQueryStatus.Success, Assert.Single(Results(e)).Status);
    }

    [Fact]
    public void Replies_with_a_wrong_id_server_or_question_are_ignored()
    {
        // RFC 5452 §9.1: id, source address and question must all match.
        var e = NewEngine();
        e.StartQuery("www.example.test", DnsType.A, At(0));
        var o = Drain(e)[0];
        Assert.True(DnsMessage.TryParse(o.Payload.Span, out var m, out _));
        DnsWriterAction a = (ref DnsWriter w, string n) => w.TryAddA(DnsSection.Answer, n, 60, Addr);
        e.Receive(S1, Answer(o.Payload, a, id: (ushort)(m.Id + 1)), At(0.1));
        e.Receive(S2, Answer(o.Payload, a), At(0.1));                       // never asked S2
        e.Receive(Ipv4Address.Parse("203.0.113.1"), Answer(o.Payload, a), At(0.1));
        e.Receive(S1, Answer(o.Payload, a, questionName: "evil.example.test"), At(0.1));
        e.Receive(S1, o.Payload.Span, At(0.1));                             // our own query echoed: not a response
        e.Receive(S1, new byte[5], At(0.1));
        Assert.Empty(Results(e));
        Assert.Equal(5, e.DroppedUnmatched);
        Assert.Equal(1, e.DroppedMalformed);
        e.Receive(S1, Answer(o.Payload, a, questionName: "WWW.Example.TEST"), At(0.2));   // RFC 4343: case-insensitive
        Assert.Equal(DnsQueryStatus.Success, Assert.Single(Results(e)).Status);
    }

    [Fact]
    public void Cached_answer_is_served_until_its_TTL_expires()
    {
        var e = NewEngine();
        e.StartQuery("www.example.test", DnsType.A, At(0));
        var o = Drain(e)[0];
        e.Receive(S1, Answer(o.Payload, (ref DnsWriter w, string n) => w.TryAddA(DnsSection.Answer, n, 100, Addr)), At(0));
        Results(e);

        e.StartQuery("WWW.example.test.", DnsType.A, At(60));
        Assert.Empty(Drain(e));
        var cached = Assert.Single(Results(e));
        Assert.True(cached.FromCache);
        Assert.Equal(TimeSpan.FromSeconds(40), cached.Ttl);
        Assert.Equal([(IpAddress)Addr], cached.Addresses);

        e.StartQuery("www.example.test", DnsType.A, At(100));
        Assert.Single(Drain(e));
        Assert.Empty(Results(e));
    }

    [Fact]
    public void NXDOMAIN_is_a_NameError_cached_for_the_SOA_minimum()
    {
        // RFC 2308 §5: negative TTL = min(SOA TTL, SOA MINIMUM).
        var e = NewEngine();
        e.StartQuery("nope.example.test", DnsType.A, At(0));
        var o = Drain(e)[0];
        e.Receive(S1, Answer(o.Payload, (ref DnsWriter w, string n) =>
            w.TryAddSoa(DnsSection.Authority, "example.test", 3600, "ns.example.test", "host.example.test", 1, 2, 3, 4, 30), DnsRcode.NameError), At(0));
        var r = Assert.Single(Results(e));
        Assert.Equal(DnsQueryStatus.NameError, r.Status);
        Assert.Equal(TimeSpan.FromSeconds(30), r.Ttl);

        e.StartQuery("nope.example.test", DnsType.A, At(29));
        Assert.Empty(Drain(e));
        Assert.Equal(DnsQueryStatus.NameError, Assert.Single(Results(e)).Status);
        e.StartQuery("nope.example.test", DnsType.A, At(30));
        Assert.Single(Drain(e));
    }

    [Fact]
    public void NXDOMAIN_without_SOA_is_cached_for_the_default_negative_TTL()
    {
        var e = NewEngine(o => o with { DefaultNegativeTtl = TimeSpan.FromSeconds(5) });
        e.StartQuery("nope.example.test", DnsType.A, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload, rcode: DnsRcode.NameError), At(0));
        Assert.Equal(TimeSpan.FromSeconds(5), Assert.Single(Results(e)).Ttl);
        e.StartQuery("nope.example.test", DnsType.A, At(4.9));
        Assert.Empty(Drain(e));
        e.StartQuery("nope.example.test", DnsType.A, At(5));
        Assert.Single(Drain(e));
    }

    [Fact]
    public void Name_without_records_of_the_type_is_NoData()
    {
        // RFC 2308 §2.2.
        var e = NewEngine();
        e.StartQuery("v4only.example.test", DnsType.AAAA, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload), At(0));
        Assert.Equal(DnsQueryStatus.NoData, Assert.Single(Results(e)).Status);
    }

    [Fact]
    public void CNAME_chain_in_the_answer_is_followed()
    {
        // RFC 1034 §3.6.2.
        var e = NewEngine();
        e.StartQuery("www.example.test", DnsType.AAAA, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload, (ref DnsWriter w, string n) =>
        {
            w.TryAddNameRecord(DnsSection.Answer, n, DnsType.CNAME, 300, "edge.cdn.test");
            w.TryAddNameRecord(DnsSection.Answer, "edge.cdn.test", DnsType.CNAME, 120, "node7.cdn.test");
            w.TryAddAaaa(DnsSection.Answer, "unrelated.cdn.test", 300, Ipv6Address.Parse("2001:db8::bad"));
            w.TryAddAaaa(DnsSection.Answer, "NODE7.cdn.test", 600, Ipv6Address.Parse("2001:db8::7"));
        }), At(0));
        var r = Assert.Single(Results(e));
        Assert.Equal(DnsQueryStatus.Success, r.Status);
        Assert.Equal([(IpAddress)Ipv6Address.Parse("2001:db8::7")], r.Addresses);
        Assert.Equal("node7.cdn.test", r.CanonicalName);
        Assert.Equal(TimeSpan.FromSeconds(120), r.Ttl);
    }

    [Fact]
    public void CNAME_loop_ends_as_NoData()
    {
        var e = NewEngine();
        e.StartQuery("a.example.test", DnsType.A, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload, (ref DnsWriter w, string n) =>
        {
            w.TryAddNameRecord(DnsSection.Answer, "a.example.test", DnsType.CNAME, 300, "b.example.test");
            w.TryAddNameRecord(DnsSection.Answer, "b.example.test", DnsType.CNAME, 300, "a.example.test");
        }), At(0));
        Assert.Equal(DnsQueryStatus.NoData, Assert.Single(Results(e)).Status);
    }

    [Fact]
    public void PTR_query_returns_the_target_name()
    {
        var e = NewEngine();
        e.StartQuery(DnsReverseName.For(Addr), DnsType.PTR, At(0));
        var o = Drain(e)[0];
        e.Receive(S1, Answer(o.Payload, (ref DnsWriter w, string n) => w.TryAddNameRecord(DnsSection.Answer, n, DnsType.PTR, 60, "host.example.test")), At(0));
        var r = Assert.Single(Results(e));
        Assert.Equal(["host.example.test"], r.Names);
        Assert.Equal("7.100.51.198.in-addr.arpa", r.Name);
    }

    [Fact]
    public void Server_failure_tries_the_next_server_at_once_then_reports_ServerFailure()
    {
        var e = NewEngine(o => o with { Attempts = 1 });
        e.StartQuery("www.example.test", DnsType.A, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload, rcode: DnsRcode.ServerFailure), At(0.1));
        var next = Assert.Single(Drain(e));
        Assert.Equal(S2, next.Server);
        Assert.Empty(Results(e));
        e.Receive(S2, Answer(next.Payload, rcode: DnsRcode.Refused), At(0.2));
        var r = Assert.Single(Results(e));
        Assert.Equal(DnsQueryStatus.ServerFailure, r.Status);
        Assert.Equal(DnsRcode.Refused, r.Rcode);
    }

    [Fact]
    public void Truncated_answer_asks_for_a_retry_over_TCP()
    {
        // RFC 7766 §5.
        var e = NewEngine();
        e.StartQuery("big.example.test", DnsType.A, At(0));
        e.Receive(S1, Answer(Drain(e)[0].Payload, truncated: true), At(0));
        Assert.Equal(DnsQueryStatus.Truncated, Assert.Single(Results(e)).Status);
        Assert.Equal(0, e.Outstanding);
    }

    [Fact]
    public void Cache_is_bounded_and_evicts_the_entry_closest_to_expiry()
    {
        var e = NewEngine(o => o with { CacheCapacity = 2 });
        uint[] ttls = [300, 100, 200];
        for (int i = 0; i < 3; i++)
        {
            uint ttl = ttls[i];
            e.StartQuery($"h{i}.example.test", DnsType.A, At(0));
            e.Receive(S1, Answer(Drain(e)[0].Payload, (ref DnsWriter w, string n) => w.TryAddA(DnsSection.Answer, n, ttl, Addr)), At(0));
        }
        Assert.Equal(2, e.Cache.Count);
        Assert.Equal(1, e.Cache.Evictions);
        e.StartQuery("h1.example.test", DnsType.A, At(1));
        Assert.Single(Drain(e));   // h1 (TTL 100) was evicted
        e.StartQuery("h0.example.test", DnsType.A, At(1));
        e.StartQuery("h2.example.test", DnsType.A, At(1));
        Assert.Empty(Drain(e));
    }

    [Fact]
    public void Invalid_names_fail_without_sending()
    {
        var e = NewEngine();
        e.StartQuery("a..b", DnsType.A, At(0));
        e.StartQuery(new string('x', 64) + ".test", DnsType.A, At(0));
        Assert.Empty(Drain(e));
        Assert.All(Results(e), r => Assert.Equal(DnsQueryStatus.InvalidName, r.Status));
    }

    [Fact]
    public void Queries_in_flight_are_bounded()
    {
        var e = NewEngine(o => o with { MaxOutstanding = 2 });
        e.StartQuery("a.test", DnsType.A, At(0));
        e.StartQuery("b.test", DnsType.A, At(0));
        e.StartQuery("c.test", DnsType.A, At(0));
        Assert.Equal(2, Drain(e).Count);
        Assert.Equal(DnsQueryStatus.TooManyQueries, Assert.Single(Results(e)).Status);
    }

    [Fact]
    public void Ids_of_queries_in_flight_are_distinct()
    {
        var e = NewEngine(o => o with { MaxOutstanding = 64 });
        for (int i = 0; i < 64; i++) e.StartQuery($"h{i}.test", DnsType.A, At(0));
        var ids = Drain(e).Select(o => { Assert.True(DnsMessage.TryParse(o.Payload.Span, out var m, out _)); return m.Id; }).ToList();
        Assert.Equal(64, ids.Distinct().Count());
    }

    [Fact]
    public void Cancelled_query_ignores_its_late_answer()
    {
        var e = NewEngine();
        var h = e.StartQuery("www.example.test", DnsType.A, At(0));
        var o = Drain(e)[0];
        Assert.True(e.Cancel(h));
        e.Receive(S1, Answer(o.Payload, (ref DnsWriter w, string n) => w.TryAddA(DnsSection.Answer, n, 60, Addr)), At(0.1));
        Assert.Empty(Results(e));
        Assert.Equal(1, e.DroppedUnmatched);
    }
}
