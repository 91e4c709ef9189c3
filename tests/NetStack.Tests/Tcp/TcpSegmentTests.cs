using System.Buffers.Binary;
using CsCheck;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>The TCP header view and writer (RFC 9293 §3.1) and its options (§3.2, RFC 7323, RFC 2018).</summary>
public sealed class TcpSegmentTests
{
    private static readonly IpAddress Src = Ipv4Address.Parse("192.0.2.1");
    private static readonly IpAddress Dst = Ipv4Address.Parse("198.51.100.7");

    private static byte[] Header(byte dataOffsetWords, params byte[] options)
    {
        var b = new byte[Math.Max(20, dataOffsetWords * 4)];
        b[12] = (byte)(dataOffsetWords << 4);
        options.CopyTo(b, 20);
        return b;
    }

    [Fact]
    public void Fields_are_read_at_their_RFC_9293_offsets()
    {
        byte[] b =
        [
            0x04, 0xD2, 0x00, 0x50,             // ports 1234 -> 80
            0x01, 0x02, 0x03, 0x04,             // seq
            0xA0, 0xB0, 0xC0, 0xD0,             // ack
            0x51, 0xD3,                         // offset 5, NS, CWR ECE ACK SYN FIN
            0x12, 0x34, 0xAB, 0xCD, 0x00, 0x07, // window, checksum, urgent
            0x99,
        ];
        Assert.True(TcpSegment.TryParse(b, out var s, out _));
        Assert.Equal(1234, s.SourcePort);
        Assert.Equal(80, s.DestinationPort);
        Assert.Equal(new SeqNumber(0x01020304), s.SequenceNumber);
        Assert.Equal(new SeqNumber(0xA0B0C0D0), s.AckNumber);
        Assert.Equal(TcpFlags.Ns | TcpFlags.Cwr | TcpFlags.Ece | TcpFlags.Ack | TcpFlags.Syn | TcpFlags.Fin, s.Flags);
        Assert.Equal(0x1234, s.Window);
        Assert.Equal(0xABCD, s.Checksum);
        Assert.Equal(7, s.UrgentPointer);
        Assert.Equal(new byte[] { 0x99 }, s.Payload.ToArray());
        Assert.Equal(3, s.SegmentLength); // SYN + FIN + 1 byte
    }

    [Fact]
    public void Shorter_than_20_bytes_is_Truncated()
    {
        Assert.False(TcpSegment.TryParse(new byte[19], out _, out var e));
        Assert.Equal(WireError.Truncated, e);
    }

    [Fact]
    public void Data_offset_below_5_is_BadLength()
    {
        // RFC 9293 §3.1: the data offset is at least 5 words.
        Assert.False(TcpSegment.TryParse(Header(4), out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Fact]
    public void Data_offset_beyond_the_buffer_is_BadLength()
    {
        var b = Header(5);
        b[12] = 6 << 4;
        Assert.False(TcpSegment.TryParse(b, out _, out var e));
        Assert.Equal(WireError.BadLength, e);
    }

    [Theory]
    [InlineData(new byte[] { 2, 0, 0, 0 })]           // length 0
    [InlineData(new byte[] { 2, 1, 0, 0 })]           // length 1
    [InlineData(new byte[] { 1, 1, 1, 2 })]           // kind without room for a length
    [InlineData(new byte[] { 30, 8, 0, 0 })]          // unknown option overrunning the area
    [InlineData(new byte[] { 2, 3, 5, 1 })]           // MSS must be 4
    [InlineData(new byte[] { 3, 4, 7, 0 })]           // window scale must be 3
    [InlineData(new byte[] { 4, 3, 0, 1 })]           // SACK-permitted must be 2
    [InlineData(new byte[] { 8, 4, 0, 0 })]           // timestamps must be 10
    [InlineData(new byte[] { 5, 2, 1, 1 })]           // SACK with no block
    public void Malformed_options_are_BadOption(byte[] options)
    {
        Assert.False(TcpSegment.TryParse(Header(6, options), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void SACK_length_must_be_2_plus_8n()
    {
        // RFC 2018 §3.
        var opts = new byte[12];
        opts[0] = 5; opts[1] = 9;
        Assert.False(TcpSegment.TryParse(Header(8, opts), out _, out var e));
        Assert.Equal(WireError.BadOption, e);
    }

    [Fact]
    public void Unknown_options_are_skipped_by_their_length_and_NOP_and_EOL_are_honoured()
    {
        byte[] opts = [1, 30, 4, 0xAA, 0xBB, 2, 4, 0x05, 0xB4, 0, 0xFF, 0xFF];
        Assert.True(TcpSegment.TryParse(Header(8, opts), out var s, out _));
        var r = s.ToRepr();
        Assert.Equal((ushort)1460, r.Mss);          // after the unknown option
        Assert.Null(r.WindowScale);                 // bytes after EOL are not options
    }

    [Fact]
    public void Truncation_at_every_length_never_throws()
    {
        var repr = new TcpRepr
        {
            SourcePort = 1, DestinationPort = 2, SequenceNumber = new(3), AckNumber = new(4), Flags = TcpFlags.Ack,
            Window = 5, Mss = 1460, WindowScale = 7, SackPermitted = true, Timestamps = new TcpTimestamps(1, 2),
        };
        var buf = new byte[repr.BufferLength(10)];
        repr.Write(buf, new byte[10], Src, Dst);
        for (int n = 0; n <= buf.Length; n++)
        {
            bool ok = TcpSegment.TryParse(buf.AsSpan(0, n), out var s, out var e);
            if (ok) { _ = s.ToRepr(); _ = s.Payload.Length; }
            else Assert.NotEqual(WireError.None, e);
            Assert.Equal(n >= repr.HeaderLength, ok);
        }
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        Gen.Byte.Array[0, 80].Sample(bytes =>
        {
            if (TcpSegment.TryParse(bytes, out var s, out _))
            {
                _ = s.ToRepr();
                _ = s.VerifyChecksum(Src, Dst);
            }
        }, iter: 20_000);
    }

    private static readonly Gen<TcpRepr> GenRepr =
        from ports in Gen.UShort.Array[2]
        from seqAck in Gen.UInt.Array[2]
        from flags in Gen.UShort[0, 0x1FF]
        from window in Gen.UShort
        from urgent in Gen.UShort
        from mss in Gen.UShort.Nullable()
        from ws in Gen.Byte[0, 14].Nullable()
        from sackPerm in Gen.Bool
        from hasTs in Gen.Bool
        from ts in Gen.UInt.Array[2]
        from nSack in Gen.Int[0, 4]
        from sack in Gen.UInt.Array[8]
        select Build(ports, seqAck, flags, window, urgent, mss, ws, sackPerm, hasTs ? ts : null, nSack, sack);

    private static TcpRepr Build(ushort[] ports, uint[] seqAck, ushort flags, ushort window, ushort urgent, ushort? mss, byte? ws,
        bool sackPerm, uint[]? ts, int nSack, uint[] sack)
    {
        var r = new TcpRepr
        {
            SourcePort = ports[0], DestinationPort = ports[1], SequenceNumber = new(seqAck[0]), AckNumber = new(seqAck[1]),
            Flags = (TcpFlags)flags, Window = window, UrgentPointer = urgent, Mss = mss, WindowScale = ws, SackPermitted = sackPerm,
            Timestamps = ts is null ? null : new TcpTimestamps(ts[0], ts[1]),
        };
        var blocks = new TcpSackBlocks();
        for (int i = 0; i < nSack; i++) blocks.TryAdd(new SackBlock(new(sack[2 * i]), new(sack[2 * i + 1])));
        r.SackBlocks = blocks;
        return r;
    }

    [Fact]
    public void Repr_round_trips_through_Write_and_TryParse_with_a_valid_checksum()
    {
        GenRepr.Where(r => r.HeaderLength <= TcpSegment.MaxHeaderLength)
            .Select(Gen.Byte.Array[0, 100], (r, p) => (r, p))
            .Sample(t =>
            {
                var (repr, payload) = t;
                var buf = new byte[repr.BufferLength(payload.Length)];
                int n = repr.Write(buf, payload, Src, Dst);
                Assert.Equal(buf.Length, n);
                Assert.True(TcpSegment.TryParse(buf, out var seg, out var err), err.ToString());
                Assert.True(seg.VerifyChecksum(Src, Dst));
                Assert.Equal(repr, seg.ToRepr());
                Assert.Equal(payload, seg.Payload.ToArray());
            }, iter: 5_000);
    }

    [Fact]
    public void Options_are_padded_to_a_32_bit_boundary_with_NOPs()
    {
        var r = new TcpRepr { WindowScale = 7 };
        Assert.Equal(24, r.HeaderLength);
        var buf = new byte[24];
        r.Write(buf, default, Src, Dst);
        Assert.Equal(new byte[] { 3, 3, 7, 1 }, buf[20..24]);
        Assert.Equal(6, buf[12] >> 4);
    }

    [Fact]
    public void A_flipped_bit_fails_the_checksum()
    {
        var r = new TcpRepr { SourcePort = 1, DestinationPort = 2, Flags = TcpFlags.Syn };
        var buf = new byte[r.BufferLength(3)];
        r.Write(buf, new byte[] { 1, 2, 3 }, Src, Dst);
        buf[21] ^= 0x10;
        Assert.True(TcpSegment.TryParse(buf, out var s, out _));
        Assert.False(s.VerifyChecksum(Src, Dst));
        Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(buf.AsSpan(16)), s.Checksum);
    }
}
