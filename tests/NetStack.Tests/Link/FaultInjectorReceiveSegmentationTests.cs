using NetStack.Link;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Simulation;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Link;

/// <summary>
/// Receive-side faults apply per wire frame (issue 13, loss recovery): a super-frame a device hands over (a TAP's GSO frame
/// from the host's TCP, up to 64 KB) stands for many wire segments, so a 5 % loss must lose single segments, not whole
/// bursts. The injector cuts it with the core's software segmentation, faults each segment, counts wire frames, and hands
/// over plain frames with whole checksums (DATA_VALID). All seeded.
/// </summary>
public class FaultInjectorReceiveSegmentationTests(ITestOutputHelper output)
{
    private const int Eth = EthernetFrame.HeaderLength;
    private const int Mss = 1400;
    private static readonly Ipv4Address Src4 = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address Dst4 = Ipv4Address.Parse("192.0.2.9");
    private static readonly Ipv6Address Src6 = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly Ipv6Address Dst6 = Ipv6Address.Parse("2001:db8:1::9");
    private static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:09");

    /// <summary>A GSO super-frame as the kernel writes it to a vnet-header TAP: partial checksum, gso_size = MSS.</summary>
    private static (byte[] Frame, FrameReceiveInfo Info) Super(bool v6, uint seq, int segments)
    {
        var tcp = new TcpRepr
        {
            SourcePort = 40000, DestinationPort = 9, SequenceNumber = new SeqNumber(seq), AckNumber = new SeqNumber(1),
            Flags = TcpFlags.Ack | TcpFlags.Psh, Window = 500,
        };
        var (frame, virtio) = OffloadFrames.TcpSuper(MacA, MacB, v6 ? Src6 : Src4, v6 ? Dst6 : Dst4, tcp,
            Frames.Pattern(segments * Mss, seed: (int)seq), Mss, identification: 7);
        return (frame, new FrameReceiveInfo { Virtio = virtio });
    }

    /// <summary>A device handing out queued frames with the receive info they were queued with (a vnet-header TAP).</summary>
    private static ReceiveInfoDevice Source() => new(MacB);

    private static List<(byte[] Frame, FrameReceiveInfo Info)> Drain(FaultInjector injector, Instant now)
    {
        var got = new List<(byte[], FrameReceiveInfo)>();
        var buffer = new byte[65_550];
        while (injector.TryReceive(buffer, now, out int n, out var info)) got.Add((buffer.AsSpan(0, n).ToArray(), info));
        return got;
    }

    [Theory]
    [InlineData(false, 11UL)]
    [InlineData(true, 12UL)]
    public void A_received_super_frame_is_faulted_per_wire_segment(bool v6, ulong seed)
    {
        output.WriteLine($"seed {seed}");
        const int superFrames = 200, segments = 44;
        var source = Source();
        using var injector = new FaultInjector(source, new SeededRandom(seed), receive: new FaultProfile { DropRate = 0.05 });
        for (int k = 0; k < superFrames; k++)
        {
            var (f, info) = Super(v6, (uint)(1000 + k * segments * Mss), segments);
            source.Enqueue(f, info);
        }
        var got = Drain(injector, Instant.FromMilliseconds(1));
        var stats = injector.ReceiveStatistics;
        output.WriteLine(stats.ToString());

        // Statistics count wire frames: 200 x 44 segments, each dropped or delivered on its own.
        Assert.Equal(superFrames * segments, stats.Frames);
        Assert.Equal(stats.Frames - stats.Dropped, stats.Delivered);
        Assert.Equal(stats.Delivered, got.Count);
        Assert.InRange((double)stats.Dropped / stats.Frames, 0.04, 0.06);

        // Every frame handed over is one wire segment of MSS bytes with whole checksums, DATA_VALID, no GSO.
        IpAddress s = v6 ? Src6 : Src4, d = v6 ? Dst6 : Dst4;
        var delivered = new HashSet<uint>();
        foreach (var (frame, info) in got)
        {
            Assert.True(frame.Length <= Eth + 1500, $"frame of {frame.Length} bytes is not a wire frame");
            Assert.Equal(new VirtioNetHeader(VirtioNetHeader.FlagDataValid, VirtioGsoType.None, 0, 0, 0, 0), info.Virtio);
            var seg = Expect.Frame(frame).Ip(src: s, dst: d).Tcp(); // verifies the IPv4 header and TCP checksums
            Assert.Equal(Mss, seg.Payload.Length);
            uint seq = seg.TcpHeader.SequenceNumber.Value;
            Assert.Equal(0u, (seq - 1000) % Mss);
            Assert.True(delivered.Add(seq));
            var expected = Frames.Pattern(segments * Mss, seed: (int)(seq - (seq - 1000) % (segments * Mss)));
            Assert.Equal(expected.AsSpan((int)((seq - 1000) % (segments * Mss)), Mss).ToArray(), seg.Payload);
        }

        // Losses fall inside super-frames (a whole-frame model would lose all 44 segments of one or none):
        // most super-frames lose some segments and keep the others.
        int partial = 0;
        for (int k = 0; k < superFrames; k++)
        {
            int kept = 0;
            for (int i = 0; i < segments; i++) if (delivered.Contains((uint)(1000 + (k * segments + i) * Mss))) kept++;
            if (kept > 0 && kept < segments) partial++;
        }
        output.WriteLine($"super-frames with some but not all segments lost: {partial} of {superFrames}");
        Assert.True(partial > superFrames / 2, $"{partial} of {superFrames} super-frames were partly delivered");
    }

    [Fact]
    public void The_same_seed_loses_the_same_segments()
    {
        static List<uint> Run(ulong seed)
        {
            var source = Source();
            using var injector = new FaultInjector(source, new SeededRandom(seed), receive: new FaultProfile { DropRate = 0.2 });
            for (int k = 0; k < 10; k++)
            {
                var (f, info) = Super(false, (uint)(k * 20 * Mss), 20);
                source.Enqueue(f, info);
            }
            return Drain(injector, Instant.Zero).Select(g => Expect.Frame(g.Frame).Tcp().TcpHeader.SequenceNumber.Value).ToList();
        }
        const ulong seed = 31;
        output.WriteLine($"seed {seed}");
        var a = Run(seed);
        Assert.Equal(a, Run(seed));
        Assert.InRange(a.Count, 120, 190);
        Assert.NotEqual(a, Run(seed + 1));
    }

    [Fact]
    public void A_super_frame_whose_header_lies_is_passed_on_whole_for_the_stack_to_judge()
    {
        var source = Source();
        using var injector = new FaultInjector(source, new SeededRandom(5), receive: new FaultProfile { DropRate = 0.0001 });
        var (f, info) = Super(true, 1, 4);
        var lie = info with { Virtio = info.Virtio!.Value with { GsoSize = 0 } };
        source.Enqueue(f, lie);
        var got = Drain(injector, Instant.Zero);
        var single = Assert.Single(got);
        Assert.Equal(f, single.Frame);
        Assert.Equal(lie, single.Info);
        Assert.Equal(1, injector.ReceiveStatistics.Frames);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Without_receive_faults_a_super_frame_passes_whole_with_its_offloads(bool v6)
    {
        var source = Source();
        using var injector = new FaultInjector(source, new SeededRandom(7), transmit: new FaultProfile { DropRate = 0.5 });
        var (f, info) = Super(v6, 1, 4);
        source.Enqueue(f, info);
        var single = Assert.Single(Drain(injector, Instant.Zero));
        Assert.Equal(f, single.Frame);
        Assert.Equal(info, single.Info);
        Assert.Equal(1, injector.ReceiveStatistics.Frames);
    }

    [Fact]
    public void A_plain_frame_with_a_partial_checksum_is_one_wire_frame_and_keeps_its_info()
    {
        var source = Source();
        using var injector = new FaultInjector(source, new SeededRandom(6), receive: new FaultProfile { DropRate = 0.0001 });
        var (f, info) = Super(false, 1, 1);
        var plain = info with { Virtio = info.Virtio!.Value with { GsoType = VirtioGsoType.None, GsoSize = 0 } };
        source.Enqueue(f, plain);
        var single = Assert.Single(Drain(injector, Instant.Zero));
        Assert.Equal(f, single.Frame);
        Assert.Equal(plain, single.Info);
    }
}
