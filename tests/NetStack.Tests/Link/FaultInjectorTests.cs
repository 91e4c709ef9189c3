using NetStack.Tests.Support;
using NetStack.Link;
using NetStack.Tests.Simulation;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Link;

/// <summary>A device that records what is transmitted through it and hands out frames queued by the test.</summary>
internal sealed class RecordingDevice(Medium medium = Medium.Ethernet) : INetDevice
{
    private readonly Queue<byte[]> _incoming = new();
    public List<(Instant At, uint Sequence, byte[]? Frame)> Sent { get; } = [];
    public bool KeepFrames { get; init; }

    public Medium Medium => medium;
    public int Mtu => 1500;
    public int MaxFrameSize => 1518;
    public MacAddress HardwareAddress => new(0x02_00_00_00_00_01);

    public void Enqueue(byte[] frame) => _incoming.Enqueue(frame);

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (!_incoming.TryDequeue(out var f)) return false;
        f.CopyTo(buffer);
        length = f.Length;
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now) =>
        Sent.Add((now, TestFrames.Sequence(frame), KeepFrames ? frame.ToArray() : null));
}

public class FaultInjectorTests(ITestOutputHelper output)
{
    private const int Frames = 100_000;
    private static readonly MacAddress Src = new(0x02_00_00_00_00_01);
    private static readonly MacAddress Dst = new(0x02_00_00_00_00_02);

    /// <summary>Sends <see cref="Frames"/> frames, one every 10 µs, and services the injector until all are out.</summary>
    private static Instant Pump(FaultInjector injector, int frames = Frames, int length = 100, long spacingMicros = 10)
    {
        var frame = TestFrames.Make(Dst, Src, length);
        var now = Instant.Zero;
        for (int i = 0; i < frames; i++)
        {
            now = new Instant(i * spacingMicros);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(14), (uint)i);
            injector.Transmit(frame, now);
        }
        while (injector.NextArrival != Instant.MaxValue)
        {
            now = Instant.Max(now, injector.NextArrival);
            injector.Service(now);
        }
        return now;
    }

    [Fact]
    public void Each_configured_rate_is_within_one_percent_over_100000_frames()
    {
        const ulong seed = 42;
        output.WriteLine($"seed {seed}");
        var sink = new RecordingDevice();
        var profile = new FaultProfile { DropRate = 0.10, DuplicateRate = 0.05, CorruptRate = 0.02, ReorderRate = 0.03 };
        using var injector = new FaultInjector(sink, new SeededRandom(seed), transmit: profile);
        Pump(injector);
        var s = injector.TransmitStatistics;
        output.WriteLine(s.ToString());
        long passed = s.Frames - s.Dropped;
        Assert.Equal(Frames, s.Frames);
        Assert.InRange((double)s.Dropped / s.Frames, 0.09, 0.11);
        Assert.InRange((double)s.Duplicated / passed, 0.04, 0.06);
        Assert.InRange((double)s.Corrupted / passed, 0.01, 0.03);
        // A frame right after a held one always releases it, so the rate applies to the others.
        Assert.InRange((double)s.Reordered / (passed - s.Reordered), 0.02, 0.04);
        Assert.Equal(passed + s.Duplicated, s.Delivered);
        Assert.Equal(s.Delivered, sink.Sent.Count);
    }

    [Fact]
    public void Same_seed_gives_the_same_sequence_and_another_seed_does_not()
    {
        var profile = new FaultProfile { DropRate = 0.2, DuplicateRate = 0.1, ReorderRate = 0.1, Jitter = TimeSpan.FromMicroseconds(50) };
        List<(Instant, uint, byte[]?)> Run(ulong seed)
        {
            var sink = new RecordingDevice();
            using var injector = new FaultInjector(sink, new SeededRandom(seed), transmit: profile);
            Pump(injector, 10_000);
            return sink.Sent;
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void Reorder_delivers_a_held_frame_right_after_its_successor()
    {
        var sink = new RecordingDevice();
        using var injector = new FaultInjector(sink, new SeededRandom(3), transmit: new FaultProfile { ReorderRate = 0.1 });
        Pump(injector, 10_000);
        var seq = sink.Sent.Select(x => x.Sequence).ToList();
        Assert.Equal(10_000, seq.Count);
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (uint)i), seq.Order());
        int swaps = 0;
        for (int i = 1; i < seq.Count; i++)
        {
            if (seq[i] < seq[i - 1])
            {
                Assert.Equal(seq[i - 1], seq[i] + 1); // exactly one position late
                swaps++;
            }
        }
        Assert.Equal(injector.TransmitStatistics.Reordered, swaps);
        Assert.True(swaps > 500, $"{swaps} swaps");
    }

    [Fact]
    public void A_held_frame_with_no_successor_is_released_after_the_reorder_timeout()
    {
        var sink = new RecordingDevice();
        using var injector = new FaultInjector(sink, new SeededRandom(1), transmit: new FaultProfile { ReorderRate = 1.0, ReorderTimeout = TimeSpan.FromMilliseconds(10) });
        injector.Transmit(TestFrames.Make(Dst, Src, 60, 9), Instant.FromMilliseconds(1));
        Assert.Empty(sink.Sent);
        Assert.Equal(Instant.FromMilliseconds(11), injector.NextArrival);
        injector.Service(Instant.FromMilliseconds(11));
        Assert.Equal((Instant.FromMilliseconds(11), 9u), (sink.Sent[0].At, sink.Sent[0].Sequence));
    }

    [Fact]
    public void Delay_with_jitter_holds_every_frame_between_delay_and_delay_plus_jitter()
    {
        var sink = new RecordingDevice();
        using var injector = new FaultInjector(sink, new SeededRandom(11),
            transmit: new FaultProfile { Delay = TimeSpan.FromMilliseconds(5), Jitter = TimeSpan.FromMilliseconds(2) });
        var frame = TestFrames.Make(Dst, Src, 60);
        double total = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var now = Instant.FromMilliseconds(i * 10);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(14), (uint)i);
            injector.Transmit(frame, now);
            Assert.Empty(sink.Sent.Skip(i));
            var due = injector.NextArrival;
            Assert.InRange((due - now).TotalMilliseconds, 5.0, 7.0);
            injector.Service(due);
            Assert.Equal((due, (uint)i), (sink.Sent[i].At, sink.Sent[i].Sequence));
            total += (due - now).TotalMilliseconds;
        }
        Assert.InRange(total / 10_000, 5.95, 6.05);
        Assert.Equal(10_000, injector.TransmitStatistics.Delayed);
    }

    [Fact]
    public void Rate_limit_passes_the_configured_rate_plus_one_burst()
    {
        const long rate = 10_000_000;
        var sink = new RecordingDevice();
        var profile = new FaultProfile { RateBitsPerSecond = rate, BurstBytes = 10 * 1000 };
        using var injector = new FaultInjector(sink, new SeededRandom(5), transmit: profile);
        // Offer 1000-byte frames every 400 µs (20 Mbit/s) for 10 s.
        Pump(injector, frames: 25_000, length: 1000, spacingMicros: 400);
        double seconds = 25_000 * 400 / 1e6;
        double expected = rate * seconds + profile.BurstBytes * 8;
        double passedBits = sink.Sent.Count * 8000.0;
        Assert.InRange(passedBits / expected, 0.99, 1.0);
        Assert.Equal(25_000 - sink.Sent.Count, injector.TransmitStatistics.RateLimited);
    }

    [Fact]
    public void Mtu_clamp_drops_frames_whose_IP_packet_exceeds_the_MTU()
    {
        var sink = new RecordingDevice();
        using var injector = new FaultInjector(sink, new SeededRandom(1), transmit: new FaultProfile { Mtu = 1280 });
        injector.Transmit(TestFrames.Make(Dst, Src, 14 + 1280, 1), Instant.Zero);
        injector.Transmit(TestFrames.Make(Dst, Src, 14 + 1281, 2), Instant.Zero);
        Assert.Equal([1u], sink.Sent.Select(s => s.Sequence));
        Assert.Equal(1, injector.TransmitStatistics.MtuDropped);
    }

    [Fact]
    public void Corrupted_frames_differ_in_exactly_the_configured_number_of_bits()
    {
        var sink = new RecordingDevice { KeepFrames = true };
        using var injector = new FaultInjector(sink, new SeededRandom(9), transmit: new FaultProfile { CorruptRate = 1.0, CorruptBits = 1 });
        var frame = TestFrames.Make(Dst, Src, 100);
        for (int i = 0; i < 1000; i++) injector.Transmit(frame, Instant.Zero);
        foreach (var (_, _, f) in sink.Sent)
        {
            int bits = 0;
            for (int i = 0; i < frame.Length; i++) bits += System.Numerics.BitOperations.PopCount((uint)(frame[i] ^ f![i]));
            Assert.Equal(1, bits);
        }
        Assert.Equal(1000, injector.TransmitStatistics.Corrupted);
    }

    [Fact]
    public void Receive_direction_faults_apply_to_frames_from_the_inner_device()
    {
        var source = new RecordingDevice();
        using var injector = new FaultInjector(source, new SeededRandom(2), receive: new FaultProfile { DropRate = 0.5, Delay = TimeSpan.FromMilliseconds(1) });
        for (int i = 0; i < 1000; i++) source.Enqueue(TestFrames.Make(Dst, Src, 60, (uint)i));
        var buf = new byte[1518];
        Assert.False(injector.TryReceive(buf, Instant.Zero, out _));
        Assert.Equal(Instant.FromMilliseconds(1), injector.NextArrival);
        int got = 0;
        while (injector.TryReceive(buf, Instant.FromMilliseconds(1), out _)) got++;
        Assert.Equal(1000 - injector.ReceiveStatistics.Dropped, got);
        Assert.InRange(got, 430, 570);
    }

    [Fact]
    public void Steady_state_does_not_allocate_per_frame()
    {
        var sink = new NullDevice();
        using var injector = new FaultInjector(sink, new SeededRandom(4),
            transmit: new FaultProfile { DropRate = 0.1, DuplicateRate = 0.1, ReorderRate = 0.1, Delay = TimeSpan.FromMicroseconds(100), Jitter = TimeSpan.FromMicroseconds(50) });
        var frame = TestFrames.Make(Dst, Src, 200);
        void Run(int n)
        {
            for (int i = 0; i < n; i++)
            {
                var now = new Instant(i * 10);
                injector.Transmit(frame, now);
                injector.Service(now);
            }
            injector.Service(Instant.MaxValue);
        }
        long allocated = Allocations.SteadyState(() => Run(20_000), iterations: 1);
        Assert.True(allocated < 1024, $"{allocated} bytes allocated for 20,000 frames");
    }

    private sealed class NullDevice : INetDevice
    {
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 1518;
        public MacAddress HardwareAddress => MacAddress.Zero;
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) { }
    }
}
