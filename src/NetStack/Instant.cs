namespace NetStack;

/// <summary>
/// A point on the stack's monotonic clock, in microseconds since an arbitrary epoch.
/// The core never reads a clock: every entry point is handed the current <see cref="Instant"/>
/// (virtual time in simulations and replays, a monotonic OS clock in the runtime).
/// </summary>
public readonly record struct Instant(long Microseconds) : IComparable<Instant>
{
    public static readonly Instant Zero = new(0);

    /// <summary>Used as "no deadline".</summary>
    public static readonly Instant MaxValue = new(long.MaxValue);

    public static Instant FromMilliseconds(long ms) => new(ms * 1000);
    public static Instant FromSeconds(double s) => new((long)(s * 1_000_000));

    public long Milliseconds => Microseconds / 1000;
    public double TotalSeconds => Microseconds / 1_000_000.0;

    public int CompareTo(Instant other) => Microseconds.CompareTo(other.Microseconds);

    public static Instant operator +(Instant a, TimeSpan d) => new(SaturatingAdd(a.Microseconds, d.Ticks / 10));
    public static Instant operator -(Instant a, TimeSpan d) => new(a.Microseconds - d.Ticks / 10);
    public static TimeSpan operator -(Instant a, Instant b) => TimeSpan.FromTicks((a.Microseconds - b.Microseconds) * 10);
    public static bool operator <(Instant a, Instant b) => a.Microseconds < b.Microseconds;
    public static bool operator >(Instant a, Instant b) => a.Microseconds > b.Microseconds;
    public static bool operator <=(Instant a, Instant b) => a.Microseconds <= b.Microseconds;
    public static bool operator >=(Instant a, Instant b) => a.Microseconds >= b.Microseconds;

    public static Instant Min(Instant a, Instant b) => a < b ? a : b;
    public static Instant Max(Instant a, Instant b) => a > b ? a : b;

    private static long SaturatingAdd(long a, long b)
    {
        long r = a + b;
        if (b > 0 && r < a) return long.MaxValue;
        return r;
    }

    public override string ToString() => $"{TotalSeconds:F6}s";
}
