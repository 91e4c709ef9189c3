using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;
using NetStack.Tap;
using NetStack.Tap.Receive;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// NetStack.Tap's receive path for floods (issue 13 "Floods") on a real TAP: the kernel SYN filter
/// (<see cref="SynShedFilter"/> attached with TUNATTACHFILTER) drops the kernel's bare SYNs from unproven sources before
/// they are queued and lets everything else, and proven sources' SYNs, through; the receive thread
/// (<see cref="ReceiveThreadDevice"/>) hands the kernel's frames to the loop's side.
/// </summary>
public sealed class ReceiveThreadTapTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private const string Kernel = "192.0.2.1", Ours = "192.0.2.2";

    [SkippableFact]
    public void Kernel_filter_drops_unproven_syns_in_the_kernel_and_passes_the_rest()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        Prepare(ns, tap);

        // Level 16: one unproven SYN in 65,536 kept; the kernel retransmits none within the client's 0.5 s.
        Assert.True(tap.AttachFilter(SynShedFilter.Build(16, [])), $"TUNATTACHFILTER refused: errno {tap.Statistics.LastErrno}");
        SendSyn(ns);
        SendUdp(ns);
        bool sawSyn = false;
        // FIFO: a SYN the filter let through would be read before the datagram sent after it.
        var udp = Receive.Until(tap, f => { sawSyn |= IsSynTo7(f); return IsUdpTo9(f); }, Patience);
        Assert.NotNull(udp);
        Assert.False(sawSyn, "an unproven SYN reached the TAP's queue through the filter");

        // The same source, proven: its SYNs pass.
        Assert.True(tap.AttachFilter(SynShedFilter.Build(16, [Ipv4Address.Parse(Kernel)])));
        SendSyn(ns);
        Assert.NotNull(Receive.Until(tap, IsSynTo7, Patience));

        // Detached: everything passes again.
        Assert.True(tap.AttachFilter(SynShedFilter.Build(16, [])));
        Assert.True(tap.DetachFilter());
        SendSyn(ns);
        Assert.NotNull(Receive.Until(tap, IsSynTo7, Patience));
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public void Receive_thread_hands_the_kernels_frames_to_the_loop_side()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        Prepare(ns, tap);
        var rt = new ReceiveThreadDevice(tap);
        try
        {
            Assert.NotEqual(tap.FileDescriptor, StackHost.WaitDescriptor(rt)); // the loop sleeps on the ring's eventfd
            for (int i = 0; i < 3; i++)
            {
                SendUdp(ns);
                Assert.NotNull(Receive.Until(rt, IsUdpTo9, Patience));
            }
            Assert.True(rt.FramesQueued >= 3, $"{rt.FramesQueued} frames queued");
            Assert.Equal(0, rt.SynsShed);
            Assert.Equal(0, rt.FilterLevel);
        }
        finally
        {
            rt.Dispose(); // stops the thread before the lab closes the TAP
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Loop_driven_kernel_filter_is_raised_under_a_flood_the_reader_cannot_keep_up_with_and_lowered_after()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        var tap = lab.CreateTap(ns);
        Prepare(ns, tap);
        // A reader that takes one frame a millisecond at most (a loop far behind), so 100 unproven SYNs a second count as
        // a flood (10 a window), and 0.5 s of keeping up relaxes the filter.
        var dev = new SynFilterDevice(tap, new SynFilterOptions { FilterMinSynRate = 100, FilterHold = TimeSpan.FromMilliseconds(500) });
        var buffer = new byte[tap.MaxFrameSize];
        try
        {
            Assert.Equal(0, dev.FilterLevel);
            var flood = Flood.FloodLab.StartFlood(lab, ns, tap.Name, tap.HardwareAddress.ToString(), "syn4", Ours, "198.51.100", "20000", "8", "7");
            var floodEnded = flood.WaitAsync();
            bool backlogWhileOn = false, backlogWhileOff = false;
            while (!floodEnded.IsCompleted)
            {
                dev.TryReceive(buffer, StackHost.Now, out _, out _);
                // While the filter is up the stack hears of a backlog (StackHost reports it), never while it is down.
                if (dev.FilterLevel > 0) backlogWhileOn |= dev.Backlog > 0;
                else backlogWhileOff |= dev.Backlog > 0;
                Thread.Sleep(1);
            }
            await floodEnded;
            Assert.True(dev.PeakFilterLevel >= 1, $"the filter was never raised: {dev.OverloadedWindows} overloaded windows, flood: {flood.Text}");
            Assert.True(backlogWhileOn, "no backlog reported while the filter was up");
            Assert.False(backlogWhileOff, "a backlog reported while the filter was down");
            Assert.Equal(0, dev.FilterFailures);

            // The flood is over: the reader drains the TAP and keeps up, and the filter comes down to 0 (detached).
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (dev.FilterLevel > 0 && DateTime.UtcNow < deadline)
            {
                while (dev.TryReceive(buffer, StackHost.Now, out _, out _)) { }
                Thread.Sleep(10);
            }
            Assert.Equal(0, dev.FilterLevel);
            Assert.Equal(0, dev.Backlog);
            // Detached: an unproven SYN reaches the reader again.
            SendSyn(ns);
            Assert.NotNull(Receive.Until(dev, IsSynTo7, Patience));
        }
        finally
        {
            dev.Dispose();
        }
        lab.DisposeAndAssertClean();
    }

    [SkippableFact]
    public async Task Loop_driven_kernel_filter_counts_what_the_kernel_dropped_for_it()
    {
        Root.Require();
        using var lab = new NetnsLab();
        var ns = lab.CreateNamespace();
        // A queue longer than the whole flood (30,000 frames): no frame can find it full, so every TX drop of the TAP is
        // the filter's. The TAP is moved to the lab's namespace: the counter is read there.
        var tap = lab.CreateTap(ns, new TunTapOptions { QueueLength = 65_536 });
        Prepare(ns, tap);
        // A reader that drains the TAP every 10 ms: about 50 SYNs in a row each time, over the backlog limit of 8, so every
        // window of the flood is overloaded and the filter goes up; 0.5 s of keeping up relaxes it.
        var dev = new SynFilterDevice(tap, new SynFilterOptions { FilterMinSynRate = 100, FilterHold = TimeSpan.FromMilliseconds(500), BacklogLimit = 8 });
        var buffer = new byte[tap.MaxFrameSize];
        try
        {
            long before = Flood.FloodLab.TransmitCounters(ns, tap.Name).Dropped;
            var flood = Flood.FloodLab.StartFlood(lab, ns, tap.Name, tap.HardwareAddress.ToString(), "syn4", Ours, "198.51.100", "5000", "6", "7");
            var floodEnded = flood.WaitAsync();
            while (!floodEnded.IsCompleted)
            {
                while (dev.TryReceive(buffer, StackHost.Now, out _, out _)) { }
                Thread.Sleep(10);
            }
            await floodEnded;
            Assert.True(dev.PeakFilterLevel >= 1, $"the filter was never raised: {dev.OverloadedWindows} overloaded windows, flood: {flood.Text}");

            // After the flood the filter comes down to 0 (detached); its count is then final.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (dev.FilterLevel > 0 && DateTime.UtcNow < deadline)
            {
                while (dev.TryReceive(buffer, StackHost.Now, out _, out _)) { }
                Thread.Sleep(10);
            }
            Assert.Equal(0, dev.FilterLevel);
            long kernel = Flood.FloodLab.TransmitCounters(ns, tap.Name).Dropped - before;
            output.WriteLine($"flood: {flood.Text}; filter peak level {dev.PeakFilterLevel}, {dev.FilterUpdates} updates; kernel TX drops {kernel}, FilterDrops {dev.FilterDrops}");
            Assert.True(kernel > 0, $"the kernel dropped nothing; flood: {flood.Text}");
            Assert.Equal(kernel, dev.FilterDrops);
            Assert.Equal(0, dev.FilterFailures);
        }
        finally
        {
            dev.Dispose();
        }
        lab.DisposeAndAssertClean();
    }

    private static void Prepare(string ns, TapDevice tap)
    {
        NetnsLab.Run("ip", "-n", ns, "addr", "add", Kernel + "/24", "dev", tap.Name);
        // A permanent neighbour entry: the kernel sends to us without an ARP exchange the test would have to answer.
        NetnsLab.Run("ip", "-n", ns, "neigh", "replace", Ours, "lladdr", tap.HardwareAddress.ToString(), "dev", tap.Name, "nud", "permanent");
    }

    private static void SendSyn(string ns) => Shell.RunIn(ns,
        $"python3 -c \"import socket; s = socket.socket(); s.settimeout(0.5); s.connect_ex(('{Ours}', 7))\"", TimeSpan.FromSeconds(60));

    private static void SendUdp(string ns) => Shell.RunIn(ns,
        $"python3 -c \"import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('{Ours}', 9))\"", TimeSpan.FromSeconds(60));

    private static bool IsSynTo7(byte[] f) =>
        f.Length >= 54 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 6 && f[14 + (f[14] & 0x0F) * 4 + 3] == 7 && f[14 + (f[14] & 0x0F) * 4 + 13] == 0x02;

    private static bool IsUdpTo9(byte[] f) =>
        f.Length >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 && f[14 + (f[14] & 0x0F) * 4 + 3] == 9;
}
