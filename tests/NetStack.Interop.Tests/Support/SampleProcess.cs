using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace NetStack.Interop.Tests.Support;

/// <summary>
/// A sample program (netstackd, tlstunnel) running inside a test namespace (<c>ip netns exec</c>, which execs into it, so
/// the PID is its own): its output lines are kept (standard error's prefixed <c>stderr: </c>), it is ready once it prints
/// a line starting with the given prefix, <see cref="StopAsync"/> sends SIGTERM to its PID, and Dispose kills it if it
/// is still running. The process handling <c>NetstackdProcess</c> and <c>TlstunnelProcess</c> share.
/// </summary>
internal sealed class SampleProcess : IDisposable
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _name;
    private readonly string _readyPrefix;

    /// <summary>Starts <c>dotnet <paramref name="dll"/> <paramref name="args"/></c> in <paramref name="ns"/>.</summary>
    public SampleProcess(string name, string ns, string dll, IEnumerable<string> args, string readyPrefix)
    {
        _name = name;
        _readyPrefix = readyPrefix;
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["netns", "exec", ns, "dotnet", dll, .. args]) psi.ArgumentList.Add(a);
        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, false);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, true);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;
    public IEnumerable<string> Lines => _lines;
    public string Output => string.Join('\n', _lines);
    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the ready line; throws with the output when the process exits first or takes over 90 s.</summary>
    public async Task WaitUntilReadyAsync()
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_ready.Task, exited, Task.Delay(StartPatience));
        if (first != _ready.Task) throw new InvalidOperationException($"{_name} did not come up: {Output}");
    }

    /// <summary>
    /// Waits for the <paramref name="count"/>-th line that <paramref name="match"/> accepts and returns it; throws (naming
    /// <paramref name="what"/>, with the output) after <paramref name="timeout"/> or once the process has exited without it.
    /// </summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan timeout, int count = 1)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var lines = _lines.Where(match).Take(count).ToList();
            if (lines.Count >= count) return lines[count - 1];
            if (_process.HasExited) break;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no {what}: {Output}");
    }

    /// <summary>SIGTERM to the PID, then the exit code and everything printed.</summary>
    public async Task<(int ExitCode, string Output)> StopAsync(TimeSpan timeout)
    {
        NetnsLab.Run("kill", "-TERM", Pid.ToString(CultureInfo.InvariantCulture));
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Waits for the process to exit (by itself or after <see cref="StopAsync"/>), then the exit code and everything printed.</summary>
    public async Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // the last output lines are in
        return (_process.ExitCode, Output);
    }

    /// <summary>Gives the kernel side of <paramref name="tap"/> in <paramref name="ns"/> the two addresses and brings it up.</summary>
    public static void AddressKernelSide(string ns, string tap, string v4WithPrefix, string v6WithPrefix)
    {
        NetnsLab.Run("ip", "-n", ns, "addr", "add", v4WithPrefix, "dev", tap);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", v6WithPrefix, "dev", tap, "nodad");
        NetnsLab.Run("ip", "-n", ns, "link", "set", "dev", tap, "up");
    }

    private void OnLine(string? line, bool error)
    {
        if (line is null) return;
        _lines.Enqueue(error ? "stderr: " + line : line);
        if (line.StartsWith(_readyPrefix, StringComparison.Ordinal)) _ready.TrySetResult();
    }

    /// <summary>Kills the process if it is still running (by its PID: only what this helper started).</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(5000); }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
