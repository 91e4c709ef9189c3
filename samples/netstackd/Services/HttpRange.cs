using System.Globalization;

namespace NetStack.Samples.Netstackd.Services;

/// <summary>What a Range header asks of a representation of a given length.</summary>
public enum RangeKind
{
    /// <summary>No usable Range header (absent, another unit, several ranges, or syntactically invalid): send the whole file (RFC 9110 §14.2 lets a server ignore Range).</summary>
    Whole,
    /// <summary>One satisfiable range: 206 Partial Content.</summary>
    Partial,
    /// <summary>A valid range that does not overlap the representation: 416 Range Not Satisfiable.</summary>
    Unsatisfiable,
}

/// <summary>RFC 9110 §14.1.2 byte ranges, single range only (pure, no I/O).</summary>
public static class HttpRange
{
    /// <summary>Parses <paramref name="header"/> against a representation of <paramref name="length"/> bytes; on Partial, [first, last] are inclusive.</summary>
    public static RangeKind Parse(string? header, long length, out long first, out long last)
    {
        first = 0;
        last = length - 1;
        if (string.IsNullOrWhiteSpace(header)) return RangeKind.Whole;
        var h = header.AsSpan().Trim();
        // RFC 9110 §14.1: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
        if (!h.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return RangeKind.Whole;
        var set = h["bytes=".Length..].Trim();
        if (set.Contains(',')) return RangeKind.Whole; // several ranges: we send the whole representation instead of multipart
        int dash = set.IndexOf('-');
        if (dash < 0) return RangeKind.Whole;
        var a = set[..dash].Trim();
        var b = set[(dash + 1)..].Trim();
        if (a.IsEmpty)
        {
            // suffix-range = "-" suffix-length: the last N bytes.
            if (!TryDigits(b, out long suffix)) return RangeKind.Whole;
            if (suffix == 0 || length == 0) return RangeKind.Unsatisfiable; // §14.1.2: a zero suffix is unsatisfiable
            first = Math.Max(0, length - suffix);
            last = length - 1;
            return RangeKind.Partial;
        }
        if (!TryDigits(a, out long start)) return RangeKind.Whole;
        long end = long.MaxValue;
        if (!b.IsEmpty && !TryDigits(b, out end)) return RangeKind.Whole;
        if (end < start) return RangeKind.Whole; // §14.1.1: last-pos < first-pos is invalid: ignore the header
        if (start >= length) return RangeKind.Unsatisfiable; // §14.1.2: first-pos beyond the end
        first = start;
        last = Math.Min(end, length - 1);
        return RangeKind.Partial;
    }

    private static bool TryDigits(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IsEmpty) return false;
        foreach (char c in s) if (c is < '0' or > '9') return false;
        // More digits than a long holds: effectively infinite (a first-pos past any file, or "to the end").
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value)) value = long.MaxValue;
        return true;
    }
}
