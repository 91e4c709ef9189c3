namespace NetStack.Wire;

/// <summary>
/// A 32-bit TCP sequence number with modular (wrap-around) arithmetic and comparison
/// (RFC 9293 §3.4: comparisons are modulo 2^32). Raw <see cref="uint"/> comparisons of sequence
/// numbers are not allowed anywhere in the stack: use this type.
/// </summary>
public readonly record struct SeqNumber(uint Value) : IComparable<SeqNumber>
{
    /// <summary>The sequence number <paramref name="n"/> later (modulo 2^32).</summary>
    public static SeqNumber operator +(SeqNumber a, int n) => new(unchecked(a.Value + (uint)n));
    /// <summary>The sequence number <paramref name="n"/> later (modulo 2^32).</summary>
    public static SeqNumber operator +(SeqNumber a, uint n) => new(unchecked(a.Value + n));
    /// <summary>The sequence number <paramref name="n"/> earlier (modulo 2^32).</summary>
    public static SeqNumber operator -(SeqNumber a, int n) => new(unchecked(a.Value - (uint)n));

    /// <summary>The signed distance from <paramref name="b"/> to <paramref name="a"/>.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    /// <summary>True when <paramref name="a"/> comes before <paramref name="b"/> in sequence space (RFC 9293 §3.4).</summary>
    public static bool operator <(SeqNumber a, SeqNumber b) => (a - b) < 0;
    /// <summary>True when <paramref name="a"/> comes after <paramref name="b"/> in sequence space.</summary>
    public static bool operator >(SeqNumber a, SeqNumber b) => (a - b) > 0;
    /// <summary>True when <paramref name="a"/> does not come after <paramref name="b"/> in sequence space.</summary>
    public static bool operator <=(SeqNumber a, SeqNumber b) => (a - b) <= 0;
    /// <summary>True when <paramref name="a"/> does not come before <paramref name="b"/> in sequence space.</summary>
    public static bool operator >=(SeqNumber a, SeqNumber b) => (a - b) >= 0;

    /// <summary>Orders by sequence space (meaningful within 2^31 of each other).</summary>
    public int CompareTo(SeqNumber other) => (this - other).CompareTo(0);

    /// <summary>The later of two sequence numbers.</summary>
    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a > b ? a : b;
    /// <summary>The earlier of two sequence numbers.</summary>
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a < b ? a : b;

    /// <summary>lo &lt;= this &lt; hi, modulo 2^32.</summary>
    public bool InWindow(SeqNumber lo, SeqNumber hi) => unchecked(Value - lo.Value) < unchecked(hi.Value - lo.Value);

    /// <summary>The number in decimal.</summary>
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
