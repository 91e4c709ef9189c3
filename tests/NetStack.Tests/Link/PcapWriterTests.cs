using NetStack.Link;
using NetStack.Simulation;
using NetStack.Tests.Simulation;
using NetStack.Tests.Support;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>Files we write open cleanly in tshark and hold exactly what was sent and received.</summary>
public sealed class PcapWriterTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"netstack-writer-{Guid.NewGuid():N}.pcap");

    public void Dispose() => File.Delete(_path);

    private static readonly MacAddress A = new(0x02_00_00_00_00_0A);
    private static readonly MacAddress B = new(0x02_00_00_00_00_0B);

    [Fact]
    public void Written_frames_read_back_by_tshark_byte_for_byte_with_lengths_and_timestamps()
    {
        var frames = new List<(byte[] Frame, Instant At)>();
        for (int i = 0; i < 20; i++)
            frames.Add((TestFrames.Make(B, A, 60 + i * 73, (uint)i), new Instant(1_700_000_000_000_000L + i * 1_234_567L)));
        using (var w = new PcapWriter(File.Create(_path), Medium.Ethernet))
        {
            foreach (var (f, at) in frames) w.Write(f, at);
        }
        var dump = TsharkDump.Dump(_path);
        var bytes = dump.Select(f => f.Bytes).ToList();
        var meta = dump.Select(f => f.Meta).ToList();
        Assert.Equal(frames.Count, bytes.Count);
        for (int i = 0; i < frames.Count; i++)
        {
            Assert.Equal(frames[i].Frame, bytes[i]);
            Assert.Equal((frames[i].Frame.Length, frames[i].Frame.Length, TsharkDump.Epoch(frames[i].At.Microseconds * 1000)), meta[i]);
        }
    }

    [Fact]
    public void Raw_ip_medium_is_written_as_linktype_101()
    {
        using (var w = new PcapWriter(File.Create(_path), Medium.Ip)) w.Write(new byte[] { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2 }, Instant.Zero);
        using var r = new PcapReader(File.OpenRead(_path));
        Assert.Equal(PcapLinkType.Raw, r.LinkType);
        Assert.Contains("192.0.2.1", TsharkDump.Run("-n", "-r", _path), StringComparison.Ordinal);
    }

    [Fact]
    public void Frames_longer_than_the_snap_length_keep_their_original_length()
    {
        using (var w = new PcapWriter(File.Create(_path), PcapLinkType.Ethernet, snapLength: 64)) w.Write(TestFrames.Make(B, A, 200), Instant.Zero);
        Assert.Equal((200, 64, "0.000000000"), TsharkDump.Dump(_path)[0].Meta);
    }

    [Fact]
    public void Recorder_captures_received_and_transmitted_frames_in_order_with_now_as_timestamp()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(5) });
        var toA = TestFrames.Make(A, B, 80, 1);
        var fromA = TestFrames.Make(B, A, 90, 2);
        var epoch = TimeSpan.FromSeconds(1_700_000_000);
        using (var recorder = new PcapRecorder(link.A, File.Create(_path), epochOffset: epoch))
        {
            link.B.Transmit(toA, Instant.FromMilliseconds(1));
            Assert.Equal(Instant.FromMilliseconds(6), recorder.NextArrival);
            var buf = new byte[recorder.MaxFrameSize];
            Assert.False(recorder.TryReceive(buf, Instant.FromMilliseconds(5), out _));
            Assert.True(recorder.TryReceive(buf, Instant.FromMilliseconds(6), out int n));
            Assert.Equal(toA.Length, n);
            recorder.Transmit(fromA, Instant.FromMilliseconds(7));
            Assert.Equal(2, recorder.FramesRecorded);
        } // Dispose flushes
        var dump = TsharkDump.Dump(_path);
        Assert.Equal([toA, fromA], dump.Select(f => f.Bytes));
        var meta = dump.Select(f => f.Meta).ToList();
        Assert.Equal("1700000000.006000000", meta[0].Epoch);
        Assert.Equal("1700000000.007000000", meta[1].Epoch);
        // And the frame really went on through the inner device.
        var rx = new byte[link.B.MaxFrameSize];
        Assert.True(link.B.TryReceive(rx, Instant.FromMilliseconds(12), out int m));
        Assert.Equal(fromA, rx[..m]);
    }
}
