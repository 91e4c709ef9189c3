namespace NetStack.Interop.Tests.Support;

/// <summary>
/// The precondition of every interop test that creates namespaces or TAP devices. Use with
/// <c>[SkippableFact]</c>: <c>Root.Require();</c> skips (with the reason) when not root, and runs otherwise.
/// </summary>
internal static class Root
{
    public static bool IsRoot { get; } = Environment.UserName == "root" || GetEuid() == 0;

    public static void Require() =>
        Skip.IfNot(IsRoot, "needs root: creates network namespaces and TAP devices");

    private static uint GetEuid()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                    return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return uint.MaxValue;
    }
}
