using NetStack.Transport.Tcp;
using Xunit.Abstractions;

namespace NetStack.Tests.Tcp;

/// <summary>End-to-end transfers between two stacks on a virtual clock with seeded loss, reordering and duplication.</summary>
public sealed class TcpTransferTests(ITestOutputHelper output)
{
    private static BulkTransfer RunOne(ulong seed, PathConditions path, int size, TcpSettings? settings = null, TimeSpan? limit = null)
    {
        var sim = new TcpSimulation(seed, path, settings, settings);
        var t = new BulkTransfer(sim, size);
        bool finished = t.Run(limit ?? TimeSpan.FromMinutes(30));
        Assert.True(finished && t.Intact, $"transfer failed: {t.Describe()} path {path}");
        return t;
    }

    [Fact]
    public void Clean_path_transfers_one_megabyte_intact()
    {
        var t = RunOne(1, new PathConditions(TimeSpan.FromMilliseconds(10)), 1 << 20);
        output.WriteLine(t.Describe());
    }
}

public sealed class TcpTransferProbe(ITestOutputHelper output)
{
    [Theory]
    [InlineData(100, 0.01, 0.0, 32768, 1 << 20)]
    [InlineData(200, 0.10, 0.1, 65536, 1 << 20)]
    [InlineData(1, 0.05, 0.1, 65536, 1 << 20)]
    public void Probe(int rttMs, double loss, double reorder, int buffer, int size)
    {
        var settings = new TcpSettings { SendBufferSize = buffer, ReceiveBufferSize = buffer };
        var sim = new TcpSimulation(42, new PathConditions(TimeSpan.FromMilliseconds(rttMs), loss, reorder, reorder / 10), settings, settings);
        var t = new BulkTransfer(sim, size);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        bool ok = t.Run(TimeSpan.FromHours(1));
        output.WriteLine($"{ok} {t.Intact} {t.Describe()} wall {sw.ElapsedMilliseconds} ms goodput {(t.CompletedAt is { } c ? size / c.TotalSeconds / 1000 : 0):F1} kB/s");
        Assert.True(ok && t.Intact);
    }
}
