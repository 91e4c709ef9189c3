using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

public class DnsNameTests
{
    /// <summary>A response header with one question whose name starts at offset 12, followed by <paramref name="body"/>.</summary>
    private static byte[] MessageWithQuestion(params byte[] body)
    {
        var m = new byte[12 + body.Length + 4];
        m[5] = 1; // QDCOUNT
        body.CopyTo(m, 12);
        m[^3] = 1; m[^1] = 1; // QTYPE A, QCLASS IN
        return m;
    }

    private static WireError ParseError(byte[] m)
    {
        Assert.False(DnsMessage.TryParse(m, out _, out var e));
        return e;
    }

    [Fact]
    public void Pointer_to_itself_is_BadName()
    {
        // RFC 1035 §4.1.4: a pointer refers to a *prior* occurrence.
        Assert.Equal(WireError.BadName, ParseError(MessageWithQuestion(0xC0, 12)));
    }

    [Fact]
    public void Forward_pointer_is_BadName()
    {
        Assert.Equal(WireError.BadName, ParseError(MessageWithQuestion(0xC0, 16, 0, 0, 1, (byte)'a', 0)));
    }

    [Fact]
    public void Pointer_loop_between_two_names_is_BadName()
    {
        // Name 1 at 12: "a" then a pointer to name 2 at 20, which points back to 12: a loop, refused at the forward pointer.
        var m = new byte[12 + 7 + 4 + 2 + 4];
        m[5] = 2;
        byte[] body = [1, (byte)'a', 0xC0, 20, 0, 1, 0, 1, /* 20: */ 0xC0, 12];
        body.CopyTo(m, 12);
        Assert.Equal(WireError.BadName, ParseError(m));

        // A pointer back into an earlier label that leads to the same pointer again.
        Assert.Equal(WireError.BadName, ParseError(MessageWithQuestion(1, (byte)'a', 0xC0, 12)));
    }

    [Fact]
    public void Label_longer_than_63_octets_is_BadName()
    {
        // RFC 1035 §2.3.4; 64 = 0b01000000, an extended label type we refuse.
        var body = new byte[1 + 64 + 1];
        body[0] = 64;
        Assert.Equal(WireError.BadName, ParseError(MessageWithQuestion(body)));
    }

    [Fact]
    public void Name_longer_than_255_octets_is_BadName()
    {
        // RFC 1035 §2.3.4: 5 labels of 63 octets = 320 octets.
        var body = new List<byte>();
        for (int i = 0; i < 5; i++) { body.Add(63); body.AddRange(Enumerable.Repeat((byte)'x', 63)); }
        body.Add(0);
        Assert.Equal(WireError.BadName, ParseError(MessageWithQuestion([.. body])));
    }

    [Fact]
    public void Name_of_exactly_255_octets_is_accepted()
    {
        var body = new List<byte>();
        for (int i = 0; i < 3; i++) { body.Add(63); body.AddRange(Enumerable.Repeat((byte)'x', 63)); }
        body.Add(61); body.AddRange(Enumerable.Repeat((byte)'y', 61));
        body.Add(0);
        Assert.Equal(255, body.Count);
        var m = MessageWithQuestion([.. body]);
        Assert.True(DnsMessage.TryParse(m, out var msg, out _));
        foreach (var q in msg.Questions) Assert.Equal(255, q.Name.WireLength);
    }

    [Fact]
    public void Name_made_long_through_pointers_is_BadName()
    {
        // Two names of 192 octets, the second adding 63-octet labels in front of a pointer to the first.
        var body = new List<byte>();
        for (int i = 0; i < 3; i++) { body.Add(63); body.AddRange(Enumerable.Repeat((byte)'x', 63)); }
        body.Add(0);
        body.AddRange([0, 1, 0, 1]);
        body.Add(63); body.AddRange(Enumerable.Repeat((byte)'z', 63));
        body.Add(63); body.AddRange(Enumerable.Repeat((byte)'z', 63));
        body.AddRange([0xC0, 12]);
        var m = MessageWithQuestion([.. body]);
        m[5] = 2;
        Assert.Equal(WireError.BadName, ParseError(m));
    }

    [Fact]
    public void Too_many_pointer_hops_is_BadName()
    {
        // A chain of strictly backward pointers, each to the one before: accepted up to the hop limit, refused past it.
        static (byte[] Bytes, int Last) Chain(int pointers)
        {
            var msg = new List<byte>(new byte[12]) { 0 };
            int prev = 12;
            for (int i = 0; i < pointers; i++) { int at = msg.Count; msg.Add((byte)(0xC0 | (prev >> 8))); msg.Add((byte)prev); prev = at; }
            return (msg.ToArray(), prev);
        }
        var (ok, okLast) = Chain(DnsName.MaxPointerHops);
        Assert.Equal(WireError.None, DnsName.Walk(ok, okLast, out _, out _));
        var (bad, badLast) = Chain(DnsName.MaxPointerHops + 1);
        Assert.Equal(WireError.BadName, DnsName.Walk(bad, badLast, out _, out _));
    }

    [Fact]
    public void Text_form_escapes_dots_and_unprintable_octets_and_encodes_back()
    {
        // RFC 1035 §5.1 escapes.
        var m = MessageWithQuestion(3, (byte)'a', (byte)'.', 0x07, 1, (byte)'b', 0);
        Assert.True(DnsMessage.TryParse(m, out var msg, out _));
        Span<byte> wire = stackalloc byte[255];
        foreach (var q in msg.Questions)
        {
            string text = q.Name.ToString();
            Assert.Equal(@"a\.\007.b", text);
            Assert.True(DnsName.TryEncode(text, wire, out int n));
            Assert.True(q.Name.NameEquals(wire[..n]));
        }
    }

    [Fact]
    public void Formatting_into_a_short_span_fails_without_throwing_or_allocating()
    {
        var m = MessageWithQuestion([7, .. "example"u8, 4, .. "test"u8, 0]);
        Assert.True(DnsMessage.TryParse(m, out var msg, out _));
        Span<char> small = stackalloc char[5];
        Span<char> fits = stackalloc char[12];
        Span<byte> wire = stackalloc byte[14];
        foreach (var q in msg.Questions)
        {
            Assert.False(q.Name.TryFormat(small, out _));
            Assert.True(q.Name.TryFormat(fits, out int n));
            Assert.Equal("example.test", fits[..n].ToString());
            Assert.True(q.Name.TryCopyWire(wire, out int w));
            Assert.Equal(14, w);
        }
    }

    [Fact]
    public void Root_name_formats_as_a_dot()
    {
        var m = MessageWithQuestion(0);
        Assert.True(DnsMessage.TryParse(m, out var msg, out _));
        foreach (var q in msg.Questions) { Assert.True(q.Name.IsRoot); Assert.Equal(".", q.Name.ToString()); }
    }

    [Fact]
    public void Names_compare_case_insensitively()
    {
        // RFC 4343 §3.
        Span<byte> a = stackalloc byte[255];
        Assert.True(DnsName.TryEncode("WWW.Example.TEST.", a, out int n));
        var m = MessageWithQuestion([3, .. "www"u8, 7, .. "example"u8, 4, .. "test"u8, 0]);
        Assert.True(DnsMessage.TryParse(m, out var msg, out _));
        foreach (var q in msg.Questions) Assert.True(q.Name.NameEquals(a[..n]));
    }

    [Fact]
    public void Encoding_rejects_empty_and_oversized_labels()
    {
        Span<byte> w = stackalloc byte[300];
        Assert.False(DnsName.TryEncode("a..b", w, out _));
        Assert.False(DnsName.TryEncode(new string('x', 64) + ".test", w, out _));
        Assert.False(DnsName.TryEncode(string.Join('.', Enumerable.Repeat(new string('x', 63), 5)), w, out _));
        Assert.True(DnsName.TryEncode(new string('x', 63) + ".test", w, out _));
    }

    [Fact]
    public void Encode_then_decode_round_trips_any_name()
    {
        DnsMessageTests.GenName.Sample(name =>
        {
            var buf = new byte[300];
            var w = new DnsWriter(buf, new DnsHeader(7));
            Assert.True(w.TryAddQuestion(name, DnsType.A));
            Assert.True(DnsMessage.TryParse(buf.AsSpan(0, w.Length), out var m, out _));
            foreach (var q in m.Questions) Assert.Equal(name, q.Name.ToString());
        });
    }
}
