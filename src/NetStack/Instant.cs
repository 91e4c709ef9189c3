namespace NetStack;

/// <summary>
/// A point on the stack's monotonic clock, in microseconds since an arbitrary epoch.
/// The core never reads a clock: every entry point is handed the current <see cref="Instant"/>
/// (virtual time in simulations and replays, a monotonic OS clock in the runtime).
/// </summary>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    /// <summary>The origin of the clock (time 0).</summary>
    public static readonly Instant Zero = new(0);

    /// <summary>Used as "no deadline".</summary>
    public static readonly Instant MaxValue = new(long.MaxValue);

    /// <summary>The instant <paramref name="ms"/> milliseconds after <see cref="Zero"/>.</summary>
    public static Instant FromMilliseconds(long ms) => new(ms * 1000);
    /// <summary>The instant <paramref name="s"/> seconds after <see cref="Zero"/> (to the microsecond).</summary>
    public static Instant FromSeconds(double s) => new((long)(s * 1_000_000));

    /// <summary>Whole milliseconds since <see cref="Zero"/>.</summary>
    public long Milliseconds => Microseconds / 1000;
    /// <summary>Seconds since <see cref="Zero"/>.</summary>
    public double TotalSeconds => Microseconds / 1_000_000.0;

    /// <summary>Orders instants by time.</summary>
    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);

    /// <summary>The instant <paramref name="d"/> later (saturating at the latest instant).</summary>
    public static Instant operator +(Instant a, TimeSpan d) => new(SaturatingAdd(a.Microseconds, d.Ticks / 10));
    /// <summary>The instant <paramref name="d"/> earlier.</summary>
    public static Instant operator -(Instant a, TimeSpan d) => new(a.Microseconds - d.Ticks / 10);
    /// <summary>The time from <paramref name="b"/> to <paramref name="a"/> (negative when <paramref name="a"/> is earlier).</summary>
    public static TimeSpan operator -(Instant a, Instant b) => TimeSpan.FromTicks((a.Microseconds - b.Microseconds) * 10);
    /// <summary>True when <paramref name="a"/> is earlier than <paramref name="b"/>.</summary>
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;
    /// <summary>True when <paramref name="a"/> is later than <paramref name="b"/>.</summary>
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;
    /// <summary>True when <paramref name="a"/> is not later than <paramref name="b"/>.</summary>
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;
    /// <summary>True when <paramref name="a"/> is not earlier than <paramref name="b"/>.</summary>
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    /// <summary>The earlier of two instants.</summary>
    public static Instant Min(Instant a, Instant b) => a < b ? a : b;
    /// <summary>The later of two instants.</summary>
    public static Instant Max(Instant a, Instant b) => a > b ? a : b;

    private static long SaturatingAdd(long a, long b)
    {
        long r = a + b;
        if (b > 0 && r < a) return long.MaxValue;
        return r;
    }

    /// <summary>Seconds since <see cref="Zero"/> to the microsecond, e.g. <c>1.250000s</c>.</summary>
    public override string ToString() => $"{TotalSeconds:F6}s";
}
