using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Tap;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// UDP trains (issue 12 item 2) as tshark sees them: every datagram of a train dissects cleanly, IPv4 and IPv6, with USO
/// and without.
/// <para>
/// Where to capture. With USO a train crosses the TAP as ONE super-frame (gso_type UDP_L4): a capture on the TAP, where
/// the kernel's packet taps see the frame as it came in, holds that super-frame and no datagram; the kernel cuts it only
/// on the way into a socket (<c>udp_rcv_segment</c>), which no capture point sees, or when it forwards the train to a
/// device that cannot take it whole. So the kernel here forwards the trains (the stack's default router) out of a veth
/// whose <c>gso_max_size</c> is 1500: <c>validate_xmit_skb</c> segments each train before the packet taps, and tcpdump on
/// that veth records each datagram as the next hop receives it. The TAP is captured too: its frames (the super-frames,
/// or without USO the datagrams cut by the stack) must dissect cleanly as well.
/// </para>
/// <para>
/// Why captures came out empty before (3 runs of 4): tcpdump was stopped on a clock. Writing to a file (<c>-w</c>)
/// tcpdump is not in immediate mode: frames wait in the kernel's TPACKET_V3 ring until a block fills or its timer (1 s)
/// retires it, and on a loaded machine tcpdump may not have run at all yet; a SIGINT then ends it with what it has read,
/// often nothing. Here tcpdump runs in immediate mode with per-packet flushing (<c>--immediate-mode -U</c>), the test
/// starts sending only once the capture file has its header (tcpdump writes it after the capture is active), and stops
/// tcpdump only once the file holds every datagram expected: conditions, never a sleep.
/// </para>
/// <para>
/// Why the tail of a train went missing from both captures (every run, 9 to 24 datagrams): tcpdump's own ring. In
/// immediate mode libpcap maps a TPACKET_V2 ring of slots as large as the largest frame the interface may hand over
/// (64 KiB on a device with GSO), so the default 2 MiB buffer holds 32 frames; a train is a burst of up to 64 frames in
/// well under a millisecond, and a tcpdump that is not scheduled meanwhile loses the rest (the kernel's tp_drops,
/// "packets dropped by kernel" at exit). Measured beside this test: 100 datagrams into a stopped tcpdump, 32 captured
/// and 68 dropped with the default buffer, all 100 with <c>-B 32768</c>. The stack lost nothing: the TAP's kernel RX
/// counter matched the frames it wrote. So tcpdump runs with a 32 MiB ring, each capture's drop count must be 0, and the
/// kernel's RX counter must match our writes (a second count, independent of the captures).
/// </para>
/// </summary>
[Collection("netstackd")]
public sealed class TapUdpTrainCaptureTests(ITestOutputHelper output) : TapFileTest("tap-uso-capture-")
{
    private const int Port = 9301;

    public static TheoryData<bool, bool> Cases => new() { { false, true }, { true, true }, { false, false }, { true, false } };

    /// <summary>
    /// The UDP length field of each complete record in a classic pcap file that tcpdump may still be writing (Ethernet,
    /// then IPv4 or IPv6 without extension headers, as the stack sends them; 0 for a record that is not such a frame).
    /// </summary>
    private static List<int> UdpLengths(string path)
    {
        var lengths = new List<int>();
        byte[] data;
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            data = new byte[f.Length];
            f.ReadExactly(data);
        }
        catch (FileNotFoundException)
        {
            return lengths;
        }
        if (data.Length < 24) return lengths;
        bool little = BinaryPrimitives.ReadUInt32LittleEndian(data) is 0xa1b2c3d4 or 0xa1b23c4d;
        for (int at = 24; at + 16 <= data.Length;)
        {
            var h = data.AsSpan(at, 16);
            int incl = (int)(little ? BinaryPrimitives.ReadUInt32LittleEndian(h[8..]) : BinaryPrimitives.ReadUInt32BigEndian(h[8..]));
            if (at + 16 + incl > data.Length) break; // the record being written
            var frame = data.AsSpan(at + 16, incl);
            int udp = frame.Length < 14 ? -1 : BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) switch
            {
                0x0800 => 14 + (frame[14] & 0x0f) * 4,
                0x86dd => 14 + 40,
                _ => -1,
            };
            lengths.Add(udp > 0 && udp + 8 <= frame.Length ? BinaryPrimitives.ReadUInt16BigEndian(frame[(udp + 4)..]) : 0);
            at += 16 + incl;
        }
        return lengths;
    }

    /// <summary>
    /// tcpdump in <paramref name="ns"/> on <paramref name="link"/>, UDP to <see cref="Port"/>, into <paramref name="pcap"/>;
    /// returns once capturing, with the lines tcpdump writes to stderr (its drop count at exit).
    /// </summary>
    private static async Task<(System.Diagnostics.Process Process, ConcurrentQueue<string> Stderr)> StartCapture(NetnsLab lab, string ns, string link, string pcap)
    {
        // -B: the ring's size in KiB. In immediate mode libpcap uses a TPACKET_V2 ring of fixed-size slots, each as large as
        // the largest frame the interface may hand over (65,535 bytes + headers when it has GSO/GRO, as a TAP and a veth
        // do): the default 2 MiB ring holds 31 frames. A train is a burst of up to 64 frames in well under a millisecond,
        // and on a loaded machine tcpdump may not run for many milliseconds: the kernel drops what does not fit the ring
        // (tp_drops, tcpdump's "packets dropped by kernel"), before the file sees it. 32 MiB holds ~500 frames.
        var p = lab.StartIn(ns, "tcpdump", "-Z", "root", "-i", link, "--immediate-mode", "-U", "-B", "32768", "-s", "0", "-w", pcap,
            "udp", "dst", "port", Port.ToString(CultureInfo.InvariantCulture));
        var stderr = new ConcurrentQueue<string>();
        p.ErrorDataReceived += (_, e) => { if (e.Data is { } line) stderr.Enqueue(line); };
        // tcpdump opens the file (and, with -U, flushes its header) once the capture is active.
        await WaitFor(() => p.HasExited || (File.Exists(pcap) && new FileInfo(pcap).Length >= 24), TimeSpan.FromSeconds(60), $"tcpdump capturing on {link}");
        if (p.HasExited) Assert.Fail($"tcpdump on {link} exited ({p.ExitCode})");
        return (p, stderr);
    }

    /// <summary>Stops tcpdump and returns how many frames its ring dropped ("N packets dropped by kernel"; -1 when it did not say).</summary>
    private static int StopCapture((System.Diagnostics.Process Process, ConcurrentQueue<string> Stderr) capture)
    {
        NetnsLab.Run("kill", "-INT", capture.Process.Id.ToString(CultureInfo.InvariantCulture));
        Assert.True(capture.Process.WaitForExit(60_000), "tcpdump did not stop");
        capture.Process.WaitForExit(); // and its stderr read to the end
        foreach (var line in capture.Stderr)
        {
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^(\d+) packets? dropped by kernel");
            if (m.Success) return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        return -1;
    }

    /// <summary>The kernel's count of frames received on <paramref name="link"/> in <paramref name="ns"/> (its RX counter: what the stack wrote to the TAP).</summary>
    private static long KernelRxPackets(string ns, string link) =>
        long.Parse(NetnsLab.RunIn(ns, "cat", $"/sys/class/net/{link}/statistics/rx_packets").StandardOutput.Trim(), CultureInfo.InvariantCulture);

    /// <summary>tshark flags no frame of <paramref name="pcap"/> as malformed or with an error-level expert item (IPv4 header checksums checked).</summary>
    private void AssertDissectsCleanly(string pcap)
    {
        string decodeAsData = $"udp.port=={Port},data"; // random payload: no heuristic dissector reads a protocol into it
        var bad = Tshark("-r", pcap, "-o", "ip.check_checksum:TRUE", "-d", decodeAsData,
            "-Y", "_ws.malformed || _ws.expert.severity >= 8388608", "-T", "fields", "-e", "frame.number");
        if (string.IsNullOrWhiteSpace(bad)) return;
        string first = bad.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        output.WriteLine(Tshark("-r", pcap, "-o", "ip.check_checksum:TRUE", "-d", decodeAsData, "-Y", "frame.number == " + first, "-V"));
        Assert.Fail($"tshark flags frames {bad.Replace('\n', ' ')} of {Path.GetFileName(pcap)}");
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Every_datagram_of_a_UDP_train_dissects_cleanly_in_tshark(bool ipv6, bool offloads)
    {
        Root.Require();
        await using var s = await TapStackLab.StartAsync(new NetstackdStackOptions { Seed = 11 },
            new TunTapOptions { Offloads = offloads ? TunOffloads.Default : TunOffloads.None }, kernelIsGateway: true);
        var (lab, ns, tap, stack) = (s.Lab, s.Ns, s.Tap, s.Stack);
        bool uso = (tap.Offloads & (ipv6 ? TunOffloads.Uso6 : TunOffloads.Uso4)) != 0;
        output.WriteLine($"TAP offloads {tap.Offloads}: USO {(uso ? "on" : "off")}");
        if (offloads) Assert.True(uso, "this machine's kernel (>= 6.2) should take TUN_F_USO4|USO6 on a TAP");

        // The next hop: a second namespace behind a veth on which the kernel cannot send a train whole (gso_max_segs 1).
        var next = lab.CreateNamespace();
        var (near, far) = lab.CreateVethPair(ns, next);
        // gso_max_segs alone does not do it: a train from a TAP (virtio-net header, SKB_GSO_DODGY) has gso_segs 0 until
        // segmented, so gso_features_check lets it through whole; a train longer than gso_max_size (which sets
        // gso_ipv4_max_size too, below 64 KiB) is cut before the packet taps (kernels 6.3 and later check the size there).
        NetnsLab.Run("ip", "-n", ns, "link", "set", "dev", near, "gso_max_segs", "1", "gso_max_size", "1500");
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "203.0.113.1/24", "dev", near);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "2001:db8:9::1/64", "dev", near, "nodad");
        NetnsLab.Run("ip", "-n", next, "addr", "add", "203.0.113.9/24", "dev", far);
        NetnsLab.Run("ip", "-n", next, "addr", "add", "2001:db8:9::9/64", "dev", far, "nodad");
        NetnsLab.RunIn(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        NetnsLab.RunIn(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
        var to = new IPEndPoint(IPAddress.Parse(ipv6 ? "2001:db8:9::9" : "203.0.113.9"), Port);

        var tapPcap = Path.Combine(Dir, "tap.pcap");
        var hopPcap = Path.Combine(Dir, "next-hop.pcap");
        var tapCapture = await StartCapture(lab, ns, tap.Name, tapPcap);
        var hopCapture = await StartCapture(lab, ns, near, hopPcap);

        await using var udp = await stack.Ip.BindUdpAsync(new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        // Resolution on both hops first (the kernel's of the next hop, ours of the kernel): 1-byte datagrams until the
        // next hop's capture has one.
        var hello = System.Diagnostics.Stopwatch.StartNew();
        while (UdpLengths(hopPcap).Count == 0)
        {
            Assert.True(hello.Elapsed < TimeSpan.FromSeconds(60), "no 1-byte datagram was forwarded to the next hop in 60 s");
            try
            {
                await udp.SendToAsync(new byte[1], to);
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressNotAvailable)
            {
                // Our IPv6 address still tentative (duplicate address detection): no source address yet.
            }
            await Task.Delay(100);
        }

        // A second, independent count of what reached the kernel: the TAP's RX counter against our writes. Both are read
        // on the loop thread, the only writer, so no frame (a neighbour probe, an MLD report) is written between the two
        // readings: the TAP's write() counts the frame on the kernel side before it returns.
        Task<(long KernelRx, long Written)> Counters() =>
            stack.Ip.InvokeAsync(_ => (KernelRxPackets(ns, tap.Name), tap.Statistics.FramesTransmitted));
        var (kernelRxBefore, writtenBefore) = await Counters();
        var trains = new (int Length, int SegmentSize)[] { (1200 * 40 + 17, 1200), (1000 * 10, 1000), (1400 * 46, 1400) };
        var datagrams = new List<byte[]>();
        foreach (var (length, segmentSize) in trains)
        {
            var payload = new byte[length];
            RandomNumberGenerator.Fill(payload);
            Assert.Equal(length, await udp.SendSegmentedAsync(payload, segmentSize, to));
            for (int at = 0; at < length; at += segmentSize) datagrams.Add(payload.AsSpan(at, Math.Min(segmentSize, length - at)).ToArray());
        }
        // Until each capture holds every frame of the trains (a 1-byte datagram has UDP length 9).
        int tapFrames = uso ? trains.Length : datagrams.Count;
        async Task Report()
        {
            var drops = await stack.Ip.InvokeAsync(st => string.Join(", ", st.Statistics.NonZeroDrops().Select(d => $"{d.Key}={d.Value}")));
            output.WriteLine($"stack drops: {drops}; TAP transmit drops {tap.Statistics.TransmitDrops}, frames transmitted {tap.Statistics.FramesTransmitted}");
            var udpSent = await stack.Ip.InvokeAsync(st => st.Statistics.UdpSent);
            output.WriteLine($"stack UdpSent {udpSent}");
            output.WriteLine(NetnsLab.TryRun("ip", "-n", ns, "-s", "-s", "link", "show", "dev", tap.Name).StandardOutput);
            output.WriteLine(NetnsLab.TryRun("ip", "-n", ns, "-s", "-s", "link", "show", "dev", near).StandardOutput);
            output.WriteLine(NetnsLab.TryRun("ip", "netns", "exec", ns, "nstat", "-az").StandardOutput);
            output.WriteLine(File.ReadAllText("/proc/net/softnet_stat"));
            output.WriteLine("TAP UDP lengths: " + string.Join(' ', UdpLengths(tapPcap)));
            output.WriteLine("next hop UDP lengths: " + string.Join(' ', UdpLengths(hopPcap)));
            var keep = Directory.CreateTempSubdirectory("tap-uso-capture-failed-").FullName;
            File.Copy(tapPcap, Path.Combine(keep, "tap.pcap"));
            File.Copy(hopPcap, Path.Combine(keep, "next-hop.pcap"));
            output.WriteLine("captures kept in " + keep);
            output.WriteLine($"frames the TAP's kernel side received {KernelRxPackets(ns, tap.Name) - kernelRxBefore}, the stack wrote {tap.Statistics.FramesTransmitted - writtenBefore}");
            output.WriteLine($"tcpdump ring drops: next hop {StopCapture(hopCapture)}, TAP {StopCapture(tapCapture)}");
        }
        try
        {
            await WaitFor(() => UdpLengths(hopPcap).Count(l => l > 9) >= datagrams.Count, TimeSpan.FromSeconds(120),
                $"the next hop's capture holding all {datagrams.Count} datagrams");
            await WaitFor(() => UdpLengths(tapPcap).Count(l => l > 9) >= tapFrames, TimeSpan.FromSeconds(120),
                $"the TAP's capture holding all {tapFrames} frames");
        }
        catch (TimeoutException)
        {
            await Report();
            throw;
        }
        // Every frame the stack wrote reached the kernel (its RX counter; frames other than the trains, such as neighbour
        // probes, count on both sides), and neither capture lost one in tcpdump's ring.
        var settle = System.Diagnostics.Stopwatch.StartNew();
        for (var c = await Counters(); c.KernelRx - kernelRxBefore != c.Written - writtenBefore; c = await Counters())
        {
            Assert.True(settle.Elapsed < TimeSpan.FromSeconds(60),
                $"the TAP's kernel side received {c.KernelRx - kernelRxBefore} frames, the stack wrote {c.Written - writtenBefore}");
            await Task.Delay(50);
        }
        Assert.Equal(0, tap.Statistics.TransmitDrops);
        Assert.Equal(0, StopCapture(hopCapture));
        Assert.Equal(0, StopCapture(tapCapture));

        // The next hop: every datagram, in order, each its own frame, the bytes sent, and tshark content with all of them.
        AssertDissectsCleanly(hopPcap);
        var hex = Tshark("-r", hopPcap, "-d", $"udp.port=={Port},data", "-Y", "udp.length > 9", "-T", "fields", "-e", "udp.length", "-e", "data.data")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split('\t')).ToList();
        output.WriteLine($"{(ipv6 ? "IPv6" : "IPv4")}: {datagrams.Count} datagrams in {trains.Length} trains; next hop captured {hex.Count}, " +
            $"TAP captured {UdpLengths(tapPcap).Count} frames (largest UDP length {UdpLengths(tapPcap).DefaultIfEmpty(0).Max()})");
        Assert.Equal(datagrams.Select(d => (d.Length + 8).ToString(CultureInfo.InvariantCulture)), hex.Select(f => f[0]));
        Assert.Equal(datagrams.Select(Convert.ToHexStringLower), hex.Select(f => f[1].Replace(":", "", StringComparison.Ordinal).ToLowerInvariant()));

        // The TAP as the kernel received it: one super-frame per train with USO (UDP length the whole train), else the
        // datagrams; clean either way.
        AssertDissectsCleanly(tapPcap);
        var tapLengths = Tshark("-r", tapPcap, "-Y", "udp.length > 9", "-T", "fields", "-e", "udp.length")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToList();
        var expectedTap = uso ? trains.Select(t => t.Length + 8) : datagrams.Select(d => d.Length + 8);
        Assert.Equal(expectedTap, tapLengths);
    }
}
