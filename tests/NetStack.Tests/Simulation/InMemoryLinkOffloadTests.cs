using NetStack.Link;
using NetStack.Simulation;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

/// <summary>
/// An <see cref="InMemoryLink"/> with a veth's offloads (<see cref="LinkOptions.Offloads"/>, issue 12): a TSO super-frame
/// with a partial checksum crosses whole and is handed over with its virtio-net header, as an skb crosses a veth; whatever
/// needs wire frames (a reader without <see cref="FrameReceiveInfo"/>, a link or switch port without the offload) gets the
/// frames <see cref="SoftwareSegmentation"/> makes. Without the option nothing changes: no offload is offered.
/// </summary>
public class InMemoryLinkOffloadTests
{
    private static readonly MacAddress MacA = SimLan.Mac(1), MacB = SimLan.Mac(2);
    private const int Mss = 1428; // fits IPv6 with TCP timestamps in 1500: 40 + 32 + 1428
    private static readonly LinkOptions Veth = new() { Offloads = LinkOptions.VethOffloads };
    private readonly byte[] _buffer = new byte[70_000];

    /// <summary>A TCP super-frame (Ethernet, IPv4 or IPv6, TCP with timestamps) of <paramref name="payload"/> with a partial
    /// checksum, from A to B (192.0.2.1 to .2, 2001:db8::1 to ::2), and the virtio-net header that describes it as segments
    /// of <see cref="Mss"/>.</summary>
    private static (byte[] Frame, FrameTransmitInfo Info) Super(bool v6, int payload, int mss = Mss)
    {
        var tcp = new TcpRepr
        {
            SourcePort = 40000,
            DestinationPort = 5001,
            SequenceNumber = new SeqNumber(1_000_000),
            AckNumber = new SeqNumber(777),
            Flags = TcpFlags.Ack | TcpFlags.Psh,
            Window = 512,
            Timestamps = new TcpTimestamps(1234, 5678),
        };
        var (frame, virtio) = OffloadFrames.TcpSuper(MacA, MacB, Src(v6), Dst(v6), tcp, Frames.Pattern(payload), mss, identification: 100);
        return (frame, new FrameTransmitInfo { Virtio = virtio });
    }

    private static IpAddress Src(bool v6) => v6 ? Families.V6A : Families.V4A;
    private static IpAddress Dst(bool v6) => v6 ? Families.V6B : Families.V4B;

    /// <summary>The wire frames a device with TSO would send for the super-frame.</summary>
    private static List<byte[]> WireFrames(byte[] frame, in FrameTransmitInfo info) => OffloadFrames.WireFrames(frame, info.Virtio);

    /// <summary>What <paramref name="end"/> hands over now, each frame checked to come without a virtio-net header.</summary>
    private List<byte[]> ReceivePlain(LinkEndpoint end)
    {
        var got = new List<byte[]>();
        while (end.TryReceive(_buffer, Instant.Zero, out int n, out var rx))
        {
            Assert.Null(rx.Virtio);
            got.Add(_buffer.AsSpan(0, n).ToArray());
        }
        return got;
    }

    [Fact]
    public void Without_the_option_no_offload_is_offered_and_frames_stay_MTU_sized()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB);
        var caps = ((INetDevice)link.A).Capabilities;
        Assert.Equal(DeviceOffloads.None, caps.Offloads);
        Assert.Equal(0, caps.GsoMaxSize);
        Assert.Equal(FrameLengths.MaxFrameFor(Medium.Ethernet, 1500), link.A.MaxFrameSize);
    }

    [Fact]
    public void With_veth_offloads_both_ends_offer_checksum_and_segmentation_offloads_up_to_64_KB()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth);
        foreach (INetDevice end in (INetDevice[])[link.A, link.B])
        {
            var caps = end.Capabilities;
            Assert.Equal(LinkOptions.VethOffloads, caps.Offloads);
            Assert.Equal(65536, caps.GsoMaxSize);
            Assert.Equal(1500, caps.Mtu);
            Assert.Equal(FrameLengths.MaxFrameFor(Medium.Ethernet, 65536), end.MaxFrameSize);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_TSO_super_frame_crosses_whole_with_its_virtio_header(bool v6)
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth with { Latency = TimeSpan.FromMilliseconds(1) });
        var (frame, info) = Super(v6, 40 * Mss + 100);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        Assert.Equal(Instant.FromMilliseconds(1), link.B.NextArrival);
        Assert.True(link.B.TryReceive(_buffer, Instant.FromMilliseconds(1), out int n, out var rx));
        Assert.Equal(frame, _buffer.AsSpan(0, n).ToArray());
        Assert.Equal(info.Virtio, rx.Virtio);
        Assert.False(rx.Truncated);
        Assert.False(link.B.TryReceive(_buffer, Instant.FromMilliseconds(1), out _, out _));
        var st = link.AToBStatistics;
        Assert.Equal((1L, 1L, 1L, 1L, 0L), (st.Sent, st.Delivered, st.OffloadedFrames, st.SuperFrames, st.SegmentedOnDelivery));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_without_receive_info_a_super_frame_arrives_as_its_wire_frames(bool v6)
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth);
        var (frame, info) = Super(v6, 5 * Mss + 7);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        var got = new List<byte[]>();
        while (link.B.TryReceive(_buffer, Instant.Zero, out int n)) got.Add(_buffer.AsSpan(0, n).ToArray());
        var expected = WireFrames(frame, info);
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected, got);
        // Each is a whole, valid segment (the kit checks the IPv4 header and TCP checksums).
        foreach (var f in got) Expect.Frame(f).Ip(src: Src(v6), dst: Dst(v6)).Tcp();
        Assert.Equal(6, link.AToBStatistics.SegmentedOnDelivery);
        Assert.Equal(6, link.AToBStatistics.Delivered);
    }

    [Fact]
    public void A_receiving_direction_without_receive_offloads_hands_over_wire_frames_with_no_header()
    {
        // A sends with TSO; the direction does not hand super-frames or partial checksums to B (transmit offloads only).
        var txOnly = new LinkOptions { Offloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6 };
        using var link = new InMemoryLink(Medium.Ethernet, MacA, MacB, txOnly, LinkOptions.Default);
        Assert.Equal(DeviceOffloads.None, ((INetDevice)link.B).Capabilities.Offloads);
        var (frame, info) = Super(v6: false, 3 * Mss);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        Assert.Equal(WireFrames(frame, info), ReceivePlain(link.B));
    }

    [Fact]
    public void A_link_without_offloads_takes_an_offloaded_frame_as_its_wire_frames()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB);
        var (frame, info) = Super(v6: true, 3 * Mss + 1);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        Assert.Equal(4, link.AToBStatistics.Sent);
        Assert.Equal(0, link.AToBStatistics.OffloadedFrames);
        Assert.Equal(WireFrames(frame, info), ReceivePlain(link.B));
    }

    [Fact]
    public void Each_segment_must_fit_the_MTU_and_a_header_that_lies_is_a_counted_drop()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth with { Mtu = 1400 });
        var (frame, info) = Super(v6: false, 10 * Mss); // 20 + 32 + 1448 > 1400
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        Assert.Equal(1, link.AToBStatistics.MtuDrops);
        var (small, smallInfo) = Super(v6: false, 10 * 1300, mss: 1300); // 20 + 32 + 1300 <= 1400
        ((INetDevice)link.A).Transmit(small, Instant.Zero, smallInfo);
        Assert.Equal(1, link.AToBStatistics.SuperFrames);
        var lie = smallInfo with { Virtio = smallInfo.Virtio with { ChecksumStart = 60_000 } };
        ((INetDevice)link.A).Transmit(small, Instant.Zero, lie);
        var noSize = smallInfo with { Virtio = smallInfo.Virtio with { GsoSize = 0 } };
        ((INetDevice)link.A).Transmit(small, Instant.Zero, noSize);
        Assert.Equal(2, link.AToBStatistics.OffloadDrops);
        Assert.True(link.B.TryReceive(_buffer, Instant.Zero, out int n, out _));
        Assert.Equal(small.Length, n);
        Assert.False(link.B.TryReceive(_buffer, Instant.Zero, out _, out _));
    }

    [Fact]
    public void A_super_frame_occupies_the_wire_for_the_bytes_of_all_its_segments()
    {
        // 8 Mbit/s: one byte per microsecond. The segments repeat the 66 bytes of headers.
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth with { BitsPerSecond = 8_000_000 });
        var (frame, info) = Super(v6: false, 4 * Mss);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
        int headers = info.Virtio.HeaderLength;
        Assert.Equal(new Instant(frame.Length + 3 * headers), link.B.NextArrival);
        Assert.Equal(WireFrames(frame, info).Sum(f => f.Length), frame.Length + 3 * headers);
    }

    [Fact]
    public void A_partial_checksum_without_segmentation_crosses_whole_and_is_completed_for_a_wire_reader()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth);
        var (frame, info) = Super(v6: false, 500);
        var partial = info with { Virtio = info.Virtio with { GsoType = VirtioGsoType.None, GsoSize = 0, HeaderLength = 0 } };
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, partial);
        ((INetDevice)link.A).Transmit(frame, Instant.Zero, partial);
        Assert.True(link.B.TryReceive(_buffer, Instant.Zero, out int n, out var rx));
        Assert.Equal(frame, _buffer.AsSpan(0, n).ToArray());
        Assert.Equal(partial.Virtio, rx.Virtio);
        Assert.True(link.B.TryReceive(_buffer, Instant.Zero, out n));
        Expect.Frame(_buffer.AsSpan(0, n)).Ip(src: Src(false), dst: Dst(false)).Tcp(); // the checksum was completed
        Assert.Equal((2L, 0L, 1L), (link.AToBStatistics.OffloadedFrames, link.AToBStatistics.SuperFrames, link.AToBStatistics.SegmentedOnDelivery));
    }

    [Fact]
    public void A_switch_forwards_a_super_frame_whole_between_offloading_ports_and_mirrors_wire_frames_to_a_plain_port()
    {
        var sim = new Simulator(5);
        using var sw = new LearningSwitch();
        sim.AddSwitch("switch", sw);
        var a = sw.AddPort(MacA, Veth);
        var b = sw.AddPort(MacB, Veth);
        var mirror = sim.AddTap("mirror", sw.AddMirrorPort());
        var (frame, info) = Super(v6: false, 7 * Mss + 3);
        ((INetDevice)a).Transmit(frame, sim.Now, info);
        sim.RunFor(TimeSpan.FromMilliseconds(1));
        // B's end (offloads on both of its directions) gets the super-frame whole with its header.
        Assert.True(b.TryReceive(_buffer, sim.Now, out int n, out var rx));
        Assert.Equal(frame, _buffer.AsSpan(0, n).ToArray());
        Assert.Equal(info.Virtio, rx.Virtio);
        Assert.Equal(1, sw.Statistics.Received);
        // The mirror port offers no offloads: its tap captured the wire frames.
        Assert.Equal(WireFrames(frame, info), mirror.Take());
    }

    [Fact]
    public void A_recorder_records_a_super_frame_whole_as_tcpdump_on_a_veth_shows_it()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth);
        using var pcap = new MemoryStream();
        using (var recorder = new PcapRecorder(link.B, pcap, leaveOpen: true))
        {
            var (frame, info) = Super(v6: true, 20 * Mss);
            ((INetDevice)link.A).Transmit(frame, Instant.Zero, info);
            Assert.True(recorder.TryReceive(_buffer, Instant.Zero, out int n, out var rx));
            Assert.Equal(frame.Length, n);
            Assert.Equal(info.Virtio, rx.Virtio);
            recorder.Flush();
        }
        pcap.Position = 0;
        using var reader = new PcapReader(pcap);
        Assert.True(reader.TryRead(out var record));
        Assert.Equal(Super(v6: true, 20 * Mss).Frame, record.Data.ToArray());
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Steady_state_does_not_allocate_per_super_frame()
    {
        using var link = InMemoryLink.Ethernet(MacA, MacB, Veth with { Latency = TimeSpan.FromMicroseconds(30), BitsPerSecond = 10_000_000_000 });
        var (frame, info) = Super(v6: false, 40 * Mss);
        void Run(long from)
        {
            for (long i = from; i < from + 5_000; i++)
            {
                var now = new Instant(i * 100);
                ((INetDevice)link.A).Transmit(frame, now, info);
                while (link.B.TryReceive(_buffer, now, out _, out _)) { }
            }
        }
        long from = 0;
        long allocated = Support.Allocations.SteadyState(() => { Run(from); from += 5_000; }, iterations: 1);
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 5,000 super-frames");
        Assert.Equal(link.AToBStatistics.Sent, link.AToBStatistics.SuperFrames);
    }
}
