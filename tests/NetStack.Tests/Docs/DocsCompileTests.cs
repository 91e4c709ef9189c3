using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace NetStack.Tests.Docs;

/// <summary>
/// Every ```csharp block of README.md and docs/*.md compiles, each as its own compilation (a program with top-level
/// statements, or types), with the implicit usings of <c>dotnet new console</c> and nothing else given: the runtime's
/// reference assemblies, ASP.NET Core's shared framework when installed, and every src/NetStack*/ project's built
/// assembly with the packages it references (read from its obj/project.assets.json), so a new project's snippets
/// compile as soon as it is built. Docs cannot rot.
/// </summary>
public sealed partial class DocsCompileTests
{
    /// <summary>What <c>dotnet new console</c> (ImplicitUsings=enable) puts in scope.</summary>
    private const string ImplicitUsings =
        "global using System;\nglobal using System.Collections.Generic;\nglobal using System.IO;\nglobal using System.Linq;\n" +
        "global using System.Net.Http;\nglobal using System.Threading;\nglobal using System.Threading.Tasks;\n";

    private static readonly Lazy<IReadOnlyList<MetadataReference>> s_references = new(LoadReferences);

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var block in AllBlocks()) data.Add(block.File, block.Line);
        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void The_csharp_block_compiles(string file, int line)
    {
        var block = AllBlocks().Single(b => b.File == file && b.Line == line);
        var errors = Compile(block);
        Assert.True(errors.Count == 0, $"{file}:{line}: the ```csharp block does not compile:\n{string.Join('\n', errors)}");
    }

    [Fact]
    public void The_docs_have_csharp_blocks_and_every_NetStack_project_is_referenced()
    {
        var blocks = AllBlocks();
        Assert.Contains(blocks, b => b.File == "README.md");
        Assert.Contains(blocks, b => b.File.StartsWith("docs/", StringComparison.Ordinal));
        var names = s_references.Value.Select(r => Path.GetFileNameWithoutExtension(r.Display)).ToHashSet(StringComparer.Ordinal);
        foreach (var project in NetStackProjects()) Assert.Contains(Path.GetFileNameWithoutExtension(project), names);
        Assert.Contains("System.Runtime", names);
    }

    [Fact]
    public void A_block_that_does_not_compile_is_reported_at_its_line()
    {
        // The check itself can fail: an undefined name, a missing using, a type error.
        Assert.NotEmpty(Compile(new Block("x.md", 10, "var stack = new IpStack(tap, [\"192.0.2.2/24\"]);")));
        Assert.NotEmpty(Compile(new Block("x.md", 10, "using System.Net;\nIPAddress a = \"192.0.2.1\";")));
        var errors = Compile(new Block("x.md", 10, "using System.Net;\n\nvar a = IPAddress.Parse(\"192.0.2.1\");\nint n = a;"));
        Assert.StartsWith("x.md:13:", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Empty(Compile(new Block("x.md", 10, "using System.Net;\nusing NetStack.Tap;\nawait using var s = new IpStack(new IpStackLink().A, [\"192.0.2.2/24\"]);\nConsole.WriteLine(IPAddress.Any);")));
        Assert.Empty(Compile(new Block("x.md", 10, "namespace Demo;\npublic sealed record Point(int X, int Y);")));
    }

    [Fact]
    public void Blocks_are_found_with_their_line()
    {
        var blocks = Extract("t.md", "text\n```csharp\nint a = 1;\n```\n```sh\nls\n```\n  ```cs\nint b = 2;\n  ```\n```C#\nint c;\n```\n").ToList();
        Assert.Equal([("t.md", 3, "int a = 1;\n"), ("t.md", 9, "int b = 2;\n"), ("t.md", 12, "int c;\n")], blocks.Select(b => (b.File, b.Line, b.Code)));
    }

    /// <summary>A ```csharp block: the file (relative to the repository, '/' separated), the line of its first code line, its code.</summary>
    private sealed record Block(string File, int Line, string Code);

    private static readonly Lazy<IReadOnlyList<Block>> s_blocks = new(() =>
    {
        string root = RepositoryRoot();
        var files = new List<string> { Path.Combine(root, "README.md") };
        var docs = Path.Combine(root, "docs");
        if (Directory.Exists(docs)) files.AddRange(Directory.GetFiles(docs, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
        return files.SelectMany(f => Extract(Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllText(f))).ToList();
    });

    private static IReadOnlyList<Block> AllBlocks() => s_blocks.Value;

    [GeneratedRegex(@"^\s*```\s*(csharp|cs|c#)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex CsharpFence();

    private static IEnumerable<Block> Extract(string file, string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            bool csharp = CsharpFence().IsMatch(lines[i]);
            if (!csharp && !lines[i].TrimStart().StartsWith("```", StringComparison.Ordinal)) continue;
            int start = i + 1;
            int end = start;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal)) end++;
            if (csharp) yield return new Block(file, start + 1, string.Concat(lines[start..end].Select(l => l + "\n")));
            i = end; // skip the closing fence (a non-C# block's content is never mistaken for a fence)
        }
    }

    /// <summary>Compiles <paramref name="block"/> alone; the errors as "file:line: error CSxxxx: message".</summary>
    private static List<string> Compile(Block block)
    {
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var tree = CSharpSyntaxTree.ParseText(block.Code, parse, path: block.File);
        bool program = tree.GetCompilationUnitRoot().Members.Any(m => m is Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax);
        var compilation = CSharpCompilation.Create(
            "DocSnippet",
            [CSharpSyntaxTree.ParseText(ImplicitUsings, parse, path: "ImplicitUsings.cs"), tree],
            s_references.Value,
            new CSharpCompilationOptions(program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        return compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var span = d.Location.GetLineSpan();
                int line = span.Path == block.File ? block.Line + span.StartLinePosition.Line : block.Line;
                return $"{block.File}:{line}: error {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NetStack.sln"))) return d.FullName;
        throw new InvalidOperationException("NetStack.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every src/NetStack*/*.csproj.</summary>
    private static IEnumerable<string> NetStackProjects() =>
        Directory.GetDirectories(Path.Combine(RepositoryRoot(), "src"), "NetStack*")
            .SelectMany(d => Directory.GetFiles(d, "*.csproj"))
            .Order(StringComparer.Ordinal);

    private static IReadOnlyList<MetadataReference> LoadReferences()
    {
        // First one wins per assembly file name: the NetStack projects, their packages, then the shared frameworks'
        // reference assemblies (a package that duplicates a framework assembly has the same API).
        var byName = new ConcurrentDictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        void Add(string path) => byName.TryAdd(Path.GetFileName(path), path);

        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Debug" : "Release";
        string framework = $"net{Environment.Version.Major}.{Environment.Version.Minor}";
        foreach (var project in NetStackProjects())
        {
            string dir = Path.GetDirectoryName(project)!;
            string name = AssemblyName(project);
            var built = new[] { configuration, configuration == "Release" ? "Debug" : "Release" }
                .Select(c => Path.Combine(dir, "bin", c, framework, name + ".dll"))
                .FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException($"{name}.dll is not built: build {Path.GetFileName(project)} (dotnet build NetStack.sln -c {configuration})");
            foreach (var dll in Directory.GetFiles(Path.GetDirectoryName(built)!, "*.dll")) Add(dll);
            foreach (var dll in PackageCompileAssemblies(Path.Combine(dir, "obj", "project.assets.json"), framework)) Add(dll);
        }

        // The generic host (docs/hosting.md: Host.CreateApplicationBuilder), which NetStack.Hosting leaves to the
        // application (it needs only Microsoft.Extensions.Hosting.Abstractions) and this test project references.
        foreach (var dll in Directory.GetFiles(AppContext.BaseDirectory, "Microsoft.Extensions.*.dll")) Add(dll);

        // The runtime's reference pack (and ASP.NET Core's) next to the running runtime: <dotnet>/shared/Microsoft.NETCore.App/<v>/.
        var runtimeDir = new DirectoryInfo(System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory());
        string dotnetRoot = runtimeDir.Parent!.Parent!.Parent!.FullName;
        foreach (var pack in new[] { "Microsoft.NETCore.App.Ref", "Microsoft.AspNetCore.App.Ref" })
        {
            var refDir = ReferencePack(Path.Combine(dotnetRoot, "packs", pack), framework);
            if (refDir is not null) foreach (var dll in Directory.GetFiles(refDir, "*.dll")) Add(dll);
            else if (pack == "Microsoft.NETCore.App.Ref")
                foreach (var dll in Directory.GetFiles(runtimeDir.FullName, "*.dll")) Add(dll); // no reference pack: the implementation
        }
        return byName.Values.Order(StringComparer.Ordinal).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToList();
    }

    private static string AssemblyName(string csproj)
    {
        var m = Regex.Match(File.ReadAllText(csproj), "<AssemblyName>([^<]+)</AssemblyName>");
        return m.Success ? m.Groups[1].Value.Trim() : Path.GetFileNameWithoutExtension(csproj);
    }

    /// <summary>The newest <c>packs/NAME/VERSION/ref/FRAMEWORK</c> of this runtime's major version.</summary>
    private static string? ReferencePack(string packDir, string framework)
    {
        if (!Directory.Exists(packDir)) return null;
        return Directory.GetDirectories(packDir)
            .Where(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) && v.Major == Environment.Version.Major)
            .OrderByDescending(d => Version.Parse(Path.GetFileName(d).Split('-')[0]))
            .Select(d => Path.Combine(d, "ref", framework))
            .FirstOrDefault(Directory.Exists);
    }

    /// <summary>The compile-time assemblies of every package a project uses (direct and transitive), from its restore output.</summary>
    private static IEnumerable<string> PackageCompileAssemblies(string assetsJson, string framework)
    {
        if (!File.Exists(assetsJson)) yield break;
        using var doc = JsonDocument.Parse(File.ReadAllText(assetsJson));
        var root = doc.RootElement;
        var folders = root.GetProperty("packageFolders").EnumerateObject().Select(p => p.Name).ToList();
        var libraries = root.GetProperty("libraries");
        foreach (var target in root.GetProperty("targets").EnumerateObject())
        {
            if (!target.Name.Equals(framework, StringComparison.OrdinalIgnoreCase) && !target.Name.StartsWith(framework + "/", StringComparison.OrdinalIgnoreCase)
                && !target.Name.StartsWith(".NETCoreApp,Version=v" + framework[3..], StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var library in target.Value.EnumerateObject())
            {
                if (library.Value.GetProperty("type").GetString() != "package" || !library.Value.TryGetProperty("compile", out var compile)) continue;
                string path = libraries.GetProperty(library.Name).GetProperty("path").GetString()!;
                foreach (var asset in compile.EnumerateObject())
                {
                    if (!asset.Name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) continue; // "_._": nothing to compile against
                    var full = folders.Select(f => Path.Combine(f, path, asset.Name)).FirstOrDefault(File.Exists);
                    if (full is not null) yield return full;
                }
            }
            yield break;
        }
    }
}
