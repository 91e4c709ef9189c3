using System.Diagnostics;
using System.Net.Sockets;

namespace NetStack.Interop.Tests.Api;

/// <summary>Starts dnsmasq inside a lab namespace: no upstream (--no-resolv), no system files, a test zone on documentation addresses.</summary>
internal static class Dnsmasq
{
    public static async Task<Process> StartAsync(KernelPeer peer, string listenAddress, params string[] extra)
    {
        var pid = peer.TempFile("dnsmasq.pid");
        string[] args =
        [
            "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root", "--group=root",
            $"--pid-file={pid}", "--bind-interfaces", $"--interface={peer.TapName}", $"--listen-address={listenAddress}",
            "--local=/example.test/",
            "--host-record=www.example.test,198.51.100.10,2001:db8::10",
            .. extra,
        ];
        var p = peer.Lab.StartIn(peer.Namespace, "dnsmasq", args);
        // Ready when it answers on port 53 (dnsmasq binds before it writes anything useful to its log).
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (p.HasExited) throw new InvalidOperationException($"dnsmasq exited with {p.ExitCode}");
            var r = Support.NetnsLab.TryRun("ip", "netns", "exec", peer.Namespace, "ss", "-Hlun", "sport", "=", ":53");
            if (r.StandardOutput.Contains(listenAddress, StringComparison.Ordinal)) return p;
            await Task.Delay(50);
        }
        throw new TimeoutException("dnsmasq did not start listening");
    }
}
