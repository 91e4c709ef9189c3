using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

/// <summary>IGMPv1/v2 (RFC 1112, RFC 2236 §2) and IGMPv3 (RFC 3376 §4) messages.</summary>
public sealed class IgmpMessageTests
{
    private static readonly Gen<Ipv4Address> GenAddress = Gen.UInt.Select(v => new Ipv4Address(v));
    private static readonly Ipv4Address G = Ipv4Address.Parse("239.1.2.3");

    [Fact]
    public void V1_and_v2_messages_round_trip_with_a_valid_checksum()
    {
        Gen.Select(Gen.OneOfConst(IgmpType.MembershipQuery, IgmpType.V1MembershipReport, IgmpType.V2MembershipReport, IgmpType.V2LeaveGroup),
            Gen.Byte, GenAddress).Sample((type, mrt, group) =>
        {
            var r = new IgmpRepr(type, mrt, group);
            var b = new byte[r.BufferLength];
            Assert.Equal(8, r.Write(b));
            Assert.True(IgmpMessage.TryParse(b, out var m, out var e), e.ToString());
            Assert.True(m.ChecksumValid);
            Assert.Equal(r, new IgmpRepr(m.Type, m.MaxResponseCode, m.Group));
        });
    }

    [Fact]
    public void V3_queries_round_trip_with_flags_codes_and_sources()
    {
        Gen.Select(Gen.Byte, GenAddress, Gen.Bool, Gen.Byte[0, 7], Gen.Byte, GenAddress.Array[0, 6]).Sample(t =>
        {
            var r = new Igmpv3QueryRepr(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6);
            var b = new byte[r.BufferLength];
            r.Write(b);
            Assert.True(IgmpMessage.TryParse(b, out var m, out var e), e.ToString());
            Assert.True(m.ChecksumValid);
            Assert.Equal(IgmpQueryVersion.V3, m.QueryVersion);
            var sources = new Ipv4Address[m.SourceCount];
            for (int i = 0; i < sources.Length; i++) sources[i] = m.Source(i);
            Assert.Equal((t.Item1, t.Item2, t.Item3, t.Item4, t.Item5),
                (m.MaxResponseCode, m.Group, m.SuppressRouterSideProcessing, (byte)m.Qrv, m.Qqic));
            Assert.Equal(t.Item6, sources);
            Assert.Equal(IgmpCodes.Decode(t.Item1), m.MaxResponseTenths);
        });
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(100, 100)]
    [InlineData(127, 127)]
    [InlineData(0x80, 0x10 << 3)]       // exp 0, mant 0: 128
    [InlineData(0x8F, 0x1F << 3)]
    [InlineData(0xFF, 0x1F << 10)]      // exp 7, mant 15: 31744, the largest
    [InlineData(0xA5, 0x15 << 5)]       // exp 2, mant 5
    public void Codes_of_128_and_above_use_the_floating_point_form_RFC3376_4_1_1(int code, int value)
    {
        // RFC 3376 §4.1.1 / §4.1.7: value = (mant | 0x10) << (exp + 3).
        Assert.Equal(value, IgmpCodes.Decode((byte)code));
    }

    [Fact]
    public void Encoding_gives_the_largest_code_not_above_the_value()
    {
        Gen.Int[0, 40_000].Sample(v =>
        {
            byte code = IgmpCodes.Encode(v);
            Assert.True(IgmpCodes.Decode(code) <= v);
            if (code < 0xFF) Assert.True(IgmpCodes.Decode((byte)(code + 1)) > v);
        });
    }

    [Theory]
    [InlineData(0, IgmpQueryVersion.V1, 100)]
    [InlineData(35, IgmpQueryVersion.V2, 35)]
    public void An_8_octet_query_is_v1_when_max_resp_is_zero_and_v2_otherwise_RFC3376_7_1(byte mrt, IgmpQueryVersion version, int tenths)
    {
        var b = new byte[8];
        new IgmpRepr(IgmpType.MembershipQuery, mrt, default).Write(b);
        Assert.True(IgmpMessage.TryParse(b, out var m, out _));
        Assert.Equal(version, m.QueryVersion);
        // RFC 3376 §7.3.1: an IGMPv1 query's zero means 10 seconds; a v2 one is linear in tenths.
        Assert.Equal(tenths, m.MaxResponseTenths);
    }

    [Fact]
    public void A_v2_max_response_time_above_127_is_linear_not_floating_point_RFC3376_7_3_1()
    {
        var b = new byte[8];
        new IgmpRepr(IgmpType.MembershipQuery, 200, default).Write(b);
        Assert.True(IgmpMessage.TryParse(b, out var m, out _));
        Assert.Equal(200, m.MaxResponseTenths);
    }

    [Fact]
    public void A_query_of_9_to_11_octets_is_BadLength_RFC3376_7_1()
    {
        var b = new byte[11];
        b[0] = (byte)IgmpType.MembershipQuery;
        for (int n = 9; n <= 11; n++)
        {
            Assert.False(IgmpMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.BadLength, e);
        }
    }

    [Fact]
    public void A_query_whose_source_count_overruns_the_message_is_BadLength()
    {
        var r = new Igmpv3QueryRepr(100, G, false, 2, 125, new[] { G, G });
        var b = new byte[r.BufferLength];
        r.Write(b);
        b[10] = 0xFF; // 65282 sources announced
        Assert.False(IgmpMessage.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Fact]
    public void Octets_after_the_source_list_count_in_the_checksum_but_not_in_the_message_RFC3376_4_1_10()
    {
        var r = new Igmpv3QueryRepr(100, G, false, 2, 125, new[] { G });
        var b = new byte[r.BufferLength + 4];
        r.Write(b);
        Assert.True(IgmpMessage.TryParse(b, out var m, out _));
        Assert.True(m.ChecksumValid); // zeros add nothing
        Assert.Equal(r.BufferLength, m.Bytes.Length);
        b[^1] = 1;
        Assert.True(IgmpMessage.TryParse(b, out m, out _));
        Assert.False(m.ChecksumValid);
    }

    [Fact]
    public void A_short_message_is_Truncated_and_unknown_types_Unsupported()
    {
        var b = new byte[8];
        b[0] = (byte)IgmpType.V2MembershipReport;
        for (int n = 0; n < 8; n++)
        {
            Assert.False(IgmpMessage.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(WireError.Truncated, e);
        }
        b[0] = 0x13; // DVMRP
        Assert.False(IgmpMessage.TryParse(b, out _, out var u));
        Assert.Equal(WireError.Unsupported, u);
        b[0] = (byte)IgmpType.V3MembershipReport; // read with Igmpv3Report
        Assert.False(IgmpMessage.TryParse(b, out _, out u));
        Assert.Equal(WireError.Unsupported, u);
    }

    [Fact]
    public void Any_flipped_bit_fails_the_checksum()
    {
        var b = new byte[8];
        new IgmpRepr(IgmpType.V2MembershipReport, 0, G).Write(b);
        Gen.Int[0, 63].Sample(bit =>
        {
            var c = (byte[])b.Clone();
            c[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.False(IgmpMessage.VerifyChecksum(c));
        });
    }

    private static readonly Gen<Igmpv3GroupRecordRepr> GenRecord =
        Gen.Select(Gen.Byte[1, 6], GenAddress, GenAddress.Array[0, 4], Gen.Byte.Array[0, 3].Select(a => a.SelectMany(x => new byte[] { x, x, x, x }).ToArray()),
            (t, g, s, aux) => new Igmpv3GroupRecordRepr((GroupRecordType)t, g, s, aux));

    private static byte[] Report(Igmpv3GroupRecordRepr[] records)
    {
        var r = new Igmpv3ReportRepr(records);
        var b = new byte[r.BufferLength];
        Assert.Equal(b.Length, r.Write(b));
        return b;
    }

    [Fact]
    public void V3_reports_round_trip_with_records_sources_and_aux_data()
    {
        GenRecord.Array[0, 4].Sample(records =>
        {
            var b = Report(records);
            Assert.True(Igmpv3Report.TryParse(b, out var report, out var e), e.ToString());
            Assert.True(report.ChecksumValid);
            Assert.Equal(records.Length, report.RecordCount);
            int i = 0;
            foreach (var rec in report.Records)
            {
                var x = records[i++];
                var sources = new Ipv4Address[rec.SourceCount];
                for (int k = 0; k < sources.Length; k++) sources[k] = rec.Source(k);
                Assert.Equal((x.RecordType, x.Group, x.AuxData.Length / 4), (rec.RecordType, rec.Group, rec.AuxDataLength));
                Assert.Equal(x.Sources.ToArray(), sources);
                Assert.True(rec.AuxData.SequenceEqual(x.AuxData.Span));
            }
            Assert.Equal(records.Length, i);
        });
    }

    [Fact]
    public void Every_truncation_of_a_report_is_Truncated_or_BadLength_and_never_throws()
    {
        var b = Report([new Igmpv3GroupRecordRepr(GroupRecordType.ChangeToExcludeMode, G, new[] { G }, new byte[4]),
                        new Igmpv3GroupRecordRepr(GroupRecordType.AllowNewSources, G, new[] { G, G }, default)]);
        for (int n = 0; n < b.Length; n++)
        {
            Assert.False(Igmpv3Report.TryParse(b.AsSpan(0, n), out _, out var e));
            Assert.Equal(n < 8 ? WireError.Truncated : WireError.BadLength, e);
        }
    }

    [Fact]
    public void Random_bytes_never_throw_and_a_parsed_query_stays_inside_its_buffer()
    {
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            if (bytes.Length > 0) bytes[0] = (byte)IgmpType.MembershipQuery;
            if (IgmpMessage.TryParse(bytes, out var m, out _))
            {
                Assert.True(m.Bytes.Length <= bytes.Length);
                for (int i = 0; i < m.SourceCount; i++) _ = m.Source(i);
                _ = m.MaxResponseTenths + m.QueryIntervalSeconds;
            }
            if (bytes.Length > 0) bytes[0] = (byte)IgmpType.V3MembershipReport;
            if (Igmpv3Report.TryParse(bytes, out var r, out _))
                foreach (var rec in r.Records) { _ = rec.Source(rec.SourceCount - 1); _ = rec.AuxData.Length; }
        });
    }
}
