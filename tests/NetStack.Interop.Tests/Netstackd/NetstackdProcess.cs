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

    private readonly SampleProcess _process;

    private NetstackdProcess(string ns, string tap, IEnumerable<string> args, bool staticAddresses)
    {
        Namespace = ns;
        Tap = tap;
        string[] addresses = staticAddresses
            ? ["--address", StackV4 + "/24", "--address", StackV6 + "/64", "--gateway", KernelV4, "--gateway", KernelV6]
            : [];
        _process = new SampleProcess("netstackd", ns, DllPath, ["--tap", tap, .. addresses, .. args], "netstackd: ready");
    }

    public string Namespace { get; }
    public string Tap { get; }
    /// <summary>netstackd's PID (<c>ip netns exec</c> execs into it).</summary>
    public int ProcessId => _process.Pid;
    public IEnumerable<string> Lines => _process.Lines;
    public string Output => _process.Output;

    /// <summary>Starts netstackd in <paramref name="ns"/> on a new TAP, waits for its ready line and addresses the kernel side.</summary>
    public static Task<NetstackdProcess> StartAsync(string ns, params string[] args) => StartAsync(ns, true, args);

    /// <summary>As <see cref="StartAsync(string, string[])"/>; without <paramref name="staticAddresses"/> netstackd gets only <paramref name="args"/> (e.g. --dhcp).</summary>
    public static async Task<NetstackdProcess> StartAsync(string ns, bool staticAddresses, params string[] args)
    {
        var p = new NetstackdProcess(ns, NetnsLab.NewLinkName('d'), args, staticAddresses);
        try
        {
            await p._process.WaitUntilReadyAsync();
            SampleProcess.AddressKernelSide(ns, p.Tap, KernelV4 + "/24", KernelV6 + "/64");
            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>Waits for a line starting with <paramref name="prefix"/>.</summary>
    public Task<string> WaitForLineAsync(string prefix, TimeSpan timeout) =>
        _process.WaitForLineAsync(l => l.StartsWith(prefix, StringComparison.Ordinal), $"line starting with '{prefix}'", timeout);

    /// <summary>SIGTERM, then the exit code and everything printed.</summary>
    public Task<(int ExitCode, string Output)> StopAsync() => _process.StopAsync(TimeSpan.FromSeconds(60));

    /// <summary>Waits for netstackd to exit by itself (e.g. after --iperf3-client), then the exit code and everything printed.</summary>
    public Task<(int ExitCode, string Output)> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public void Dispose() => _process.Dispose();

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
