namespace NetStack.Wire;

/// <summary>
/// A 32-bit TCP sequence number with modular (wrap-around) arithmetic and comparison
/// (RFC 9293 §3.4: comparisons are modulo 2^32). Raw <see cref="uint"/> comparisons of sequence
/// numbers are not allowed anywhere in the stack: use this type.
/// </summary>
public readonly record struct SeqNumber(uint Value) : IComparable<SeqNumber>
{
    public static SeqNumber operator +(SeqNumber a, int n) => new(unchecked(a.Value + (uint)n));
    public static SeqNumber operator +(SeqNumber a, uint n) => new(unchecked(a.Value + n));
    public static SeqNumber operator -(SeqNumber a, int n) => new(unchecked(a.Value - (uint)n));

    /// <summary>The signed distance from <paramref name="b"/> to <paramref name="a"/>.</summary>
    public static int operator -(SeqNumber a, SeqNumber b) => unchecked((int)(a.Value - b.Value));

    public static bool operator <(SeqNumber a, SeqNumber b) => (a - b) < 0;
    public static bool operator >(SeqNumber a, SeqNumber b) => (a - b) > 0;
    public static bool operator <=(SeqNumber a, SeqNumber b) => (a - b) <= 0;
    public static bool operator >=(SeqNumber a, SeqNumber b) => (a - b) >= 0;

    public int CompareTo(SeqNumber other) => (this - other).CompareTo(0);

    public static SeqNumber Max(SeqNumber a, SeqNumber b) => a > b ? a : b;
    public static SeqNumber Min(SeqNumber a, SeqNumber b) => a < b ? a : b;

    /// <summary>lo &lt;= this &lt; hi, modulo 2^32.</summary>
    public bool InWindow(SeqNumber lo, SeqNumber hi) => unchecked(Value - lo.Value) < unchecked(hi.Value - lo.Value);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
