using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>Our TCP client (TcpConnectionStream on a TAP) uploading to and downloading from kernel servers (socat) in a namespace.</summary>
[Collection("netstackd")]
public sealed class OurClientTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("netstackd-client-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<TapStackLab> Start(bool faults) => TapStackLab.StartAsync(new NetstackdStackOptions
    {
        Seed = 11,
        Faults = faults ? new FaultProfile { DropRate = 0.02, ReorderRate = 0.02, DuplicateRate = 0.005 } : null,
    });

    private void Report(string what, long bytes, TimeSpan elapsed, NetstackdStack stack)
    {
        var faults = stack.Faults is { } f ? $"; faults tx[{f.TransmitStatistics}] rx[{f.ReceiveStatistics}]" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {bytes / 1e6:F1} MB in {elapsed.TotalSeconds:F2} s = {bytes * 8 / elapsed.TotalSeconds / 1e6:F0} Mbit/s; retransmissions {stack.Tcp.Stats.Retransmissions}, timeouts {stack.Tcp.Stats.Timeouts}{faults}"));
    }

    public static TheoryData<bool, bool> Cases => new() { { false, false }, { true, false }, { false, true }, { true, true } };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Our_client_uploads_to_a_kernel_server_with_a_matching_hash(bool ipv6, bool faults)
    {
        Root.Require();
        await using var s = await Start(faults);
        long size = Shell.TransferMegabytes * 1_000_000L;
        var target = Path.Combine(_dir, "upload.bin");
        var server = s.Lab.StartIn(s.Ns, "socat", "-u", ipv6 ? "TCP6-LISTEN:9000,reuseaddr" : "TCP4-LISTEN:9000,reuseaddr", "CREATE:" + target);
        var remote = TapStackLab.Kernel(ipv6, 9000);
        var clock = Stopwatch.StartNew();
        await using (var c = await s.ConnectWhenListening(remote))
        {
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var chunk = new byte[256 * 1024];
            for (long left = size; left > 0; left -= chunk.Length)
            {
                int n = (int)Math.Min(chunk.Length, left);
                RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
                sha.AppendData(chunk, 0, n);
                await c.WriteAsync(chunk.AsMemory(0, n)).AsTask().WaitAsync(TimeSpan.FromMinutes(3));
            }
            c.ShutdownSend();
            Assert.Equal(0, await c.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromMinutes(2))); // socat closes after our FIN
            await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            clock.Stop();
            using var f = File.OpenRead(target);
            Assert.Equal(Convert.ToHexStringLower(sha.GetHashAndReset()), Convert.ToHexStringLower(SHA256.HashData(f)));
        }
        Report($"upload {(ipv6 ? "IPv6" : "IPv4")}{(faults ? " with faults" : "")}", size, clock.Elapsed, s.Stack);
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Our_client_downloads_from_a_kernel_server_with_a_matching_hash(bool ipv6, bool faults)
    {
        Root.Require();
        await using var s = await Start(faults);
        long size = Shell.TransferMegabytes * 1_000_000L;
        var source = Path.Combine(_dir, "source.bin");
        string expected = TapStackLab.WriteRandomFile(source, size);
        var (total, sha256, elapsed) = await s.DownloadFromKernel(source, ipv6, 9001);
        Assert.Equal(size, total);
        Assert.Equal(expected, sha256);
        Report($"download {(ipv6 ? "IPv6" : "IPv4")}{(faults ? " with faults" : "")}", size, elapsed, s.Stack);
    }

    /// <summary>
    /// RFC 9293 §3.8.5 MUST-62: our urgent pointer points to the octet after the urgent data. Linux reads the pointer the
    /// same way (tcp_stdurg=0) and, without SO_OOBINLINE, takes the last urgent byte out of band: so "abc" + urgent "XYZ" +
    /// "def" reads as "abcXYdef" with 'Z' from recv(MSG_OOB). A pointer one short (RFC 1122's old reading) would give 'Y'.
    /// </summary>
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Our_urgent_data_reaches_a_kernel_server_which_reads_its_last_byte_out_of_band(bool ipv6)
    {
        Root.Require();
        await using var s = await Start(faults: false);
        var script = Path.Combine(_dir, "oob-server.py");
        var result = Path.Combine(_dir, "oob-result.txt");
        File.WriteAllText(script, """
            import select, socket, sys
            sys.stderr = open(sys.argv[2] + '.err', 'w')
            family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
            srv = socket.socket(family, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((sys.argv[1], 9002))
            srv.listen(1)
            c, _ = srv.accept()
            c.settimeout(30)
            # Linux drops the out-of-band byte once reading passes the mark: take it first, when select reports it.
            select.select([], [], [c], 30)
            oob = c.recv(1, socket.MSG_OOB)
            data = b''
            while True:
                d = c.recv(65536)
                if not d:
                    break
                data += d
            open(sys.argv[2], 'w').write(data.decode() + '|' + oob.decode())
            c.close()
            """);
        string kernel = ipv6 ? NetstackdProcess.KernelV6 : NetstackdProcess.KernelV4;
        var server = s.Lab.StartIn(s.Ns, "python3", script, kernel, result);
        await using (var c = await s.ConnectWhenListening(new IPEndPoint(IPAddress.Parse(kernel), 9002)))
        {
            await c.WriteAsync("abc"u8.ToArray());
            await c.WriteUrgentAsync("XYZ"u8.ToArray());
            await c.WriteAsync("def"u8.ToArray());
            c.ShutdownSend();
            Assert.Equal(0, await c.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        }
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(server.ExitCode == 0, File.ReadAllText(result + ".err"));
        Assert.Equal("abcXYdef|Z", File.ReadAllText(result));
    }
}
