using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Tcp;

/// <summary>
/// Loss recovery on a simulated lossy LAN whose receiver acknowledges like the Linux kernel does over a TAP
/// (bench/tcp/lossy.sh): one (stretch) ACK per burst (<see cref="StretchAckDevice"/>), so that one lost ACK stalls a
/// whole flight until the tail loss probe. Two stacks in a <see cref="SimTcpPair"/>, RTT 0.2 ms, 5 % of the frames
/// dropped each way; seeded, virtual time, the seed is in every message. Each transfer is also run with the RFC's single
/// probe and the former 10 ms probe floor, which takes 0.63-0.92 s (and an RTO) where the defaults take 0.30-0.39 s
/// (also `TcpThroughput sim-one SEED 0.2 0.05 default cubic 4194304 stretchack [ptomin=10000 tlps=2]`).
/// </summary>
public sealed class LossyLanSimulationTests(ITestOutputHelper output)
{
    private const int Bytes = 4 << 20;

    private readonly record struct Run(bool Intact, TimeSpan Elapsed, long Timeouts, long Probes, long Coalesced, long AcksSent, string What);

    private static Run Transfer(ulong seed, IpVersion family, TcpSettings settings)
    {
        StretchAckDevice? stretch = null;
        using var pair = new SimTcpPair(seed, family, TimeSpan.FromMicroseconds(100), loss: 0.05, settings,
            wrapB: d => stretch = new StretchAckDevice(d, TimeSpan.FromMicroseconds(100)));
        try
        {
            var o = pair.Transfer(Bytes, TimeSpan.FromMinutes(10));
            var st = pair.TcpA.Stats;
            string what = $"{o.Elapsed.TotalSeconds:0.###} s virtual, {st.Timeouts} RTOs, {st.TailLossProbes} probes, "
                + $"{st.Retransmissions} retransmissions, {stretch!.AcksCoalesced} ACKs coalesced of {stretch.AcksCoalesced + stretch.AcksSent}";
            return new Run(o.Intact, o.Elapsed, st.Timeouts, st.TailLossProbes, stretch.AcksCoalesced, stretch.AcksSent, what);
        }
        finally
        {
            stretch?.Dispose();
        }
    }

    [Theory]
    [InlineData(5UL, IpVersion.V4)]
    [InlineData(10005UL, IpVersion.V4)]
    [InlineData(5UL, IpVersion.V6)]
    [InlineData(10005UL, IpVersion.V6)]
    public void At_5_percent_loss_with_one_ACK_per_burst_probes_keep_the_transfer_fast_and_free_of_timeouts(ulong seed, IpVersion family)
    {
        var run = Transfer(seed, family, new TcpSettings());
        // The same transfer with the RFC's single probe (one more after a lone new segment) and the former 10 ms PTO floor.
        var before = Transfer(seed, family, new TcpSettings { TailLossProbeMinimum = TimeSpan.FromMilliseconds(10), MaxTailLossProbes = 2 });
        string what = $"seed {seed} {family}: {run.What}; with one probe and a 10 ms floor: {before.What}";
        output.WriteLine(what);
        Assert.True(run.Intact && before.Intact, what);
        Assert.True(run.Coalesced > run.AcksSent, what); // the receiver did acknowledge bursts once
        Assert.True(run.Probes > 20, what);              // ... and that made the sender probe
        Assert.True(run.Timeouts <= 1, what);
        Assert.True(run.Elapsed < TimeSpan.FromMilliseconds(500), what);
        Assert.True(run.Elapsed.Ticks < 0.75 * before.Elapsed.Ticks, what);
    }
}
