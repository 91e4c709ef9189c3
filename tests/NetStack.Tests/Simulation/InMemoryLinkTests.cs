using NetStack.Tests.Support;
using NetStack.Link;
using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

public class InMemoryLinkTests
{
    private static readonly MacAddress A = new(0x02_00_00_00_00_0A);
    private static readonly MacAddress B = new(0x02_00_00_00_00_0B);
    private readonly byte[] _buffer = new byte[9000];

    private static Instant Ms(double ms) => new((long)(ms * 1000));

    [Fact]
    public void Frame_arrives_exactly_one_latency_after_it_was_sent()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(5) });
        link.A.Transmit(TestFrames.Make(B, A, 100), Ms(1));
        Assert.Equal(Ms(6), link.B.NextArrival);
        Assert.False(link.B.TryReceive(_buffer, new Instant(5_999), out _));
        Assert.True(link.B.TryReceive(_buffer, Ms(6), out int n));
        Assert.Equal(100, n);
        Assert.Equal(Instant.MaxValue, link.B.NextArrival);
    }

    [Fact]
    public void Bandwidth_serializes_back_to_back_frames_one_after_another()
    {
        // 1250 bytes = 10,000 bits = 10 ms at 1 Mbit/s.
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(1), BitsPerSecond = 1_000_000 });
        for (int i = 0; i < 3; i++) link.A.Transmit(TestFrames.Make(B, A, 1250, (uint)i), Instant.Zero);
        var arrivals = new List<Instant>();
        while (link.B.NextArrival != Instant.MaxValue)
        {
            var t = link.B.NextArrival;
            Assert.True(link.B.TryReceive(_buffer, t, out _));
            arrivals.Add(t);
        }
        Assert.Equal([Ms(11), Ms(21), Ms(31)], arrivals);
    }

    [Fact]
    public void Idle_wire_starts_serializing_at_send_time()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { BitsPerSecond = 1_000_000 });
        link.A.Transmit(TestFrames.Make(B, A, 1250), Instant.Zero);
        link.A.Transmit(TestFrames.Make(B, A, 1250), Ms(50));
        Assert.True(link.B.TryReceive(_buffer, Ms(10), out _));
        Assert.Equal(Ms(60), link.B.NextArrival);
    }

    [Fact]
    public void Full_queue_drops_and_counts_and_frees_up_as_frames_leave()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { BitsPerSecond = 1_000_000, QueueLimit = 2 });
        for (int i = 0; i < 5; i++) link.A.Transmit(TestFrames.Make(B, A, 1250, (uint)i), Instant.Zero);
        Assert.Equal(3, link.AToBStatistics.QueueDrops);
        link.A.Transmit(TestFrames.Make(B, A, 1250, 5), Ms(10)); // first frame has left the wire
        Assert.Equal(3, link.AToBStatistics.QueueDrops);
        var got = new List<(Instant, uint)>();
        while (link.B.NextArrival != Instant.MaxValue)
        {
            var t = link.B.NextArrival;
            Assert.True(link.B.TryReceive(_buffer, t, out _));
            got.Add((t, TestFrames.Sequence(_buffer)));
        }
        Assert.Equal([(Ms(10), 0u), (Ms(20), 1u), (Ms(30), 5u)], got);
    }

    [Fact]
    public void Frames_whose_IP_packet_exceeds_the_MTU_are_dropped_and_counted()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Mtu = 1500 });
        link.A.Transmit(TestFrames.Make(B, A, 14 + 1500, 1), Instant.Zero);
        link.A.Transmit(TestFrames.Make(B, A, 14 + 1501, 2), Instant.Zero);
        Assert.True(link.B.TryReceive(_buffer, Instant.Zero, out int n));
        Assert.Equal(1514, n);
        Assert.False(link.B.TryReceive(_buffer, Instant.Zero, out _));
        Assert.Equal(1, link.AToBStatistics.MtuDrops);
    }

    [Fact]
    public void Raw_ip_link_has_no_MAC_and_counts_the_whole_frame_against_the_MTU()
    {
        var link = InMemoryLink.RawIp(new LinkOptions { Mtu = 1280 });
        Assert.Equal((Medium.Ip, MacAddress.Zero, 1280), (link.A.Medium, link.A.HardwareAddress, link.A.MaxFrameSize));
        link.A.Transmit(new byte[1280], Instant.Zero);
        link.A.Transmit(new byte[1281], Instant.Zero);
        Assert.Equal((1L, 1L), (link.AToBStatistics.Sent - link.AToBStatistics.MtuDrops, link.AToBStatistics.MtuDrops));
    }

    [Fact]
    public void Each_direction_has_its_own_latency()
    {
        var link = new InMemoryLink(Medium.Ethernet, A, B,
            new LinkOptions { Latency = TimeSpan.FromMilliseconds(1) }, new LinkOptions { Latency = TimeSpan.FromMilliseconds(3) });
        link.A.Transmit(TestFrames.Make(B, A, 60), Instant.Zero);
        link.B.Transmit(TestFrames.Make(A, B, 60), Instant.Zero);
        Assert.Equal((Ms(1), Ms(3)), (link.B.NextArrival, link.A.NextArrival));
    }

    [Fact]
    public void Steady_state_does_not_allocate_per_frame()
    {
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMicroseconds(30), BitsPerSecond = 1_000_000_000 });
        var frame = TestFrames.Make(B, A, 1514);
        void Run(long from)
        {
            for (long i = from; i < from + 20_000; i++)
            {
                var now = new Instant(i * 20);
                link.A.Transmit(frame, now);
                while (link.B.TryReceive(_buffer, now, out _)) { }
            }
        }
        long from = 0;
        long allocated = Allocations.SteadyState(() => { Run(from); from += 20_000; }, iterations: 1);
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 20,000 frames");
    }
}
