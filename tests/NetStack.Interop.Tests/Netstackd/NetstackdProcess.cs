using System.Collections.Concurrent;
using System.Diagnostics;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>
/// netstackd running inside a test namespace (<c>ip netns exec</c>), where it creates its TAP; the kernel side of the
/// TAP gets 198.51.100.1/24 and 2001:db8:1::1/64, netstackd 198.51.100.3 and 2001:db8:1::3. Output lines are kept;
/// <see cref="StopAsync"/> sends SIGTERM and returns what it printed on exit. Dispose kills it if still running.
/// </summary>
internal sealed class NetstackdProcess : IDisposable
{
    public const string KernelV4 = "198.51.100.1";
    public const string KernelV6 = "2001:db8:1::1";
    public const string StackV4 = "198.51.100.3";
    public const string StackV6 = "2001:db8:1::3";

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NetstackdProcess(string ns, string tap, IEnumerable<string> args, bool staticAddresses)
    {
        Namespace = ns;
        Tap = tap;
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] addresses = staticAddresses
            ? ["--address", StackV4 + "/24", "--address", StackV6 + "/64", "--gateway", KernelV4, "--gateway", KernelV6]
            : [];
        foreach (var a in (string[])["netns", "exec", ns, "dotnet", DllPath, "--tap", tap, .. addresses, .. args])
            psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, false);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, true);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Namespace { get; }
    public string Tap { get; }
    /// <summary>netstackd's PID (<c>ip netns exec</c> execs into it).</summary>
    public int ProcessId => _process.Id;
    public IEnumerable<string> Lines => _lines;
    public string Output => string.Join('\n', _lines);

    /// <summary>Starts netstackd in <paramref name="ns"/> on a new TAP, waits for its ready line and addresses the kernel side.</summary>
    public static Task<NetstackdProcess> StartAsync(string ns, params string[] args) => StartAsync(ns, true, args);

    /// <summary>As <see cref="StartAsync(string, string[])"/>; without <paramref name="staticAddresses"/> netstackd gets only <paramref name="args"/> (e.g. --dhcp).</summary>
    public static async Task<NetstackdProcess> StartAsync(string ns, bool staticAddresses, params string[] args)
    {
        var p = new NetstackdProcess(ns, NetnsLab.NewLinkName('d'), args, staticAddresses);
        try
        {
            var exited = p._process.WaitForExitAsync();
            var first = await Task.WhenAny(p._ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(90)));
            if (first != p._ready.Task) throw new InvalidOperationException($"netstackd did not come up: {p.Output}");
            NetnsLab.Run("ip", "-n", ns, "addr", "add", KernelV4 + "/24", "dev", p.Tap);
            NetnsLab.Run("ip", "-n", ns, "addr", "add", KernelV6 + "/64", "dev", p.Tap, "nodad");
            NetnsLab.Run("ip", "-n", ns, "link", "set", "dev", p.Tap, "up");
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>Waits for a line starting with <paramref name="prefix"/>.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var line = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (line is not null) return line;
            if (_process.HasExited) break;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no line starting with '{prefix}': {Output}");
    }

    private void OnLine(string? line, bool error)
    {
        if (line is null) return;
        _lines.Enqueue(error ? "stderr: " + line : line);
        if (line.StartsWith("netstackd: ready", StringComparison.Ordinal)) _ready.TrySetResult();
    }

    /// <summary>SIGTERM, then the exit code and everything printed.</summary>
    public async Task<(int ExitCode, string Output)> StopAsync()
    {
        NetnsLab.Run("kill", "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(cts.Token);
        return (_process.ExitCode, Output);
    }

    /// <summary>Waits for netstackd to exit by itself (e.g. after --iperf3-client), then the exit code and everything printed.</summary>
    public async Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
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

    /// <summary>netstackd.dll next to the tests (copied by the project reference) or in its own build output.</summary>
    public static string DllPath { get; } = SampleDll.Find("netstackd");
}

/// <summary>Commands with a time limit of our choosing (transfers take longer than the lab's 15 s).</summary>
internal static class Shell
{
    public static CommandResult RunIn(string ns, string script, TimeSpan timeout) => Run("ip", ["netns", "exec", ns, "sh", "-c", script], timeout);

    public static CommandResult Run(string file, string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"'{file} {string.Join(' ', args)}' did not finish within {timeout}: {stderr.Result}");
        }
        p.WaitForExit();
        return new CommandResult(file + " " + string.Join(' ', args), p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Transfer size of the big tests in MB: the 100 by default (about 1 s clean and 10 to 20 s under faults per
    /// transfer on this machine when quiet); NETSTACK_TRANSFER_MB sets a smaller (or larger) size for a loaded machine.
    /// </summary>
    public static int TransferMegabytes { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("NETSTACK_TRANSFER_MB"), out int mb) && mb > 0 ? mb : 100;
}
