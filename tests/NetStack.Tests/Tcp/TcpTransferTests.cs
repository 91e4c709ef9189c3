using NetStack.Transport.Tcp;
using Xunit.Abstractions;

namespace NetStack.Tests.Tcp;

/// <summary>
/// End-to-end transfers between two stacks on a virtual clock with seeded loss, reordering and
/// duplication: every transfer must complete, intact, and close. The seed is in every failure message.
/// </summary>
public sealed class TcpTransferTests(ITestOutputHelper output)
{
    private static BulkTransfer RunOne(ulong seed, PathConditions path, int size, TcpSettings? settings = null, bool ipv6 = false)
    {
        var sim = new TcpSimulation(seed, path, settings, settings, ipv6);
        var t = new BulkTransfer(sim, size);
        bool finished = t.Run(TimeSpan.FromHours(2));
        Assert.True(finished && t.Intact, $"transfer failed: {t.Describe()} path {path}");
        return t;
    }

    public static TheoryData<int, double, double, ulong> Grid()
    {
        var data = new TheoryData<int, double, double, ulong>();
        ulong seed = 1;
        foreach (int rtt in new[] { 1, 10, 50, 200 })
            foreach (double loss in new[] { 0, 0.01, 0.05, 0.10 })
                foreach (double reorder in new[] { 0, 0.05 })
                    for (int i = 0; i < 3; i++)
                        data.Add(rtt, loss, reorder, seed++);
        return data;
    }

    [Theory]
    [MemberData(nameof(Grid))]
    public void Transfer_completes_intact_over_the_grid(int rttMs, double loss, double reorder, ulong seed)
    {
        var path = new PathConditions(TimeSpan.FromMilliseconds(rttMs), loss, reorder, Duplicate: reorder / 5);
        var t = RunOne(seed, path, 1 << 20);
        output.WriteLine(t.Describe());
    }

    [Theory]
    [InlineData(CongestionAlgorithm.NewReno)]
    [InlineData(CongestionAlgorithm.Cubic)]
    public void Many_seeds_with_loss_reordering_and_duplication_all_complete(CongestionAlgorithm algorithm)
    {
        var settings = new TcpSettings { Congestion = algorithm };
        for (ulong seed = 100; seed < 150; seed++)
            RunOne(seed, new PathConditions(TimeSpan.FromMilliseconds(20), 0.03, 0.05, 0.01), 128 * 1024, settings);
    }

    [Fact]
    public void Ten_megabytes_cross_a_lossy_path_intact()
    {
        var settings = new TcpSettings { SendBufferSize = 256 * 1024, ReceiveBufferSize = 256 * 1024 };
        var t = RunOne(7, new PathConditions(TimeSpan.FromMilliseconds(10), 0.01, 0.01), 10 << 20, settings);
        output.WriteLine(t.Describe());
    }

    [Fact]
    public void Transfer_over_IPv6_completes_intact()
    {
        var t = RunOne(13, new PathConditions(TimeSpan.FromMilliseconds(20), 0.02, 0.02, 0.01), 1 << 20, ipv6: true);
        Assert.Equal(1500 - 40 - 20 - 12, t.Client.SendMss); // RFC 8200 §5 path MTU, minus IPv6, TCP and timestamps
    }

    [Fact]
    public void Transfer_without_SACK_timestamps_or_window_scaling_completes()
    {
        var settings = new TcpSettings { Sack = false, Timestamps = false, WindowScaling = false };
        RunOne(9, new PathConditions(TimeSpan.FromMilliseconds(30), 0.05, 0.05), 256 * 1024, settings);
    }

    [Fact]
    public void Tiny_buffers_and_MTU_still_complete()
    {
        var settings = new TcpSettings { SendBufferSize = 1000, ReceiveBufferSize = 700 };
        RunOne(11, new PathConditions(TimeSpan.FromMilliseconds(5), 0.05, 0.05, 0.01, Mtu: 576), 64 * 1024, settings);
    }

    [Fact]
    public void Goodput_at_100ms_RTT_1_percent_loss_32KB_buffers_is_window_limited()
    {
        // smoltcp publishes about 220 kB/s for this setting; the window limit is 32 KB / 100 ms = 320 kB/s.
        var settings = new TcpSettings { SendBufferSize = 32 * 1024, ReceiveBufferSize = 32 * 1024 };
        const int size = 2 << 20;
        double total = 0;
        const int seeds = 5;
        for (ulong seed = 1; seed <= seeds; seed++)
        {
            var t = RunOne(seed, new PathConditions(TimeSpan.FromMilliseconds(100), 0.01), size, settings);
            double kbps = size / t.CompletedAt!.Value.TotalSeconds / 1000;
            output.WriteLine($"seed {seed}: {kbps:F0} kB/s; {t.Describe()}");
            total += kbps;
        }
        output.WriteLine($"mean goodput {total / seeds:F0} kB/s");
        Assert.True(total / seeds > 150, $"goodput {total / seeds:F0} kB/s");
    }
}
