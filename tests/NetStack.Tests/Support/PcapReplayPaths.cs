namespace NetStack.Tests.Support;

/// <summary>Finds the repository's captures directory from the test binary's location.</summary>
internal static class CapturePaths
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "pcaps", "MANIFEST.tsv"))) dir = dir.Parent;
        return dir is null ? throw new DirectoryNotFoundException("pcaps/MANIFEST.tsv not found above " + AppContext.BaseDirectory)
            : Path.Combine(dir.FullName, "pcaps");
    });

    /// <summary>The pcaps/ directory.</summary>
    public static string Directory => Root.Value;

    public static string Get(string name) => Path.Combine(Directory, name);

    /// <summary>Every capture file directly in pcaps/ (tcpdump output text files excluded).</summary>
    public static IEnumerable<string> All() =>
        System.IO.Directory.EnumerateFiles(Directory)
            .Where(f => f.EndsWith(".pcap", StringComparison.Ordinal) || f.EndsWith(".pcapng", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
}
