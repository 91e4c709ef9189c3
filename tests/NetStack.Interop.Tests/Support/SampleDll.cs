namespace NetStack.Interop.Tests.Support;

/// <summary>Finds a sample program's build output, for the tests that run it as a process.</summary>
internal static class SampleDll
{
    /// <summary>
    /// <c>name.dll</c> next to the tests (copied by the project reference) or in <c>samples/name</c>'s own build output
    /// (Debug or Release) in a folder above them.
    /// </summary>
    public static string Find(string name)
    {
        var here = Path.Combine(AppContext.BaseDirectory, $"{name}.dll");
        if (File.Exists(here) && File.Exists(Path.Combine(AppContext.BaseDirectory, $"{name}.runtimeconfig.json"))) return here;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var config in (string[])["Debug", "Release"])
            {
                var candidate = Path.Combine(dir.FullName, "samples", name, "bin", config, "net10.0", $"{name}.dll");
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new FileNotFoundException($"{name}.dll not found; build samples/{name}");
    }
}
