namespace NetStack.Samples.Tlstunnel.Config;

/// <summary>
/// Server names as TLS carries them (RFC 6066 §3: the DNS host name, ASCII, no trailing dot) and the two ways a
/// configured name matches: exactly, or by a leftmost <c>*.</c> label standing for exactly one label (RFC 6125 §6.4.3:
/// <c>*.example.test</c> matches <c>a.example.test</c>, not <c>example.test</c> nor <c>a.b.example.test</c>).
/// Comparisons are ASCII case-insensitive (names are normalised to lower case first).
/// </summary>
public static class ServerNames
{
    /// <summary>Lower-cases and strips one trailing dot; null when <paramref name="name"/> is not a host name (LDH labels of 1 to 63, at most 253 in all).</summary>
    public static string? Normalize(string? name)
    {
        if (string.IsNullOrEmpty(name)) return null;
        if (name.EndsWith('.')) name = name[..^1];
        if (name.Length is 0 or > 253) return null;
        var lower = name.ToLowerInvariant();
        foreach (var label in lower.Split('.'))
        {
            if (label.Length is 0 or > 63) return null;
            if (label[0] == '-' || label[^1] == '-') return null;
            foreach (char c in label)
                if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) return null;
        }
        return lower;
    }

    /// <summary>As <see cref="Normalize"/>, also allowing a leftmost <c>*</c> label (a pattern in the configuration).</summary>
    public static string? NormalizePattern(string? pattern)
    {
        if (pattern is null) return null;
        if (pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            var rest = Normalize(pattern[2..]);
            return rest is null ? null : "*." + rest;
        }
        return Normalize(pattern);
    }

    public static bool IsWildcard(string pattern) => pattern.StartsWith("*.", StringComparison.Ordinal);

    /// <summary>Whether the normalised <paramref name="name"/> matches the normalised <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string name)
    {
        if (!IsWildcard(pattern)) return string.Equals(pattern, name, StringComparison.Ordinal);
        int dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && name.AsSpan(dot + 1).SequenceEqual(pattern.AsSpan(2));
    }
}
