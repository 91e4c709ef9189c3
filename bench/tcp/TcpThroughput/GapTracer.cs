using NetStack.Link;

namespace NetStack.Bench.Tcp;

/// <summary>
/// Where a simulated sender's time goes: the idle gaps between consecutive frames it transmits, summed by length
/// (under 1 ms, 1-5 ms, 5-20 ms, 20-100 ms, 100 ms and more), printed by sim-one with <c>gaps</c>.
/// </summary>
internal sealed class GapTracer(INetDevice inner) : NetDeviceDecorator(inner)
{
    private static readonly long[] Bounds = [1_000, 5_000, 20_000, 100_000, long.MaxValue];
    private Instant _last;
    private bool _any;

    public long[] Count { get; } = new long[Bounds.Length];
    public long[] TotalMicros { get; } = new long[Bounds.Length];

    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        Record(now);
        base.Transmit(frame, now);
    }

    /// <summary>A super-frame or partially checksummed frame passes whole (the device offered the offload), one gap for it.</summary>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        Record(now);
        Inner.Transmit(frame, now, info);
    }

    private void Record(Instant now)
    {
        if (_any)
        {
            long gap = (now - _last).Ticks / 10;
            int i = 0;
            while (gap >= Bounds[i]) i++;
            Count[i]++;
            TotalMicros[i] += gap;
        }
        _last = now;
        _any = true;
    }

    public override string ToString() =>
        $"gaps <1ms {Count[0]}/{TotalMicros[0] / 1000}ms, 1-5ms {Count[1]}/{TotalMicros[1] / 1000}ms, 5-20ms {Count[2]}/{TotalMicros[2] / 1000}ms, 20-100ms {Count[3]}/{TotalMicros[3] / 1000}ms, >=100ms {Count[4]}/{TotalMicros[4] / 1000}ms";
}
