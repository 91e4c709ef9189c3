using System.Collections.Concurrent;
using System.Diagnostics;
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

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TlstunnelProcess(string ns, string? tap, IEnumerable<string> args)
    {
        Tap = tap;
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] device = tap is null ? ["--kernel"] : ["--tap", tap, "--address", StackV4 + "/24", "--address", StackV6 + "/64"];
        foreach (var a in (string[])["netns", "exec", ns, "dotnet", DllPath, .. device, .. args]) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, false);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, true);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string? Tap { get; }
    public int Pid => _process.Id;
    public IEnumerable<string> Lines => _lines;
    public string Output => string.Join('\n', _lines);

    /// <summary>Starts tlstunnel in <paramref name="ns"/> (on a new TAP unless <paramref name="kernel"/>) and waits for its ready line.</summary>
    public static async Task<TlstunnelProcess> StartAsync(string ns, bool kernel, params string[] args)
    {
        var p = new TlstunnelProcess(ns, kernel ? null : NetnsLab.NewLinkName('t'), args);
        try
        {
            var exited = p._process.WaitForExitAsync();
            var first = await Task.WhenAny(p._ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(90)));
            if (first != p._ready.Task) throw new InvalidOperationException($"tlstunnel did not come up: {p.Output}");
            if (p.Tap is not null)
            {
                NetnsLab.Run("ip", "-n", ns, "addr", "add", KernelV4 + "/24", "dev", p.Tap);
                NetnsLab.Run("ip", "-n", ns, "addr", "add", KernelV6 + "/64", "dev", p.Tap, "nodad");
                NetnsLab.Run("ip", "-n", ns, "link", "set", "dev", p.Tap, "up");
            }
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>Waits for a line containing <paramref name="text"/> (at least <paramref name="count"/> of them).</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout, int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var lines = _lines.Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();
            if (lines.Count >= count) return lines[count - 1];
            if (_process.HasExited) break;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no line with '{text}' (x{count}): {Output}");
    }

    public int CountLines(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

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

    private void OnLine(string? line, bool error)
    {
        if (line is null) return;
        _lines.Enqueue(error ? "stderr: " + line : line);
        if (line.StartsWith("tlstunnel: ready", StringComparison.Ordinal)) _ready.TrySetResult();
    }

    /// <summary>SIGTERM, then the exit code and everything printed.</summary>
    public async Task<(int ExitCode, string Output)> StopAsync(TimeSpan? timeout = null)
    {
        NetnsLab.Run("kill", "-TERM", Pid.ToString(CultureInfo.InvariantCulture));
        return await WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
    }

    public async Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return (_process.ExitCode, Output);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(5000); }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    /// <summary>tlstunnel.dll next to the tests (copied by the project reference) or in its own build output.</summary>
    public static string DllPath { get; } = SampleDll.Find("tlstunnel");
}
