namespace NetStack.Link;

/// <summary>
/// What a <see cref="FaultInjector"/> does to the frames of one direction. Rates are probabilities per frame
/// in [0, 1]; zero disables a fault. Faults apply in this order: MTU clamp, rate limit, drop, corrupt,
/// duplicate, then reorder or delay.
/// </summary>
public sealed record FaultProfile
{
    /// <summary>No faults: frames pass unchanged and immediately.</summary>
    public static readonly FaultProfile None = new();

    /// <summary>Probability that a frame is discarded.</summary>
    public double DropRate { get; init; }

    /// <summary>Probability that a frame is delivered twice (the copy right after the original).</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Probability that a frame has <see cref="CorruptBits"/> random bits flipped.</summary>
    public double CorruptRate { get; init; }

    /// <summary>Bits flipped in a corrupted frame (at random positions, possibly the same one twice).</summary>
    public int CorruptBits { get; init; } = 1;

    /// <summary>
    /// Probability that a frame is held back and released right after the next frame of the same direction,
    /// or after <see cref="ReorderTimeout"/> if no other frame comes. One frame is held at a time: the rate applies
    /// to frames that arrive while none is held (the frame after a held one always releases it).
    /// </summary>
    public double ReorderRate { get; init; }

    /// <summary>How long a reordered frame waits for a successor before it is released anyway.</summary>
    public TimeSpan ReorderTimeout { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Fixed delay added to every frame.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Extra delay drawn uniformly from [0, Jitter] per frame (jitter can reorder frames).</summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>
    /// Token-bucket policer rate in bits per second (0 = unlimited): a frame that finds fewer tokens than its
    /// bits is dropped and counted as rate-limited. Shaping (queueing) is what an in-memory link's bandwidth does.
    /// </summary>
    public long RateBitsPerSecond { get; init; }

    /// <summary>Bucket depth in bytes (the largest burst passed at line rate).</summary>
    public int BurstBytes { get; init; } = 16 * 1514;

    /// <summary>When positive, frames whose IP packet is longer than this are dropped (counted as MTU drops).</summary>
    public int Mtu { get; init; }

    internal bool IsDelaying => Delay > TimeSpan.Zero || Jitter > TimeSpan.Zero;
}

/// <summary>Counters of one direction of a <see cref="FaultInjector"/>.</summary>
public sealed class FaultStatistics
{
    /// <summary>Frames offered to this direction.</summary>
    public long Frames { get; internal set; }
    /// <summary>Frames handed on (duplicates included).</summary>
    public long Delivered { get; internal set; }
    /// <summary>Frames dropped (loss).</summary>
    public long Dropped { get; internal set; }
    /// <summary>Frames sent twice.</summary>
    public long Duplicated { get; internal set; }
    /// <summary>Frames with random bits flipped (<see cref="FaultProfile.CorruptBits"/>).</summary>
    public long Corrupted { get; internal set; }
    /// <summary>Frames held back so that a later one overtook them.</summary>
    public long Reordered { get; internal set; }
    /// <summary>Frames delivered late.</summary>
    public long Delayed { get; internal set; }
    /// <summary>Frames dropped by the rate limit.</summary>
    public long RateLimited { get; internal set; }
    /// <summary>Frames dropped for exceeding the profile's MTU.</summary>
    public long MtuDropped { get; internal set; }
    /// <summary>Frames lost because the hold queue was full.</summary>
    public long Overflowed { get; internal set; }

    /// <summary>The counters on one line.</summary>
    public override string ToString() =>
        $"frames={Frames} delivered={Delivered} dropped={Dropped} duplicated={Duplicated} corrupted={Corrupted} " +
        $"reordered={Reordered} delayed={Delayed} rateLimited={RateLimited} mtuDropped={MtuDropped} overflowed={Overflowed}";
}
