using NetStack.Tests.Support;
using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

public class DnsMessageTests
{
    private static readonly Gen<string> GenLabel = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-"], 1, 20];
    internal static readonly Gen<string> GenName = GenLabel.Array[1, 5].Select(ls => string.Join('.', ls));

    private static byte[] Response(bool compress, out int length)
    {
        var buf = new byte[512];
        var w = new DnsWriter(buf, new DnsHeader(0xBEEF, IsResponse: true, RecursionAvailable: true), compress);
        Assert.True(w.TryAddQuestion("www.example.test", DnsType.A));
        Assert.True(w.TryAddNameRecord(DnsSection.Answer, "www.example.test", DnsType.CNAME, 300, "web.example.test"));
        Assert.True(w.TryAddA(DnsSection.Answer, "web.example.test", 60, Ipv4Address.Parse("192.0.2.7")));
        Assert.True(w.TryAddAaaa(DnsSection.Answer, "web.example.test", 60, Ipv6Address.Parse("2001:db8::7")));
        Assert.True(w.TryAddSoa(DnsSection.Authority, "example.test", 3600, "ns.example.test", "hostmaster.example.test", 1, 2, 3, 4, 30));
        length = w.Length;
        return buf[..length];
    }

    [Fact]
    public void Queries_round_trip_for_any_valid_name_and_type()
    {
        Gen.Select(GenName, Gen.OneOfConst(DnsType.A, DnsType.AAAA, DnsType.PTR), Gen.UShort, Gen.Bool).Sample((name, type, id, compress) =>
        {
            var buf = new byte[512];
            var w = new DnsWriter(buf, new DnsHeader(id), compress);
            Assert.True(w.TryAddQuestion(name, type));
            Assert.True(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out var m, out var e), e.ToString());
            Assert.Equal(id, m.Id);
            Assert.False(m.IsResponse);
            Assert.True(m.RecursionDesired);
            Assert.Equal(1, m.QuestionCount);
            foreach (var q in m.Questions)
            {
                Assert.Equal(name, q.Name.ToString());
                Assert.Equal(type, q.Type);
                Assert.Equal(DnsClass.IN, q.Class);
            }
        });
    }

    [Fact]
    public void Header_flags_round_trip()
    {
        Gen.Select(Gen.UShort, Gen.Bool, Gen.Bool, Gen.Bool, Gen.Bool, Gen.Bool, Gen.Byte[0, 5], Gen.Byte[0, 2]).Sample((id, qr, aa, tc, rd, ra, rcode, opcode) =>
        {
            var h = new DnsHeader(id, qr, (DnsOpcode)opcode, aa, tc, rd, ra, (DnsRcode)rcode);
            var buf = new byte[12];
            _ = new DnsWriter(buf, h);
            Assert.True(DnsMessage.TryParse(buf, out var m, out _));
            Assert.Equal(h, m.Header);
        });
    }

    [Fact]
    public void Response_records_decode_with_typed_rdata()
    {
        var bytes = Response(compress: true, out _);
        Assert.True(DnsMessage.TryParse(bytes, out var m, out var e), e.ToString());
        Assert.True(m.IsResponse);
        Assert.Equal(3, m.AnswerCount);
        Assert.Equal(1, m.AuthorityCount);
        int i = 0;
        foreach (var rr in m.Records)
        {
            switch (i++)
            {
                case 0:
                    Assert.Equal(DnsType.CNAME, rr.Type);
                    Assert.Equal("www.example.test", rr.Name.ToString());
                    Assert.True(rr.TryGetTargetName(out var t));
                    Assert.Equal("web.example.test", t.ToString());
                    Assert.Equal(300u, rr.Ttl);
                    break;
                case 1:
                    Assert.True(rr.TryGetA(out var a));
                    Assert.Equal(Ipv4Address.Parse("192.0.2.7"), a);
                    break;
                case 2:
                    Assert.True(rr.TryGetAaaa(out var a6));
                    Assert.Equal(Ipv6Address.Parse("2001:db8::7"), a6);
                    break;
                case 3:
                    Assert.Equal(DnsSection.Authority, rr.Section);
                    Assert.True(rr.TryGetSoaMinimum(out uint min));
                    Assert.Equal(30u, min);
                    break;
            }
        }
        Assert.Equal(4, i);
    }

    [Fact]
    public void Compression_shortens_the_message_and_decodes_to_the_same_names()
    {
        var packed = Response(compress: true, out int n1);
        var plain = Response(compress: false, out int n2);
        Assert.True(n1 < n2);
        Assert.True(DnsMessage.TryParse(packed, out var a, out _));
        Assert.True(DnsMessage.TryParse(plain, out var b, out _));
        var ea = a.Records;
        var eb = b.Records;
        while (ea.MoveNext())
        {
            Assert.True(eb.MoveNext());
            Assert.True(ea.Current.Name.NameEquals(eb.Current.Name));
            Assert.Equal(ea.Current.Name.ToString(), eb.Current.Name.ToString());
        }
        Assert.False(eb.MoveNext());
    }

    [Fact]
    public void Truncation_at_every_length_never_throws_and_is_categorized()
    {
        var bytes = Response(compress: true, out _);
        for (int n = 0; n < bytes.Length; n++)
        {
            Assert.False(DnsMessage.TryParse(bytes.AsSpan(0, n), out _, out var e));
            Assert.True(e is WireError.Truncated or WireError.BadLength or WireError.BadName, $"{n}: {e}");
        }
    }

    [Fact]
    public void Random_bytes_never_throw_and_accepted_messages_enumerate()
    {
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            if (DnsMessage.TryParse(bytes, out var m, out _))
            {
                foreach (var q in m.Questions) _ = q.Name.ToString();
                foreach (var r in m.Records) { _ = r.Name.ToString(); _ = r.Data.Length; if (r.TryGetTargetName(out var t)) _ = t.ToString(); }
            }
        });
    }

    [Fact]
    public void A_record_with_wrong_rdata_length_is_BadLength()
    {
        // RFC 1035 §3.4.1: A RDATA is a 32-bit address.
        var buf = new byte[512];
        var w = new DnsWriter(buf, new DnsHeader(1, IsResponse: true));
        Assert.True(w.TryAddRecord(DnsSection.Answer, "a.test", DnsType.A, 5, [1, 2, 3]));
        Assert.False(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Fact]
    public void Ttl_with_the_top_bit_set_reads_as_zero()
    {
        // RFC 2181 §8.
        var buf = new byte[512];
        var w = new DnsWriter(buf, new DnsHeader(1, IsResponse: true));
        Assert.True(w.TryAddA(DnsSection.Answer, "a.test", 0x8000_0001, Ipv4Address.Parse("192.0.2.1")));
        Assert.True(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out var m, out _));
        foreach (var r in m.Records) Assert.Equal(0u, r.Ttl);
    }

    [Fact]
    public void Writer_refuses_sections_out_of_order_and_leaves_the_message_intact()
    {
        var buf = new byte[512];
        var w = new DnsWriter(buf, new DnsHeader(1, IsResponse: true));
        Assert.True(w.TryAddA(DnsSection.Additional, "a.test", 1, Ipv4Address.Parse("192.0.2.1")));
        int before = w.Length;
        Assert.False(w.TryAddA(DnsSection.Answer, "b.test", 1, Ipv4Address.Parse("192.0.2.2")));
        Assert.False(w.TryAddQuestion("c.test", DnsType.A));
        Assert.Equal(before, w.Length);
        Assert.True(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out var m, out _));
        Assert.Equal(0, m.AnswerCount);
        Assert.Equal(1, m.AdditionalCount);
    }

    [Fact]
    public void Writer_reports_a_full_buffer_without_writing_a_partial_record()
    {
        var buf = new byte[30];
        var w = new DnsWriter(buf, new DnsHeader(1));
        Assert.True(w.TryAddQuestion("a.test", DnsType.A));
        Assert.False(w.TryAddQuestion("another.example.test", DnsType.A));
        Assert.True(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out var m, out _));
        Assert.Equal(1, m.QuestionCount);
    }

    [Fact]
    public void Parsing_and_reading_names_into_spans_does_not_allocate()
    {
        var bytes = Response(compress: true, out _);
        var text = new char[DnsName.MaxTextLength]; // the caller's buffer, allocated once outside the measurement
        static int Walk(byte[] b, Span<char> text)
        {
            int total = 0;
            Assert.True(DnsMessage.TryParse(b, out var m, out _));
            foreach (var q in m.Questions) { q.Name.TryFormat(text, out int n); total += n; }
            foreach (var r in m.Records)
            {
                r.Name.TryFormat(text, out int n);
                total += n + (r.TryGetA(out var a) ? (int)(a.Value & 1) : 0);
                if (r.TryGetTargetName(out var t) && t.TryFormat(text, out int k)) total += k;
            }
            return total;
        }
        Assert.Equal(0, Allocations.SteadyState(() => Walk(bytes, text)));
    }

    [Fact]
    public void Reverse_names_follow_in_addr_arpa_and_ip6_arpa()
    {
        // RFC 1035 §3.5 and RFC 3596 §2.5.
        Assert.Equal("1.2.0.192.in-addr.arpa", DnsReverseName.For(Ipv4Address.Parse("192.0.2.1")));
        Assert.Equal("b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa",
            DnsReverseName.For(Ipv6Address.Parse("4321:0:1:2:3:4:567:89ab")));
        Span<char> small = stackalloc char[10];
        Assert.False(DnsReverseName.TryFormat(Ipv4Address.Parse("192.0.2.1"), small, out _));
    }
}
