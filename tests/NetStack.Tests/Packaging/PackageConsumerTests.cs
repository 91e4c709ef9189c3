using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace NetStack.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: NetStack, NetStack.Tap, NetStack.AspNetCore and NetStack.Hosting are packed (from the build under test)
/// into a local folder feed, their metadata is checked, and a small consumer that references them by PackageReference (not
/// ProjectReference) is built and run: two stacks over an in-memory link exchange a UDP datagram and a TCP echo, and one
/// serves a Kestrel application to the other's HttpClient.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private static readonly string[] Packages = ["NetStack", "NetStack.Tap", "NetStack.AspNetCore", "NetStack.Hosting"];
    private readonly string _work = Directory.CreateTempSubdirectory("netstack-pack-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Packages_carry_licence_readme_symbols_and_one_version_and_a_consumer_builds_and_runs_from_a_folder_feed()
    {
        string root = RepositoryRoot();
        // Packed from the build the tests run from (no rebuild: --no-build), with a version no earlier run used, so the
        // consumer cannot pick up a stale copy from the global packages folder.
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        string version = $"0.0.1-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string feed = Directory.CreateDirectory(Path.Combine(_work, "feed")).FullName;
        foreach (var p in Packages)
            await Run("dotnet", $"pack src/{p}/{p}.csproj -c {configuration} --no-build -o \"{feed}\" -p:Version={version} -nologo", root);

        foreach (var p in Packages)
        {
            string nupkg = Path.Combine(feed, $"{p}.{version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{nupkg} missing");
            Assert.True(File.Exists(Path.Combine(feed, $"{p}.{version}.snupkg")), $"no symbol package for {p}");
            using var zip = ZipFile.OpenRead(nupkg);
            var nuspec = XDocument.Load(zip.GetEntry($"{p}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var meta = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal(p, meta.Element(ns + "id")!.Value);
            Assert.Equal(version, meta.Element(ns + "version")!.Value);
            Assert.Equal("MIT", meta.Element(ns + "license")!.Value);
            Assert.Equal("README.md", meta.Element(ns + "readme")!.Value);
            Assert.DoesNotContain("Package Description", meta.Element(ns + "description")!.Value, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "authors")?.Value));
            Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "tags")?.Value));
            Assert.NotNull(meta.Element(ns + "repository")?.Attribute("commit"));
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.NotNull(zip.GetEntry("LICENSE"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{p}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{p}.xml"));
            if (p == "NetStack.AspNetCore")
            {
                // The ASP.NET Core shared framework travels with the package, so a plain console project can use it.
                var frameworks = meta.Element(ns + "frameworkReferences")?.Descendants(ns + "frameworkReference").Select(f => f.Attribute("name")?.Value);
                Assert.Contains("Microsoft.AspNetCore.App", frameworks ?? []);
            }
        }

        string consumer = Directory.CreateDirectory(Path.Combine(_work, "consumer")).FullName;
        // The folder feed is added to the machine's configured sources (the packages' own dependencies come from there).
        await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"),
            $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><add key="netstack-test-feed" value="{feed}" /></packageSources></configuration>""");
        await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NetStack.Tap" Version="{version}" />
                <PackageReference Include="NetStack.AspNetCore" Version="{version}" />
                <PackageReference Include="NetStack.Hosting" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), ConsumerProgram);
        string output = await Run("dotnet", "run -c Release", consumer);
        Assert.Contains("udp: hello", output, StringComparison.Ordinal);
        Assert.Contains("tcp: echo", output, StringComparison.Ordinal);
        Assert.Contains("kestrel: hello over HTTP/1.1", output, StringComparison.Ordinal);
        Assert.Contains("hosting: AddNetStack registered", output, StringComparison.Ordinal);
        // The assets file proves the library came from the feed as a package, not from a project.
        string assets = await File.ReadAllTextAsync(Path.Combine(consumer, "obj", "project.assets.json"));
        foreach (var p in Packages) Assert.Contains($"\"{p}/{version}\"", assets, StringComparison.Ordinal);
        Assert.Contains("\"type\": \"package\"", assets, StringComparison.Ordinal);
        Assert.DoesNotContain("\"type\": \"project\"", assets, StringComparison.Ordinal);
    }

    /// <summary>What a user writes first: two stacks over an in-memory link, UDP and TCP through the front door, then Kestrel.</summary>
    private const string ConsumerProgram = """
        using System.Net;
        using Microsoft.AspNetCore.Builder;
        using Microsoft.AspNetCore.Hosting;
        using Microsoft.AspNetCore.Http;
        using Microsoft.Extensions.Logging;
        using Microsoft.Extensions.DependencyInjection;
        using NetStack.Hosting;
        using NetStack.Link;
        using NetStack.Network;
        using NetStack.Tap;
        using NetStack.Wire;

        using var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        await using var a = new IpStack(link.A, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")] });
        await using var b = new IpStack(link.B, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")] });
        await a.StartAsync();
        await b.StartAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await using var server = await b.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var client = await a.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync("hello"u8.ToArray(), new IPEndPoint(IPAddress.Parse("192.0.2.2"), 7));
        var buffer = new byte[64];
        var r = await server.ReceiveFromAsync(buffer, timeout.Token);
        Console.WriteLine($"udp: {System.Text.Encoding.ASCII.GetString(buffer, 0, r.ReceivedBytes)}");

        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 7));
        var accepted = Task.Run(async () => { await using var c = await listener.AcceptAsync(timeout.Token); await c.CopyToAsync(c, timeout.Token); });
        await using (var tcp = await a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 7), cancellationToken: timeout.Token))
        {
            await tcp.WriteAsync("echo"u8.ToArray(), timeout.Token);
            tcp.ShutdownSend();
            Console.WriteLine($"tcp: {await new StreamReader(tcp).ReadToEndAsync(timeout.Token)}");
        }
        await accepted;

        var web = WebApplication.CreateSlimBuilder();
        web.Logging.ClearProviders();
        web.WebHost.UseNetStack(b).ConfigureKestrel(k => k.Listen(IPAddress.Any, 80));
        await using var app = web.Build();
        app.MapGet("/", (HttpContext c) => $"kestrel: hello over {c.Request.Protocol}");
        await app.StartAsync(timeout.Token);
        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = a.HttpConnectCallback() });
        Console.WriteLine(await http.GetStringAsync(new Uri("http://192.0.2.2/"), timeout.Token));
        await app.StopAsync(timeout.Token);
        var services = new ServiceCollection().AddNetStack(o => o.Device.Kind = "Simulated");
        Console.WriteLine($"hosting: AddNetStack registered {services.Count} services");
        """;

    private static string RepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NetStack.sln"))) return d.FullName;
        throw new InvalidOperationException("NetStack.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> Run(string file, string arguments, string directory)
    {
        var psi = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish in 10 minutes");
        }
        string output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"{file} {arguments} exited {p.ExitCode}:\n{output}");
        return output;
    }
}
