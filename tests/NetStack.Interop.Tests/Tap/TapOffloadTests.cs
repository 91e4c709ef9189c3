using System.Globalization;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// TAP offloads (issue 12 item 1) against this machine's kernel: IFF_VNET_HDR + TUNSETOFFLOAD negotiated, the kernel's
/// TCP super-frames (GSO) received as single segments with their partial checksums, data intact, both families; and the
/// same TAP behind a recorder and a fault injector (issue 11 item 5) still waited on by its descriptor with its offloads.
/// </summary>
[Collection("netstackd")]
public sealed class TapOffloadTests(ITestOutputHelper output) : TapFileTest("tap-offload-")
{
    [SkippableFact]
    public void Offloads_are_negotiated_by_default_and_described_by_the_capabilities()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var log = new ListLogger();
        var tap = lab.CreateTap(ns, new TunTapOptions { Logger = log });
        output.WriteLine($"offloads {tap.Offloads}, refused {tap.RefusedOffloads}, header {tap.VirtioHeaderSize} bytes");
        foreach (var e in log.Entries) output.WriteLine($"{e.Level}: {e.Message}");
        Assert.Equal(TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6, tap.Offloads & (TunOffloads.Checksum | TunOffloads.Tso4 | TunOffloads.Tso6));
        Assert.Equal(TunOffloads.Default, tap.Offloads | tap.RefusedOffloads); // every flag asked was either taken or refused (and logged)
        Assert.Equal(VirtioNetHeader.MergeableLength, tap.VirtioHeaderSize);
        var caps = ((INetDevice)tap).Capabilities;
        Assert.True(caps.Has(DeviceOffloads.ReceiveChecksum | DeviceOffloads.ReceiveTcp4 | DeviceOffloads.ReceiveTcp6));
        Assert.Equal(TunTapDevice.GsoMaxSize, caps.GsoMaxSize);
        Assert.True(caps.MaxFrameSize >= TunTapDevice.GsoMaxSize + 14);
        Assert.Equal(tap.FileDescriptor, caps.WaitHandle.FileDescriptor);
        Assert.Same(tap.Statistics, caps.Statistics);
        Assert.Contains(log.Entries, e => e.Message.Contains("virtio-net header of 12 bytes", StringComparison.Ordinal));
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Offloads_none_opens_a_plain_TAP()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns, new TunTapOptions { Offloads = TunOffloads.None });
        Assert.Equal(TunOffloads.None, tap.Offloads);
        Assert.Equal(0, tap.VirtioHeaderSize);
        Assert.Equal(tap.Mtu + 22, tap.MaxFrameSize);
        Assert.Equal(DeviceOffloads.None, ((INetDevice)tap).Capabilities.Offloads);
        lab.DisposeAndAssertClean();
    }

    private static Task<TapStackLab> Start(TunOffloads offloads, bool decorated, string? record = null) =>
        TapStackLab.StartAsync(new NetstackdStackOptions
        {
            Seed = 5,
            Faults = decorated ? new FaultProfile() : null, // the injector in the chain, injecting nothing
            Record = decorated ? File.Create(record!) : null,
            Tcp = new Transport.Tcp.TcpSettings { ReceiveBufferSize = 1 << 20 },
        }, new TunTapOptions { Offloads = offloads });

    /// <summary>The kernel (socat) sends a file to our client over the TAP; returns bytes and elapsed time after checking the hash.</summary>
    private async Task<(long Bytes, TimeSpan Elapsed)> Download(TapStackLab s, bool ipv6, int megabytes, int port)
    {
        long size = megabytes * 1_000_000L;
        var source = Path.Combine(Dir, $"source-{port}.bin");
        string expected = TapStackLab.WriteRandomFile(source, size);
        var (total, sha256, elapsed) = await s.DownloadFromKernel(source, ipv6, port);
        Assert.Equal(size, total);
        Assert.Equal(expected, sha256);
        return (total, elapsed);
    }

    public static TheoryData<bool, bool> Cases => new() { { false, true }, { true, true }, { false, false }, { true, false } };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public async Task Kernel_to_NetStack_bulk_TCP_arrives_intact_in_super_frames_when_offloads_are_on(bool ipv6, bool offloads)
    {
        Root.Require();
        await using var s = await Start(offloads ? TunOffloads.Default : TunOffloads.None, decorated: false);
        var (bytes, elapsed) = await Download(s, ipv6, Math.Min(Shell.TransferMegabytes, 64), 9100);
        var st = s.Stack.Stack.Statistics;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(ipv6 ? "IPv6" : "IPv4")} offloads {(offloads ? "on" : "off")}: {bytes / 1e6:F0} MB in {elapsed.TotalSeconds:F2} s = {bytes * 8 / elapsed.TotalSeconds / 1e6:F0} Mbit/s; " +
            $"frames {st.FramesReceived}, super-frames {st.SuperFramesReceived} (TAP {s.Tap.Statistics.SuperFramesReceived}), checksum offloaded {st.ChecksumOffloadedFrames}, TCP segments {s.Stack.Tcp.Stats.SegmentsReceived}"));
        if (offloads)
        {
            Assert.True(st.SuperFramesReceived > 0, "no super-frame arrived although TSO was negotiated");
            Assert.Equal(s.Tap.Statistics.SuperFramesReceived, st.SuperFramesReceived);
            Assert.True(st.ChecksumOffloadedFrames > 0);
            // Fewer frames than a 1500-byte MTU would need: each super-frame was one segment to TCP.
            Assert.True(st.FramesReceived < bytes / 1448, $"{st.FramesReceived} frames for {bytes} bytes");
        }
        else
        {
            Assert.Equal(0, st.SuperFramesReceived);
            Assert.Equal(0, st.ChecksumOffloadedFrames);
        }
        foreach (var reason in Enum.GetValues<DropReason>().Where(r => r.ToString().StartsWith("Offload", StringComparison.Ordinal)))
            Assert.Equal(0, st.Drops(reason));
    }

    [SkippableFact]
    public async Task A_TAP_behind_a_recorder_and_a_fault_injector_is_waited_on_by_descriptor_and_keeps_its_offloads()
    {
        Root.Require();
        var pcap = Path.Combine(Dir, "chain.pcap");
        await using var s = await Start(TunOffloads.Default, decorated: true, record: pcap);
        INetDevice chain = s.Stack.Recorder!;
        Assert.NotNull(s.Stack.Recorder);
        Assert.Same(s.Stack.Faults, chain.Find<FaultInjector>());
        Assert.Same(s.Tap, chain.Find<TapDevice>());
        Assert.Equal(((INetDevice)s.Tap).Capabilities.Offloads, chain.Capabilities.Offloads);
        // The loop sleeps on a descriptor through the whole chain: the TAP's own, or, with netstackd's receive thread
        // (its default) under the decorators, the eventfd the thread rings.
        var sleepsOn = s.Stack.ReceiveThread is { } rt ? StackHost.WaitDescriptor(rt) : s.Tap.FileDescriptor;
        Assert.True(sleepsOn >= 0);
        Assert.Equal(sleepsOn, StackHost.WaitDescriptor(chain));
        Assert.False(s.Stack.Host.PollsOnInterval); // no 1 ms polling: the loop sleeps on the TAP's descriptor
        Assert.Equal(s.Tap.MaxFrameSize, s.Stack.Interface.Device.MaxFrameSize);

        var (bytes, _) = await Download(s, ipv6: false, 8, 9101);
        Assert.True(s.Stack.Stack.Statistics.SuperFramesReceived > 0);

        // Idle, the loop wakes for timers only: far fewer turns than the 1,000 a second of interval polling.
        await Task.Delay(500);
        long before = s.Stack.Host.Turns;
        await Task.Delay(1000);
        long turns = s.Stack.Host.Turns - before;
        output.WriteLine($"{bytes} bytes through the chain; idle turns in 1 s: {turns}");
        Assert.True(turns < 100, $"{turns} loop turns in an idle second");
    }
}
