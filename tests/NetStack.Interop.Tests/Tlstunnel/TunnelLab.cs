using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Tlstunnel;

/// <summary>
/// One namespace with tlstunnel on a TAP (198.51.100.3, 2001:db8:1::3), a test CA with a wildcard certificate for
/// *.example.test and a second one for *.other.test, and two kernel-side backends (python3 -m http.server): A on
/// 198.51.100.1:8001 reached over the NetStack stack, B on 127.0.0.1:8002 reached over the kernel's sockets (via=kernel).
/// Clients (curl, openssl, python) run in the same namespace, on the kernel side of the TAP.
/// </summary>
internal sealed class TunnelLab : IDisposable
{
    public const string Secret = "tlstunnel-test-shared-secret-0123456789";

    private readonly NetnsLab _lab = new();

    private TunnelLab()
    {
        Ns = _lab.CreateNamespace();
        NetnsLab.Run("ip", "-n", Ns, "link", "set", "lo", "up");
        Dir = Directory.CreateTempSubdirectory("tlstunnel-test-").FullName;
        Pki = new TestPki(Dir);
        Wildcard = Pki.Issue("wildcard", "*.example.test");
        Other = Pki.Issue("other", "*.other.test", "other.test");
        DirA = Directory.CreateDirectory(Path.Combine(Dir, "a")).FullName;
        DirB = Directory.CreateDirectory(Path.Combine(Dir, "b")).FullName;
        File.WriteAllText(Path.Combine(DirA, "index.html"), "backend A\n");
        File.WriteAllText(Path.Combine(DirB, "index.html"), "backend B\n");
        ConfigPath = Path.Combine(Dir, "config.json");
        SecretPath = Path.Combine(Dir, "secret");
        File.WriteAllText(SecretPath, Secret + "\n");
        WriteConfig(DefaultRoutes);
    }

    public string Ns { get; }
    public string Dir { get; }
    public string DirA { get; }
    public string DirB { get; }
    public TestPki Pki { get; }
    public (string Certificate, string Key) Wildcard { get; }
    public (string Certificate, string Key) Other { get; }
    public string ConfigPath { get; }
    public string SecretPath { get; }
    public TlstunnelProcess Tunnel { get; private set; } = null!;

    public const string DefaultRoutes = """
        { "name": "a.example.test", "backend": "198.51.100.1:8001" },
        { "name": "b.example.test", "backend": "127.0.0.1:8002", "via": "kernel" },
        { "name": "*.other.test", "backend": "198.51.100.1:8001" },
        { "name": "h2.example.test", "alpn": "h2", "backend": "127.0.0.1:8002", "via": "kernel" },
        { "name": "h2.example.test", "backend": "198.51.100.1:8001" }
        """;

    /// <summary>Writes the configuration with <paramref name="routes"/> (JSON objects, comma-separated), atomically (rename).</summary>
    public void WriteConfig(string routes)
    {
        var json = $$"""
            {
              "certificates": [
                { "certificate": "{{Wildcard.Certificate}}", "key": "{{Wildcard.Key}}" },
                { "certificate": "{{Other.Certificate}}", "key": "{{Other.Key}}" }
              ],
              "routes": [ {{routes}} ]
            }
            """;
        var temp = ConfigPath + ".tmp";
        File.WriteAllText(temp, json);
        File.Move(temp, ConfigPath, overwrite: true);
    }

    /// <summary>Starts tlstunnel with the control port 8443 and <paramref name="args"/>, then the two backends.</summary>
    public static async Task<TunnelLab> StartAsync(params string[] args)
    {
        var lab = new TunnelLab();
        try
        {
            lab.Tunnel = await TlstunnelProcess.StartAsync(lab.Ns, false,
                ["--config", lab.ConfigPath, "--control-port", "8443", "--secret-file", lab.SecretPath, .. args]);
            lab.StartBackend(lab.DirA, TlstunnelProcess.KernelV4, 8001);
            lab.StartBackend(lab.DirB, "127.0.0.1", 8002);
            return lab;
        }
        catch
        {
            lab.Dispose();
            throw;
        }
    }

    private void StartBackend(string dir, string address, int port)
    {
        _lab.StartIn(Ns, "python3", "-m", "http.server", port.ToString(CultureInfo.InvariantCulture), "--bind", address, "--directory", dir);
        var clock = Stopwatch.StartNew();
        string url = $"http://{address}:{port}/";
        while (true)
        {
            var r = Shell.RunIn(Ns, $"curl -s -o /dev/null --max-time 2 {url}", TimeSpan.FromSeconds(10));
            if (r.Succeeded) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"backend {url} did not come up");
            Thread.Sleep(200);
        }
    }

    /// <summary>Runs <paramref name="script"/> (sh) in the namespace.</summary>
    public CommandResult Sh(string script, int timeoutSeconds = 60) => Shell.RunIn(Ns, script, TimeSpan.FromSeconds(timeoutSeconds));

    /// <summary>curl with the test CA, <c>NAME:443</c> resolved to <paramref name="address"/>.</summary>
    public CommandResult Curl(string name, string address, string path = "/", string extra = "", int maxTime = 20)
    {
        string a = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
        return Sh($"curl -sS --max-time {maxTime} --cacert {Pki.CaPath} --resolve {name}:443:{a} {extra} 'https://{name}{path}'", maxTime + 30);
    }

    /// <summary>Runs <c>tlstunnel ctl</c> against the control port with <paramref name="args"/>.</summary>
    public CommandResult Ctl(params string[] args) =>
        Sh($"dotnet {TlstunnelProcess.DllPath} ctl --server {TlstunnelProcess.StackV4}:8443 {string.Join(' ', args)}");

    /// <summary>A file of <paramref name="bytes"/> random bytes under backend A's root; its SHA-256.</summary>
    public string MakeFile(string name, long bytes)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var f = File.Create(Path.Combine(DirA, name));
        var chunk = new byte[1 << 20];
        for (long left = bytes; left > 0; left -= chunk.Length)
        {
            int n = (int)Math.Min(chunk.Length, left);
            RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
            f.Write(chunk, 0, n);
            sha.AppendData(chunk, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    public static string Sha256Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    /// <summary>The control protocol's counters (<c>stats</c>) as a dictionary.</summary>
    public Dictionary<string, long> Stats()
    {
        var r = Ctl("--secret-file", SecretPath, "stats");
        Assert.True(r.Succeeded, r.StandardOutput + r.StandardError);
        return r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        Tunnel?.Dispose();
        _lab.Dispose();
        Pki.Dispose();
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
    }
}
