using NetStack.Interop.Tests.Support;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Tap;

/// <summary>A pcap live device on our end of a veth pair whose other end is in a namespace.</summary>
public sealed class PcapLiveDeviceTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);

    [SkippableFact]
    public void Sees_a_frame_sent_from_the_other_end_of_the_veth()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var (ours, theirs) = lab.CreateVethPair(null, ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", theirs);
        using var device = new PcapLiveDevice(ours);

        lab.StartIn(ns, "ping", "-n", "-c", "2", "-W", "1", "192.0.2.9"); // makes the kernel ARP for 192.0.2.9

        var request = Receive.Until(device, f => TestFrames.ParseArp(f) is { Op: TestFrames.ArpRequest } a && a.Tpa == Ipv4Address.Parse("192.0.2.9"), Patience);
        Assert.NotNull(request);
        Assert.Equal(NetnsLab.MacOf(ns, theirs), TestFrames.ParseArp(request)!.Value.Sha);
        device.Dispose();
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Frames_we_send_reach_the_kernel_and_only_its_reply_comes_back()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var (ours, theirs) = lab.CreateVethPair(null, ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", theirs);
        var mac = MacAddress.Parse("02:00:5e:00:53:02");
        using var device = new PcapLiveDevice(ours, mac);
        var us = Ipv4Address.Parse("192.0.2.2");
        var kernel = Ipv4Address.Parse("192.0.2.1");

        device.Transmit(TestFrames.ArpRequestFor(mac, us, kernel), StackHost.Now);

        var seen = new List<byte[]>();
        var reply = Receive.Until(device, f => { seen.Add(f); return TestFrames.ParseArp(f) is { Op: TestFrames.ArpReply } a && a.Spa == kernel; }, Patience);
        Assert.NotNull(reply);
        Assert.Equal(mac, TestFrames.ParseArp(reply)!.Value.Tha);
        // Our own request is never handed back to us as if it had been received.
        Assert.DoesNotContain(seen, f => TestFrames.ParseArp(f) is { Op: TestFrames.ArpRequest } a && a.Sha == mac);
        Assert.Equal(0, device.TransmitDrops);
        device.Dispose();
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task A_captured_frame_wakes_a_StackHost_through_the_pcap_descriptor()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var (ours, theirs) = lab.CreateVethPair(null, ns);
        NetnsLab.Run("ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", theirs);
        using var device = new PcapLiveDevice(ours);
        Assert.True(device.FileDescriptor >= 0);
        var node = new RecordingNode(device);
        // A fallback interval far beyond the test's patience: only the descriptor can wake the loop in time.
        await using (var host = new StackHost(node, [device], options: new StackHostOptions { FallbackPollInterval = TimeSpan.FromMinutes(1) }))
        {
            host.Start();
            await host.InvokeAsync(() => { });
            lab.StartIn(ns, "ping", "-n", "-c", "2", "-W", "1", "192.0.2.9");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!node.Frames.Any(f => TestFrames.ParseArp(f) is { Op: TestFrames.ArpRequest }) && clock.Elapsed < Patience) await Task.Delay(10);
            Assert.Contains(node.Frames, f => TestFrames.ParseArp(f) is { Op: TestFrames.ArpRequest });
        }
        device.Dispose();
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Opening_a_missing_interface_says_not_found()
    {
        Root.Require();
        string name = NetnsLab.NewLinkName('m');
        var ex = Assert.Throws<TapException>(() => new PcapLiveDevice(name));
        Assert.Equal(TapErrorKind.NotFound, ex.Kind);
        Assert.Equal($"pcap: interface '{name}' not found", ex.Message);
    }
}
