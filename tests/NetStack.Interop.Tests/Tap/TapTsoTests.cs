using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// Transmit offloads (issue 12 items 1 and 2) against this machine's kernel: NetStack's TCP sends 64 KB super-frames with
/// partial checksums into a TAP opened with a virtio-net header; the kernel takes them (a file arrives whole, SHA-256
/// checked, IPv4 and IPv6), tshark dissects what the kernel sees on the TAP without a malformed packet or an expert
/// error, and without offloads the same transfer goes out in MTU-sized frames made in software.
/// </summary>
[Collection("netstackd")]
public sealed class TapTsoTests(ITestOutputHelper output) : TapFileTest("tap-tso-")
{
    public static TheoryData<bool, bool> Cases => new() { { false, true }, { true, true }, { false, false }, { true, false } };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task NetStack_to_kernel_bulk_TCP_leaves_in_super_frames_and_arrives_intact(bool ipv6, bool offloads)
    {
        Root.Require();
        await using var s = await TapStackLab.StartAsync(new NetstackdStackOptions
        {
            Seed = 7,
            Tcp = new Transport.Tcp.TcpSettings { SendBufferSize = 1 << 20 },
        }, new TunTapOptions { Offloads = offloads ? TunOffloads.Default : TunOffloads.None });
        var (lab, ns, tap, stack) = (s.Lab, s.Ns, s.Tap, s.Stack);

        // The kernel side: socat writes what arrives to a file; tcpdump records the TAP as the kernel sees it.
        const int port = 9200;
        var received = Path.Combine(Dir, "received.bin");
        var pcap = Path.Combine(Dir, "kernel.pcap");
        var capture = lab.StartIn(ns, "tcpdump", "-Z", "root", "-i", tap.Name, "-U", "-w", pcap, "tcp", "port", port.ToString(CultureInfo.InvariantCulture));
        await WaitFor(() => File.Exists(pcap) && new FileInfo(pcap).Length > 0, TimeSpan.FromSeconds(30), "tcpdump started");
        var sink = lab.StartIn(ns, "socat", "-u", (ipv6 ? "TCP6-LISTEN:" : "TCP4-LISTEN:") + port.ToString(CultureInfo.InvariantCulture) + ",reuseaddr",
            "CREATE:" + received);

        long size = 16_000_000;
        var remote = TapStackLab.Kernel(ipv6, port);
        string expected;
        var clock = Stopwatch.StartNew();
        await using (var c = await s.ConnectWhenListening(remote))
        using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
        {
            var chunk = new byte[256 * 1024];
            for (long left = size; left > 0; left -= chunk.Length)
            {
                int n = (int)Math.Min(chunk.Length, left);
                RandomNumberGenerator.Fill(chunk.AsSpan(0, n));
                await c.WriteAsync(chunk.AsMemory(0, n)).AsTask().WaitAsync(TimeSpan.FromMinutes(2));
                sha.AppendData(chunk, 0, n);
            }
            c.ShutdownSend();
            expected = Convert.ToHexStringLower(sha.GetHashAndReset());
            await WaitFor(() => sink.HasExited, TimeSpan.FromMinutes(2), "socat finished receiving");
        }
        clock.Stop();
        Assert.Equal(0, sink.ExitCode);
        Assert.Equal(size, new FileInfo(received).Length);
        using (var f = File.OpenRead(received))
            Assert.Equal(expected, Convert.ToHexStringLower(await SHA256.HashDataAsync(f)));

        NetnsLab.Run("kill", "-INT", capture.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(capture.WaitForExit(30_000), "tcpdump did not stop");

        var st = stack.Stack.Statistics;
        var tcp = stack.Tcp.Stats;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(ipv6 ? "IPv6" : "IPv4")} offloads {(offloads ? "on" : "off")}: {size / 1e6:F0} MB in {clock.Elapsed.TotalSeconds:F2} s; " +
            $"frames sent {st.FramesTransmitted}, super-frames {st.SuperFramesTransmitted} (TAP {tap.Statistics.SuperFramesTransmitted}), " +
            $"built in software {st.SegmentsBuiltInSoftware}, TCP segments {tcp.SegmentsSent} in {tcp.SuperSegmentsSent} super-segments, drops {tap.Statistics.TransmitDrops}"));

        // What the kernel saw on the TAP: dissected without a malformed packet or an expert error.
        // The payload is random bytes: decoded as data, so that no heuristic dissector (Thrift, say) reads a protocol into it.
        string decodeAsData = $"tcp.port=={port},data";
        var bad = Tshark("-r", pcap, "-d", decodeAsData, "-Y", "_ws.malformed || _ws.expert.severity >= 8388608", "-T", "fields", "-e", "frame.number");
        if (!string.IsNullOrWhiteSpace(bad))
        {
            string first = bad.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
            var detail = Tshark("-r", pcap, "-d", decodeAsData, "-Y", "frame.number == " + first, "-V");
            output.WriteLine(detail);
            Assert.Fail($"tshark flags frames {bad.Replace('\n', ' ')}: {string.Join(" | ", detail.Split('\n').Where(l => l.Contains("Expert", StringComparison.Ordinal) || l.Contains("Malformed", StringComparison.Ordinal) || l.Contains("Severity", StringComparison.Ordinal)))}");
        }
        var big = Tshark("-r", pcap, "-Y", $"tcp.dstport == {port} && frame.len > 1514", "-T", "fields", "-e", "frame.len")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(0, tap.Statistics.TransmitDrops);
        Assert.True(tcp.SuperSegmentsSent > 0, "TCP built no super-segment");
        if (offloads)
        {
            Assert.True(st.SuperFramesTransmitted > 0, "no super-frame went to the TAP although it has a virtio-net header");
            Assert.Equal(st.SuperFramesTransmitted, tap.Statistics.SuperFramesTransmitted);
            Assert.NotEmpty(big);
            Assert.All(big, len => Assert.True(len <= 65535 + EthernetFrame.HeaderLength, $"a {len}-byte frame"));
            Assert.True(st.FramesTransmitted < size / 1448, $"{st.FramesTransmitted} frames for {size} bytes");
        }
        else
        {
            Assert.Equal(0, st.SuperFramesTransmitted);
            Assert.True(st.SegmentsBuiltInSoftware > 0);
            Assert.Empty(big);
        }
        output.WriteLine($"kernel-side capture: {big.Count} frames above 1514 bytes, largest {(big.Count > 0 ? big.Max() : 0)}");
    }
}
