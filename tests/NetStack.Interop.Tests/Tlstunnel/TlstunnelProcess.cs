using System.Globalization;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Tlstunnel;

/// <summary>
/// tlstunnel running inside a test namespace (<c>ip netns exec</c>, so the PID is its own): on a TAP it creates, whose kernel
/// side gets 198.51.100.1/24 and 2001:db8:1::1/64 and tlstunnel 198.51.100.3 and 2001:db8:1::3; or with <c>--kernel</c>.
/// Output lines are kept; <see cref="StopAsync"/> sends SIGTERM; Dispose kills it if still running.
/// </summary>
internal sealed class TlstunnelProcess : IDisposable
{
    public const string KernelV4 = NetstackdProcess.KernelV4;
    public const string KernelV6 = NetstackdProcess.KernelV6;
    public const string StackV4 = NetstackdProcess.StackV4;
    public const string StackV6 = NetstackdProcess.StackV6;

    private readonly SampleProcess _process;

    private TlstunnelProcess(string ns, string? tap, IEnumerable<string> args)
    {
        Tap = tap;
        string[] device = tap is null ? ["--kernel"] : ["--tap", tap, "--address", StackV4 + "/24", "--address", StackV6 + "/64"];
        _process = new SampleProcess("tlstunnel", ns, DllPath, [.. device, .. args], "tlstunnel: ready");
    }

    public string? Tap { get; }
    public int Pid => _process.Pid;
    public IEnumerable<string> Lines => _process.Lines;
    public string Output => _process.Output;

    /// <summary>Starts tlstunnel in <paramref name="ns"/> (on a new TAP unless <paramref name="kernel"/>) and waits for its ready line.</summary>
    public static async Task<TlstunnelProcess> StartAsync(string ns, bool kernel, params string[] args)
    {
        var p = new TlstunnelProcess(ns, kernel ? null : NetnsLab.NewLinkName('t'), args);
        try
        {
            await p._process.WaitUntilReadyAsync();
            if (p.Tap is not null) SampleProcess.AddressKernelSide(ns, p.Tap, KernelV4 + "/24", KernelV6 + "/64");
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>Waits for a line containing <paramref name="text"/> (at least <paramref name="count"/> of them).</summary>
    public Task<string> WaitForLineAsync(string text, TimeSpan timeout, int count = 1) =>
        _process.WaitForLineAsync(l => l.Contains(text, StringComparison.Ordinal), $"line with '{text}' (x{count})", timeout, count);

    public int CountLines(string text) => _process.Lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Resident memory of the process (kB), from /proc.</summary>
    public long ResidentKilobytes()
    {
        foreach (var line in File.ReadAllLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("no VmRSS");
    }

    /// <summary>SIGTERM, then the exit code and everything printed.</summary>
    public Task<(int ExitCode, string Output)> StopAsync(TimeSpan? timeout = null) => _process.StopAsync(timeout ?? TimeSpan.FromSeconds(60));

    public Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public void Dispose() => _process.Dispose();

    /// <summary>tlstunnel.dll next to the tests (copied by the project reference) or in its own build output.</summary>
    public static string DllPath { get; } = SampleDll.Find("tlstunnel");
}
