namespace NetStack.Samples.Netstackd.Services;

/// <summary>Maps a request target onto a file under the served root without ever leaving it (pure, no I/O).</summary>
public static class SafePath
{
    /// <summary>
    /// The full path under <paramref name="root"/> for the origin-form <paramref name="target"/> ("/a/b.txt?q"), or null
    /// when the target is malformed or tries to leave the root: ".." segments (also percent-encoded), backslashes, NUL,
    /// or anything that resolves outside it.
    /// </summary>
    public static string? Resolve(string root, string target)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(target);
        int cut = target.IndexOfAny(['?', '#']);
        if (cut >= 0) target = target[..cut];
        if (!target.StartsWith('/')) return null;
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(target);
        }
        catch (UriFormatException)
        {
            return null;
        }
        if (decoded.Contains('\0') || decoded.Contains('\\')) return null;
        var segments = new List<string>();
        foreach (var segment in decoded.Split('/'))
        {
            if (segment is "" or ".") continue;
            if (segment == "..") return null; // never climb, even when it would stay inside
            segments.Add(segment);
        }
        var fullRoot = Path.GetFullPath(root);
        var full = Path.GetFullPath(Path.Join([fullRoot, .. segments]));
        var prefix = fullRoot.EndsWith(Path.DirectorySeparatorChar) ? fullRoot : fullRoot + Path.DirectorySeparatorChar;
        return full == fullRoot || full.StartsWith(prefix, StringComparison.Ordinal) ? full : null;
    }
}
