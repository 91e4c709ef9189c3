using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Wire;

/// <summary>MLDv1 (RFC 2710) and MLDv2 (RFC 3810) messages.</summary>
public sealed class MldMessageTests
{
    private static readonly Ipv6Address Src = Ipv6Address.Parse("fe80::1");
    private static readonly Ipv6Address Dst = Ipv6Address.Parse("ff02::16");
    private static readonly Gen<Ipv6Address> GenAddress = Ipv6PacketTests.GenAddress;

    [Fact]
    public void MLDv1_messages_round_trip()
    {
        Gen.Select(Gen.Int[130, 132], Gen.UShort, GenAddress).Sample(t =>
        {
            var r = new Mldv1Repr((Icmpv6Type)t.Item1, t.Item2, t.Item3);
            var b = new byte[r.BufferLength];
            r.Write(b, Src, Dst);
            Assert.True(MldMessage.TryParse(b, out var m, out _));
            Assert.False(m.IsVersion2Query);
            Assert.Equal(r, new Mldv1Repr(m.Type, m.MaxResponseCode, m.MulticastAddress));
            Assert.Equal(t.Item2, m.MaxResponseDelayMilliseconds);
            Assert.True(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
        });
    }

    [Fact]
    public void MLDv2_queries_round_trip_with_flags_and_sources()
    {
        Gen.Select(Gen.UShort, GenAddress, Gen.Bool, Gen.Byte[0, 7], Gen.Byte, GenAddress.Array[0, 5]).Sample(t =>
        {
            var r = new Mldv2QueryRepr(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6);
            var b = new byte[r.BufferLength];
            r.Write(b, Src, Dst);
            Assert.True(MldMessage.TryParse(b, out var m, out var e), e.ToString());
            Assert.True(m.IsVersion2Query);
            var sources = new Ipv6Address[m.SourceCount];
            for (int i = 0; i < sources.Length; i++) sources[i] = m.Source(i);
            Assert.Equal((t.Item1, t.Item2, t.Item3, t.Item4, t.Item5), (m.MaxResponseCode, m.MulticastAddress, m.SuppressRouterSideProcessing, (byte)m.Qrv, m.Qqic));
            Assert.Equal(t.Item6, sources);
            Assert.True(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
        });
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10000, 10000)]
    [InlineData(32767, 32767)]
    [InlineData(0x8000, 0x1000 << 3)]          // exp 0, mant 0
    [InlineData(0x8001, 0x1001 << 3)]
    [InlineData(0xFFFF, 0x1FFF << 10)]         // exp 7, mant 0xFFF: the largest delay, 8387584 ms
    [InlineData(0x9ABC, 0x1ABC << 4)]          // exp 1, mant 0xABC
    public void Maximum_response_codes_of_32768_and_above_use_the_exponential_form(int code, int milliseconds)
    {
        // RFC 3810 §5.1.3: Maximum Response Delay = (mant | 0x1000) << (exp + 3) for codes >= 32768.
        Assert.Equal(milliseconds, Mldv2Codes.DecodeMaxResponseCode((ushort)code));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(125, 125)]
    [InlineData(0x80, 0x10 << 3)]
    [InlineData(0xFF, 0x1F << 10)]
    public void QQIC_values_of_128_and_above_use_the_exponential_form(int code, int seconds)
    {
        // RFC 3810 §5.1.9: QQI = (mant | 0x10) << (exp + 3) for codes >= 128.
        Assert.Equal(seconds, Mldv2Codes.DecodeQqic((byte)code));
    }

    [Fact]
    public void Encoding_a_delay_gives_the_largest_code_not_above_it()
    {
        Gen.Int[0, 9_000_000].Sample(ms =>
        {
            ushort code = Mldv2Codes.EncodeMaxResponseCode(ms);
            int decoded = Mldv2Codes.DecodeMaxResponseCode(code);
            Assert.True(decoded <= ms || code == 0xFFFF);
            if (code < 0xFFFF) Assert.True(Mldv2Codes.DecodeMaxResponseCode((ushort)(code + 1)) > ms);
        });
        Gen.Int[0, 300_000].Sample(s =>
        {
            byte code = Mldv2Codes.EncodeQqic(s);
            Assert.True(Mldv2Codes.DecodeQqic(code) <= s || code == 0xFF);
            if (code < 0xFF) Assert.True(Mldv2Codes.DecodeQqic((byte)(code + 1)) > s);
        });
    }

    [Fact]
    public void A_query_of_25_to_27_octets_is_BadLength()
    {
        // RFC 3810 §8.1: 24 octets is MLDv1, 28 or more MLDv2; other lengths are not valid queries.
        var b = new byte[27];
        b[0] = (byte)Icmpv6Type.MulticastListenerQuery;
        for (int n = 25; n <= 27; n++)
        {
            Assert.False(MldMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.BadLength, e);
        }
    }

    [Fact]
    public void A_query_whose_source_count_overruns_the_message_is_BadLength()
    {
        var r = new Mldv2QueryRepr(1000, default, false, 2, 125, new[] { Src, Dst });
        var b = new byte[r.BufferLength];
        r.Write(b, Src, Dst);
        b[27] = 3;
        Assert.False(MldMessage.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Fact]
    public void A_short_MLD_message_is_Truncated_and_other_types_are_Unsupported()
    {
        var b = new byte[24];
        b[0] = (byte)Icmpv6Type.MulticastListenerReport;
        for (int n = 0; n < 24; n++)
        {
            Assert.False(MldMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.Truncated, e);
        }
        b[0] = (byte)Icmpv6Type.EchoRequest;
        Assert.False(MldMessage.TryParse(b, out _, out var u));
        Assert.Equal(WireError.Unsupported, u);
    }

    private static readonly Gen<Mldv2RecordRepr> GenRecord =
        Gen.Select(Gen.Byte[1, 6], GenAddress, GenAddress.Array[0, 4], Gen.Byte.Array[0, 3].Select(a => a.SelectMany(x => new byte[] { x, x, x, x }).ToArray()),
            (t, g, s, aux) => new Mldv2RecordRepr((GroupRecordType)t, g, s, aux));

    private static byte[] Report(Mldv2RecordRepr[] records)
    {
        var r = new Mldv2ReportRepr(records);
        var b = new byte[r.BufferLength];
        Assert.Equal(b.Length, r.Write(b, Src, Dst));
        return b;
    }

    [Fact]
    public void MLDv2_reports_round_trip_with_records_sources_and_aux_data()
    {
        GenRecord.Array[0, 4].Sample(records =>
        {
            var b = Report(records);
            Assert.True(Mldv2Report.TryParse(b, out var report, out var e), e.ToString());
            Assert.True(Icmpv6Packet.VerifyChecksum(b, Src, Dst));
            Assert.Equal(records.Length, report.RecordCount);
            int i = 0;
            foreach (var rec in report.Records)
            {
                var x = records[i++];
                var sources = new Ipv6Address[rec.SourceCount];
                for (int k = 0; k < sources.Length; k++) sources[k] = rec.Source(k);
                Assert.Equal((x.RecordType, x.MulticastAddress, x.AuxData.Length / 4), (rec.RecordType, rec.MulticastAddress, rec.AuxDataLength));
                Assert.Equal(x.Sources.ToArray(), sources);
                Assert.True(rec.AuxData.SequenceEqual(x.AuxData.Span));
            }
            Assert.Equal(records.Length, i);
        });
    }

    [Fact]
    public void Every_truncation_of_a_report_is_BadLength_or_Truncated_and_never_throws()
    {
        var b = Report([new Mldv2RecordRepr(GroupRecordType.ChangeToExcludeMode, Dst, new[] { Src }, new byte[4]),
                        new Mldv2RecordRepr(GroupRecordType.AllowNewSources, Dst, new[] { Src, Dst }, default)]);
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(Mldv2Report.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(n < 8 ? WireError.Truncated : WireError.BadLength, e);
        }
    }

    [Fact]
    public void A_record_count_beyond_the_records_present_is_BadLength()
    {
        var b = Report([new Mldv2RecordRepr(GroupRecordType.ModeIsExclude, Dst, default, default)]);
        b[7] = 2;
        Assert.False(Mldv2Report.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }
}
