using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>Real kernel clients (curl, nc, python) against netstackd on a TAP in a test namespace.</summary>
[Collection("netstackd")]
public sealed class NetstackdServerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netstackd-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes <paramref name="bytes"/> random bytes to a file under the served root and returns its SHA-256.</summary>
    private string MakeFile(string name, long bytes)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var f = File.Create(Path.Combine(_dir, name));
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

    private static string Sha256Of(string path)
    {
        using var f = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }

    private void Download(string ns, string url, string expectedSha, long expectedBytes)
    {
        var target = Path.Combine(_dir, "download-" + Guid.NewGuid().ToString("N"));
        var clock = Stopwatch.StartNew();
        var r = Shell.RunIn(ns, $"curl -sS --max-time 300 -o {target} -w '%{{http_code}} %{{size_download}}' '{url}'", TimeSpan.FromMinutes(6));
        clock.Stop();
        Assert.True(r.Succeeded, $"curl failed: {r.StandardError}");
        Assert.Equal($"200 {expectedBytes}", r.StandardOutput.Trim());
        Assert.Equal(expectedSha, Sha256Of(target));
        File.Delete(target);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{url}: {expectedBytes / 1e6:F1} MB in {clock.Elapsed.TotalSeconds:F2} s = {expectedBytes * 8 / clock.Elapsed.TotalSeconds / 1e6:F0} Mbit/s"));
    }

    [SkippableTheory]
    [InlineData("reno")]
    [InlineData(null)]
    public async Task Without_cc_netstackd_runs_its_namespaces_default_congestion_control(string? kernel)
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        if (kernel is not null)
        {
            // net.ipv4.tcp_congestion_control is per namespace (Linux 4.15), set only in the one this test made; a
            // namespace other than the first may choose only among net.ipv4.tcp_allowed_congestion_control, which
            // always holds reno.
            var set = Shell.RunIn(ns, $"sysctl -qw net.ipv4.tcp_congestion_control={kernel}", TimeSpan.FromSeconds(30));
            Assert.True(set.Succeeded, $"sysctl net.ipv4.tcp_congestion_control={kernel}: {set.StandardError}");
        }
        // Otherwise the namespace inherited the host's default: whatever it is, netstackd takes it when it has it.
        var read = Shell.RunIn(ns, "cat " + NetStack.Samples.Netstackd.HostCongestionControl.SysctlPath, TimeSpan.FromSeconds(30));
        Assert.True(read.Succeeded, read.StandardError);
        var (expected, source) = NetStack.Samples.Netstackd.HostCongestionControl.Resolve(read.StandardOutput);
        if (kernel is not null) Assert.Equal(NetStack.Transport.Tcp.CongestionAlgorithm.NewReno, expected);
        using var d = await NetstackdProcess.StartAsync(ns, "--discard", "9");
        var line = await d.WaitForLineAsync("netstackd: tcp congestion control", TimeSpan.FromSeconds(60));
        output.WriteLine(line);
        Assert.Equal($"netstackd: tcp congestion control {expected.ToString().ToLowerInvariant()} ({source})", line);
        var (code, _) = await d.StopAsync();
        Assert.Equal(0, code);
    }

    [SkippableFact]
    public async Task Curl_downloads_a_big_file_with_a_matching_SHA256_over_IPv4_and_IPv6()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        long size = Shell.TransferMegabytes * 1_000_000L;
        var sha = MakeFile("big.bin", size);
        using var d = await NetstackdProcess.StartAsync(ns, "--http", "80", "--http-root", _dir);
        Download(ns, $"http://{NetstackdProcess.StackV4}/big.bin", sha, size);
        Download(ns, $"http://[{NetstackdProcess.StackV6}]/big.bin", sha, size);
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains("http: connections=2 failed=0", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Curl_downloads_intact_through_2pct_drop_2pct_reorder_and_half_pct_duplication()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        long size = Shell.TransferMegabytes * 1_000_000L;
        var sha = MakeFile("big.bin", size);
        using var d = await NetstackdProcess.StartAsync(ns, "--http", "80", "--http-root", _dir,
            "--fault-drop", "0.02", "--fault-reorder", "0.02", "--fault-duplicate", "0.005", "--seed", "7");
        Download(ns, $"http://{NetstackdProcess.StackV4}/big.bin", sha, size);
        Download(ns, $"http://[{NetstackdProcess.StackV6}]/big.bin", sha, size);
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Matches(@"faults: tx\[.*dropped=[1-9]", text);
    }

    [SkippableFact]
    public async Task Http_serves_ranges_HEAD_errors_and_keeps_connections_alive()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        File.WriteAllText(Path.Combine(_dir, "hello.txt"), "0123456789abcdefghijklmnopqrstuvwxyz");
        using var d = await NetstackdProcess.StartAsync(ns, "--http", "80", "--http-root", _dir);
        string u = $"http://{NetstackdProcess.StackV4}";
        string Curl(string args) => Shell.RunIn(ns, $"curl -sS --max-time 20 {args}", TimeSpan.FromSeconds(30)).StandardOutput;

        // RFC 9110 §14.2 / §15.3.7: a single satisfiable range -> 206 with Content-Range.
        Assert.Equal("abcdefghij|206", Curl($"-r 10-19 -w '|%{{http_code}}' {u}/hello.txt"));
        Assert.Equal("wxyz|206", Curl($"-r -4 -w '|%{{http_code}}' {u}/hello.txt"));
        // §15.5.17: unsatisfiable -> 416.
        Assert.Equal("|416", Curl($"-r 100-200 -w '|%{{http_code}}' {u}/hello.txt"));
        var head = Curl($"-I {u}/hello.txt");
        Assert.Contains("Content-Length: 36", head, StringComparison.Ordinal);
        Assert.Contains("Accept-Ranges: bytes", head, StringComparison.Ordinal);
        Assert.Equal("404", Curl($"-o /dev/null -w '%{{http_code}}' {u}/missing"));
        Assert.Equal("403", Curl($"--path-as-is -o /dev/null -w '%{{http_code}}' {u}/../../etc/passwd"));
        Assert.Equal("403", Curl($"--path-as-is -o /dev/null -w '%{{http_code}}' {u}/%2e%2e/%2e%2e/etc/passwd"));
        Assert.Equal("405", Curl($"-X DELETE -o /dev/null -w '%{{http_code}}' {u}/hello.txt"));
        // Keep-alive: two URLs in one curl run share one connection.
        Assert.Equal("200\n200\n", Curl($"-o /dev/null -o /dev/null -w '%{{http_code}}\\n' {u}/hello.txt {u}/hello.txt"));
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains("requests=2 status 200 200", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Nc_half_closes_and_still_receives_the_echo_over_both_families()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        using var d = await NetstackdProcess.StartAsync(ns, "--tcp-echo", "7");
        // nc -N shuts down its send side at the end of input (FIN) and keeps reading until our FIN.
        foreach (var host in new[] { NetstackdProcess.StackV4, NetstackdProcess.StackV6 })
        {
            var r = Shell.RunIn(ns, $"printf 'hello netstack' | nc -N -w 10 {host} 7", TimeSpan.FromSeconds(30));
            Assert.True(r.Succeeded, r.StandardError);
            Assert.Equal("hello netstack", r.StandardOutput);
        }
        var (code, text) = await d.StopAsync();
        Assert.Equal(0, code);
        Assert.Contains("tcp-echo: connections=2 failed=0", text, StringComparison.Ordinal);
        // The default --rx filter: its kernel drops printed with the stack's drops (none without a flood), and its state.
        Assert.Matches(@"(?m)^drops: total=\d+.* kernel_syn_filter=0$", text);
        Assert.Matches(@"(?m)^synfilter: .* filter_drops=0 proven_unnamed=0$", text);
    }

    /// <summary>
    /// RFC 9293 §3.8.5: a kernel client sends urgent data (MSG_OOB); the echo service reads it in line (RFC 6093 §6) and
    /// was told of it once per connection (MUST-32: its log line says urgent=1).
    /// </summary>
    [SkippableFact]
    public async Task Urgent_data_from_a_kernel_client_is_echoed_in_line_and_signalled_once()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        using var d = await NetstackdProcess.StartAsync(ns, "--tcp-echo", "7");
        var script = Path.Combine(_dir, "oob-client.py");
        File.WriteAllText(script, """
            import socket, sys
            c = socket.create_connection((sys.argv[1], 7), timeout=20)
            c.sendall(b'abc')
            c.send(b'XYZ', socket.MSG_OOB)
            c.sendall(b'def')
            c.shutdown(socket.SHUT_WR)
            data = b''
            while True:
                d = c.recv(65536)
                if not d:
                    break
                data += d
            print(data.decode())
            """);
        foreach (var host in new[] { NetstackdProcess.StackV4, NetstackdProcess.StackV6 })
        {
            var r = Shell.RunIn(ns, $"python3 {script} {host}", TimeSpan.FromSeconds(30));
            Assert.True(r.Succeeded, r.StandardError);
            Assert.Equal("abcXYZdef", r.StandardOutput.Trim());
        }
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(text, @"tcp-echo .* in=9 out=9 .* ok urgent=1").Count);
    }

    [SkippableFact]
    public async Task A_thousand_concurrent_kernel_connections_are_echoed() =>
        await ConcurrentEcho(1000, [], expectCookies: false);

    [SkippableFact]
    public async Task A_thousand_concurrent_kernel_connections_all_opened_with_SYN_cookies_are_echoed()
    {
        // --syn-queue 0: every SYN is answered statelessly (RFC 4987 §3.6). The kernel offers timestamps, so the cookie
        // keeps window scaling and SACK (TSval low bits); every connection must still complete. A cookie connection
        // whose ACK and data the kernel drops on the TAP is reset at its FIN (as Linux would): a deep queue keeps a
        // loaded machine from dropping any.
        await ConcurrentEcho(1000, ["--syn-queue", "0", "--queue-len", "16384"], expectCookies: true);
    }

    private async Task ConcurrentEcho(int n, string[] extra, bool expectCookies)
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var pcap = Path.Combine(_dir, "many.pcap");
        using var d = await NetstackdProcess.StartAsync(ns, ["--tcp-echo", "7", "--record", pcap, .. extra]);
        const string script = """
            import asyncio, sys
            async def one(i):
                port = None
                try:
                    r, w = await asyncio.open_connection(sys.argv[1], 7)
                    port = w.get_extra_info('sockname')[1]
                    msg = b'connection %d' % i
                    w.write(msg); await w.drain(); w.write_eof()
                    data = await r.read()
                    w.close()
                    return data == msg or ('short echo', port)
                except Exception as e:
                    return (repr(e), port)
            async def main():
                n = int(sys.argv[2])
                res = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), 150)
                print(sum(1 for x in res if x is True), n)
                for i, x in enumerate(res):
                    if x is not True: print('connection', i, 'port', x[1], x[0], file=sys.stderr)
            asyncio.run(main())
            """;
        var path = Path.Combine(_dir, "many.py");
        File.WriteAllText(path, script);
        var r = Shell.RunIn(ns, $"ulimit -n 8192; python3 {path} {NetstackdProcess.StackV4} {n}", TimeSpan.FromMinutes(3));
        output.WriteLine(r.StandardOutput + r.StandardError);
        output.WriteLine(Shell.RunIn(ns, $"ip -s link show dev {d.Tap}", TimeSpan.FromSeconds(10)).StandardOutput);
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        // Any failure: show every frame of the failed connections, so that the cause is in the log.
        foreach (var port in System.Text.RegularExpressions.Regex.Matches(r.StandardError, @"port (\d+)").Select(m => m.Groups[1].Value).Distinct().Take(3))
            output.WriteLine(Shell.Run("tcpdump", ["-nn", "-S", "-r", pcap, "tcp port " + port], TimeSpan.FromSeconds(30)).StandardOutput);
        Assert.Equal($"{n} {n}", r.StandardOutput.Trim());
        Assert.Equal("", r.StandardError.Trim());
        Assert.Equal(0, code);
        Assert.Contains($"tcp-echo: connections={n} failed=0", text, StringComparison.Ordinal);
        var cookies = long.Parse(System.Text.RegularExpressions.Regex.Match(text, @"syn_cookies=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        if (expectCookies) Assert.True(cookies >= n, $"syn_cookies={cookies}");
        else Assert.Equal(0, cookies); // the SYN queue is the backlog (1024): no cookies needed
    }

    [SkippableFact]
    public async Task Udp_echo_discard_and_chargen_answer()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        using var d = await NetstackdProcess.StartAsync(ns, "--udp-echo", "7", "--discard", "9", "--chargen", "19");
        var udp = Shell.RunIn(ns, $"printf 'datagram' | nc -u -w 2 {NetstackdProcess.StackV4} 7", TimeSpan.FromSeconds(30));
        Assert.Equal("datagram", udp.StandardOutput);
        var discard = Shell.RunIn(ns, $"head -c 100000 /dev/zero | nc -N -w 10 {NetstackdProcess.StackV4} 9 | wc -c", TimeSpan.FromSeconds(30));
        Assert.Equal("0", discard.StandardOutput.Trim());
        // RFC 864: 72 printable characters and CRLF per line.
        var chargen = Shell.RunIn(ns, $"nc -d -w 10 {NetstackdProcess.StackV6} 19 | head -c 740", TimeSpan.FromSeconds(30));
        var lines = chargen.StandardOutput.Split("\r\n");
        Assert.Equal(72, lines[0].Length);
        Assert.Equal(lines[0][1..], lines[1][..71]);
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Contains("discard: connections=1", text, StringComparison.Ordinal);
        Assert.Contains("udp-echo: connections=0 failed=0 requests=0 datagrams=1", text, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Every_frame_is_recorded_and_counters_are_printed_on_SIGTERM()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var pcap = Path.Combine(_dir, "run.pcap");
        using var d = await NetstackdProcess.StartAsync(ns, "--tcp-echo", "7", "--record", pcap);
        Shell.RunIn(ns, $"printf abc | nc -N -w 10 {NetstackdProcess.StackV4} 7", TimeSpan.FromSeconds(30));
        var (code, text) = await d.StopAsync();
        output.WriteLine(text);
        Assert.Equal(0, code);
        Assert.Matches(@"frames: rx=[1-9]\d* tx=[1-9]", text);
        Assert.Contains("tcp: segments_rx=", text, StringComparison.Ordinal);
        var recorded = int.Parse(System.Text.RegularExpressions.Regex.Match(text, @"recorded: frames=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var read = Shell.Run("tcpdump", ["-nn", "-r", pcap], TimeSpan.FromSeconds(30));
        var tcpdumpLines = read.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(recorded, tcpdumpLines.Length);
        Assert.Contains(tcpdumpLines, l => l.Contains($"{NetstackdProcess.StackV4}.7 >", StringComparison.Ordinal) && l.Contains("Flags [S.]", StringComparison.Ordinal));
    }
}

/// <summary>netstackd's refusals: a one-line reason and a non-zero exit.</summary>
[Collection("netstackd")]
public sealed class NetstackdCommandLineTests
{
    private static CommandResult Netstackd(params string[] args) =>
        Shell.Run("dotnet", [NetstackdProcess.DllPath, .. args], TimeSpan.FromSeconds(60));

    [Fact]
    public void A_bad_option_exits_2_with_one_line()
    {
        var r = Netstackd("--tap", "x", "--address", "198.51.100.3/24", "--http", "80");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("netstackd: --http needs --http-root DIR", r.StandardError.Trim());
        r = Netstackd("--frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.StandardError.Trim().Split('\n'));
    }

    [SkippableFact]
    public void A_device_it_cannot_open_exits_1_with_one_line()
    {
        Root.Require();
        var r = Netstackd("--pcap", "nst-no-such-if0", "--address", "198.51.100.3/24");
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.StandardError.Trim().Split('\n'));
        Assert.StartsWith("netstackd: cannot open pcap device 'nst-no-such-if0'", line, StringComparison.Ordinal);
    }
}

/// <summary>netstackd configured by a kernel-side DHCPv4 server (dnsmasq in the namespace).</summary>
[Collection("netstackd")]
public sealed class NetstackdDhcpTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task With_dhcp_it_takes_a_lease_from_dnsmasq_and_serves_on_the_leased_address()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        using var d = await NetstackdProcess.StartAsync(ns, false, "--dhcp", "--tcp-echo", "7");
        var leases = Path.Combine(Path.GetTempPath(), $"nst-{Environment.ProcessId}-{Guid.NewGuid():N}.leases");
        try
        {
            lab.StartIn(ns, "dnsmasq", "--no-daemon", "--port=0", "--no-resolv", "--no-hosts", "--bind-interfaces",
                $"--interface={d.Tap}", "--dhcp-range=198.51.100.50,198.51.100.59,255.255.255.0,1h", $"--dhcp-leasefile={leases}",
                "--dhcp-option=option:router,198.51.100.1");
            var line = await d.WaitForLineAsync("netstackd: DHCPv4 lease", TimeSpan.FromSeconds(60));
            output.WriteLine(line);
            var address = System.Text.RegularExpressions.Regex.Match(line, @"lease (198\.51\.100\.5\d)/24").Groups[1].Value;
            Assert.NotEmpty(address);
            var r = Shell.RunIn(ns, $"printf leased | nc -N -w 10 {address} 7", TimeSpan.FromSeconds(30));
            Assert.Equal("leased", r.StandardOutput);
            var (code, _) = await d.StopAsync();
            Assert.Equal(0, code);
        }
        finally
        {
            File.Delete(leases);
        }
    }
}
