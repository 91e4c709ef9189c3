using System.Diagnostics;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// What the TAP tests that keep files (captures, scripts, results from the kernel's side) share: a temporary directory
/// per test, deleted after it; a wait on a condition with a deadline (never a fixed sleep); tshark with a deadline.
/// </summary>
public abstract class TapFileTest : IDisposable
{
    protected TapFileTest(string prefix) => Dir = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The test's own temporary directory.</summary>
    protected string Dir { get; }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) Directory.Delete(Dir, recursive: true);
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms; throws once <paramref name="limit"/> has passed without it.</summary>
    protected static async Task WaitFor(Func<bool> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"{what} within {limit.TotalSeconds} s");
            await Task.Delay(50);
        }
    }

    /// <summary>tshark on a capture, with a deadline for a loaded machine (the lab's 15 s command limit is for quick commands).</summary>
    protected static string Tshark(params string[] args)
    {
        using var p = new Process
        {
            StartInfo = new ProcessStartInfo("tshark", args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false },
        };
        p.Start();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill();
            p.WaitForExit();
            throw new TimeoutException("tshark " + string.Join(' ', args) + " took over 5 minutes");
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"tshark {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }
}
