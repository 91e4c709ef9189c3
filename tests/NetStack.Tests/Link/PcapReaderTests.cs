using System.Buffers.Binary;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>Capture readers agree with tshark and fail cleanly on hostile files.</summary>
public class PcapReaderTests
{
    private static List<(int Len, int CapLen, string Epoch)> ReadOurs(string path, out WireError error)
    {
        using var reader = PcapFile.Open(path);
        var list = new List<(int, int, string)>();
        while (reader.TryRead(out var r)) list.Add((r.OriginalLength, r.Data.Length, TsharkDump.Epoch(r.TimestampNanoseconds)));
        error = reader.Error;
        return list;
    }

    /// <summary>
    /// tshark's view of every capture in pcaps/, taken in one run over their concatenation (mergecap -a keeps
    /// each frame's bytes, lengths and timestamp): starting tshark once per file costs about a second each.
    /// </summary>
    private static readonly Lazy<(string[] Files, List<TsharkDump.Frame> Theirs)> AllCaptures = new(() =>
    {
        var files = CapturePaths.All().ToArray();
        var merged = Path.Combine(Path.GetTempPath(), $"netstack-all-{Guid.NewGuid():N}.pcapng");
        try
        {
            TsharkDump.Concatenate(merged, files);
            return (files, TsharkDump.Dump(merged));
        }
        finally { File.Delete(merged); }
    });

    [Fact]
    public void Every_capture_reads_like_tshark_frame_lengths_and_timestamps()
    {
        var (files, dump) = AllCaptures.Value;
        var theirs = dump.Select(f => f.Meta).ToList();
        var ours = new List<(int, int, string)>();
        var origin = new List<string>();
        foreach (var f in files)
        {
            var frames = ReadOurs(f, out var error);
            Assert.True(error == WireError.None, $"{Path.GetFileName(f)}: {error}");
            ours.AddRange(frames);
            origin.AddRange(frames.Select((_, i) => $"{Path.GetFileName(f)} frame {i + 1}"));
        }
        Assert.True(files.Length >= 30, "the captures directory was not found complete");
        for (int i = 0; i < Math.Min(ours.Count, theirs.Count); i++)
            Assert.True(theirs[i] == ours[i], $"{origin[i]}: tshark {theirs[i]}, ours {ours[i]}");
        Assert.Equal(theirs.Count, ours.Count);
    }

    [Fact]
    public void Every_capture_has_the_bytes_tshark_shows()
    {
        var (files, dump) = AllCaptures.Value;
        var theirs = dump.Select(f => f.Bytes).ToList();
        int i = 0;
        foreach (var f in files)
        {
            using var reader = PcapFile.Open(f);
            int n = 0;
            while (reader.TryRead(out var r))
            {
                n++;
                Assert.True(i < theirs.Count && r.Data.SequenceEqual(theirs[i]), $"{Path.GetFileName(f)} frame {n}");
                i++;
            }
        }
        Assert.Equal(theirs.Count, i);
    }

    [Fact]
    public void Nanosecond_pcap_keeps_nanoseconds_and_its_link_type()
    {
        using var reader = new PcapReader(File.OpenRead(CapturePaths.Get("tcpdump-tcp-handshake-nano.pcap")));
        Assert.True(reader.IsNanosecond);
        Assert.Equal(113, (int)reader.LinkType); // LINKTYPE_LINUX_SLL, carried through
        Assert.True(reader.TryRead(out var r));
        Assert.Equal(1418145369_924505488L, r.TimestampNanoseconds);
    }

    [Fact]
    public void Big_endian_pcap_in_both_resolutions_reads_like_tshark()
    {
        foreach (bool nano in new[] { false, true })
        {
            var path = Path.Combine(Path.GetTempPath(), $"netstack-be-{Guid.NewGuid():N}.pcap");
            try
            {
                var ms = new MemoryStream();
                var h = new byte[24];
                BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(), nano ? PcapReader.MagicNanoseconds : PcapReader.MagicMicroseconds);
                BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), 2);
                BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), 4);
                BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(16), 65535);
                BinaryPrimitives.WriteUInt32BigEndian(h.AsSpan(20), 1);
                ms.Write(h);
                for (int i = 0; i < 3; i++)
                {
                    var frame = NetStack.Tests.Simulation.TestFrames.Make(MacAddress.Broadcast, new MacAddress(0x020000000001), 60 + i * 10, (uint)i);
                    var rh = new byte[16];
                    BinaryPrimitives.WriteUInt32BigEndian(rh.AsSpan(), 1_700_000_000u + (uint)i);
                    BinaryPrimitives.WriteUInt32BigEndian(rh.AsSpan(4), nano ? 123_456_789u : 123_456u);
                    BinaryPrimitives.WriteUInt32BigEndian(rh.AsSpan(8), (uint)frame.Length);
                    BinaryPrimitives.WriteUInt32BigEndian(rh.AsSpan(12), (uint)frame.Length + 4);
                    ms.Write(rh);
                    ms.Write(frame);
                }
                File.WriteAllBytes(path, ms.ToArray());
                var ours = ReadOurs(path, out var error);
                Assert.Equal(WireError.None, error);
                Assert.Equal(TsharkDump.Dump(path).Select(f => f.Meta), ours);
                Assert.Equal(3, ours.Count);
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void Big_endian_pcapng_with_nanosecond_resolution_SPB_and_unknown_blocks_reads_like_tshark()
    {
        var path = Path.Combine(Path.GetTempPath(), $"netstack-be-{Guid.NewGuid():N}.pcapng");
        try
        {
            var frame = NetStack.Tests.Simulation.TestFrames.Make(MacAddress.Broadcast, new MacAddress(0x020000000001), 61, 7);
            var ng = new PcapNgBuilder(bigEndian: true);
            ng.SectionHeader();
            ng.Interface(linkType: 1, snapLength: 0, tsresol: 9);
            ng.Block(0x0BAD0BAD, new byte[12]); // an unknown block: skipped
            ng.Enhanced(0, 1_700_000_000_123_456_789UL, frame, frame.Length);
            ng.Simple(frame);
            ng.Enhanced(0, 1_700_000_001_000_000_001UL, frame[..40], frame.Length);
            File.WriteAllBytes(path, ng.ToArray());
            var ours = ReadOurs(path, out var error);
            Assert.Equal(WireError.None, error);
            var theirs = TsharkDump.Dump(path).Select(f => f.Meta).ToList();
            Assert.Equal(3, ours.Count);
            Assert.Equal(theirs[0], ours[0]);
            Assert.Equal(theirs[2], ours[2]);
            // A Simple Packet Block has no timestamp: tshark shows none; we report 0.
            Assert.Equal((theirs[1].Len, theirs[1].CapLen, ""), (ours[1].Len, ours[1].CapLen, theirs[1].Epoch));
            Assert.Equal("0.000000000", ours[1].Epoch);
            Assert.Equal("1700000000.123456789", ours[0].Epoch);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Pcapng_binary_timestamp_resolution_is_converted()
    {
        var ng = new PcapNgBuilder(bigEndian: false);
        ng.SectionHeader();
        ng.Interface(linkType: 1, snapLength: 0, tsresol: 0x80 | 10); // 2^-10 s units
        ng.Enhanced(0, 3 * 1024 + 512, new byte[20], 20);
        using var reader = PcapFile.Open(new MemoryStream(ng.ToArray()));
        Assert.True(reader.TryRead(out var r));
        Assert.Equal(3_500_000_000L, r.TimestampNanoseconds);
    }

    [Fact]
    public void Pcapng_second_section_in_the_other_byte_order_is_read()
    {
        var a = new PcapNgBuilder(bigEndian: false);
        a.SectionHeader(); a.Interface(1, 0, 6); a.Enhanced(0, 1_000_000, new byte[30], 30);
        var b = new PcapNgBuilder(bigEndian: true);
        b.SectionHeader(); b.Interface(101, 0, 9); b.Enhanced(0, 2_000_000_000, new byte[40], 40);
        using var reader = PcapFile.Open(new MemoryStream([.. a.ToArray(), .. b.ToArray()]));
        Assert.True(reader.TryRead(out var r1));
        Assert.Equal((PcapLinkType.Ethernet, 1_000_000_000L, 30), (r1.LinkType, r1.TimestampNanoseconds, r1.Data.Length));
        Assert.True(reader.TryRead(out var r2));
        Assert.Equal((PcapLinkType.Raw, 2_000_000_000L, 40), (r2.LinkType, r2.TimestampNanoseconds, r2.Data.Length));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(WireError.None, reader.Error);
    }

    [Theory]
    [InlineData("cs-icmp_echo.pcapng")]
    [InlineData("zeek-icmp_dot1q.pcap")]
    [InlineData("tcpdump-tcp-handshake-nano.pcap")]
    public void Truncated_capture_at_every_length_fails_cleanly(string name)
    {
        var bytes = File.ReadAllBytes(CapturePaths.Get(name));
        int total = CountFrames(bytes, out _);
        for (int cut = 0; cut < bytes.Length; cut++)
        {
            IPcapReader reader;
            try { reader = PcapFile.Open(new MemoryStream(bytes, 0, cut)); }
            catch (InvalidDataException) { continue; } // documented: corrupt or missing file header
            using (reader)
            {
                int n = 0;
                while (reader.TryRead(out _)) n++;
                Assert.True(n < total || reader.Error == WireError.None, $"cut {cut}: {n} frames");
                Assert.True(n <= total);
            }
        }
    }

    [Fact]
    public void Random_garbage_after_a_valid_header_never_throws()
    {
        ulong seed = 20261126;
        IRandomSource random = new SeededRandom(seed);
        var header = File.ReadAllBytes(CapturePaths.Get("cs-icmp_echo.pcapng"));
        var pcapHeader = File.ReadAllBytes(CapturePaths.Get("zeek-icmp_dot1q.pcap"));
        for (int round = 0; round < 2000; round++)
        {
            var source = round % 2 == 0 ? header : pcapHeader;
            int keep = round % 2 == 0 ? 28 + random.Next(200) : 24 + random.Next(100);
            var bytes = source[..Math.Min(keep, source.Length)].Concat(RandomBytes(random, random.Next(300))).ToArray();
            // Flip a few bytes anywhere after the first four, too.
            for (int k = 0; k < 3; k++) { int at = 4 + random.Next(bytes.Length - 4); bytes[at] ^= (byte)(1 + random.Next(255)); }
            try
            {
                using var reader = PcapFile.Open(new MemoryStream(bytes));
                int n = 0;
                while (reader.TryRead(out var r) && n < 10_000) { n++; _ = r.Data.Length; }
            }
            catch (InvalidDataException) { }
            catch (Exception e) { Assert.Fail($"seed {seed} round {round}: {e}"); }
        }
    }

    [Fact]
    public void Record_longer_than_the_limit_is_rejected_as_BadLength()
    {
        var ms = new MemoryStream();
        using (var w = new PcapWriter(ms, PcapLinkType.Ethernet, leaveOpen: true)) w.Write(new byte[60], Instant.Zero);
        var bytes = ms.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24 + 8), PcapReader.MaxRecordLength + 1);
        using var reader = PcapFile.Open(new MemoryStream(bytes));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(WireError.BadLength, reader.Error);
    }

    [Fact]
    public void Pcapng_block_length_not_a_multiple_of_four_is_rejected_as_BadLength()
    {
        var ng = new PcapNgBuilder(false);
        ng.SectionHeader(); ng.Interface(1, 0, 6); ng.Enhanced(0, 0, new byte[20], 20);
        var bytes = ng.ToArray();
        int epb = bytes.Length - (32 + 20);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(epb + 4), 53);
        using var reader = PcapFile.Open(new MemoryStream(bytes));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(WireError.BadLength, reader.Error);
    }

    [Fact]
    public void Pcapng_packet_on_an_undeclared_interface_is_rejected_as_BadField()
    {
        var ng = new PcapNgBuilder(false);
        ng.SectionHeader(); ng.Interface(1, 0, 6); ng.Enhanced(1, 0, new byte[20], 20);
        using var reader = PcapFile.Open(new MemoryStream(ng.ToArray()));
        Assert.False(reader.TryRead(out _));
        Assert.Equal(WireError.BadField, reader.Error);
    }

    [Fact]
    public void File_that_is_no_capture_throws_InvalidDataException()
    {
        Assert.Throws<InvalidDataException>(() => PcapFile.Open(new MemoryStream("hello, world, not a capture"u8.ToArray())));
        Assert.Throws<InvalidDataException>(() => PcapFile.Open(new MemoryStream([0xD4, 0xC3])));
    }

    private static int CountFrames(byte[] bytes, out WireError error)
    {
        using var reader = PcapFile.Open(new MemoryStream(bytes));
        int n = 0;
        while (reader.TryRead(out _)) n++;
        error = reader.Error;
        return n;
    }

    private static byte[] RandomBytes(IRandomSource random, int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }
}

/// <summary>Writes pcapng blocks in either byte order, for reader tests.</summary>
internal sealed class PcapNgBuilder(bool bigEndian)
{
    private readonly MemoryStream _ms = new();

    private void U16(ushort v) { Span<byte> b = stackalloc byte[2]; if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v); _ms.Write(b); }
    private void U32(uint v) { Span<byte> b = stackalloc byte[4]; if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v); _ms.Write(b); }

    public void Block(uint type, ReadOnlySpan<byte> body)
    {
        int padded = (body.Length + 3) & ~3;
        U32(type); U32((uint)(12 + padded));
        _ms.Write(body); _ms.Write(new byte[padded - body.Length]);
        U32((uint)(12 + padded));
    }

    private byte[] Body(Action<PcapNgBuilder> write)
    {
        var inner = new PcapNgBuilder(bigEndian);
        write(inner);
        return inner.ToArray();
    }

    public void SectionHeader() => Block(PcapNgReader.SectionHeaderType, Body(b =>
    {
        b.U32(PcapNgReader.ByteOrderMagic); b.U16(1); b.U16(0); b.U32(0xFFFFFFFF); b.U32(0xFFFFFFFF);
    }));

    public void Interface(ushort linkType, uint snapLength, byte tsresol) => Block(PcapNgReader.InterfaceDescriptionType, Body(b =>
    {
        b.U16(linkType); b.U16(0); b.U32(snapLength);
        b.U16(9); b.U16(1); b._ms.Write([tsresol, 0, 0, 0]);
        b.U16(0); b.U16(0);
    }));

    public void Enhanced(uint id, ulong units, ReadOnlySpan<byte> data, int originalLength)
    {
        var copy = data.ToArray();
        Block(PcapNgReader.EnhancedPacketType, Body(b =>
        {
            b.U32(id); b.U32((uint)(units >> 32)); b.U32((uint)units); b.U32((uint)copy.Length); b.U32((uint)originalLength);
            b._ms.Write(copy); b._ms.Write(new byte[((copy.Length + 3) & ~3) - copy.Length]);
        }));
    }

    public void Simple(ReadOnlySpan<byte> data)
    {
        var copy = data.ToArray();
        Block(PcapNgReader.SimplePacketType, Body(b => { b.U32((uint)copy.Length); b._ms.Write(copy); }));
    }

    public byte[] ToArray() => _ms.ToArray();
}
