using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

public class FrameTapTests
{
    private static readonly MacAddress MacA = new(0x02_00_00_00_00_01), MacB = new(0x02_00_00_00_00_02), MacC = new(0x02_00_00_00_00_03);

    [Fact]
    public void A_tap_injects_into_the_node_and_captures_what_it_sends_back_after_the_links_latency()
    {
        var sim = new Simulator(1, Instant.FromSeconds(1));
        using var link = InMemoryLink.Ethernet(MacA, MacB, new LinkOptions { Latency = TimeSpan.FromMilliseconds(5) });
        var echo = new EchoNode(link.A);
        sim.AddNode("echo", echo, link.A);
        var tap = sim.AddTap("peer", link.B);

        tap.Inject(TestFrames.Make(MacA, MacB, 64, 7), sim.Now);
        sim.RunFor(TimeSpan.FromMilliseconds(9));
        Assert.Empty(tap.Captured); // 5 ms there, 5 ms back
        sim.RunFor(TimeSpan.FromMilliseconds(1));

        var got = Assert.Single(tap.Captured);
        Assert.Equal(Instant.FromSeconds(1) + TimeSpan.FromMilliseconds(10), got.Timestamp);
        Assert.Equal(7u, TestFrames.Sequence(got.Data));
        Assert.Equal(MacB, EthernetFrame.TryParse(got.Data, out var eth, out _) ? eth.Destination : default);
        Assert.Equal(1, echo.Echoed);
        Assert.Equal(7u, TestFrames.Sequence(Assert.Single(tap.Take())));
        Assert.Empty(tap.Captured);
        Assert.Equal(1, tap.CapturedTotal);
    }

    [Fact]
    public void A_mirror_port_sees_every_frame_the_switch_receives_and_is_never_forwarded_to()
    {
        var sim = new Simulator(1);
        var sw = new LearningSwitch();
        sim.AddSwitch("switch", sw);
        var monitor = sim.AddTap("monitor", sw.AddMirrorPort());
        var a = sim.AddTap("a", sw.AddPort(MacA));
        var b = sim.AddTap("b", sw.AddPort(MacB));
        var c = sim.AddTap("c", sw.AddPort(MacC));

        a.Inject(TestFrames.Make(MacB, MacA, 64, 1), sim.Now);            // unknown: flooded to b and c
        b.Inject(TestFrames.Make(MacA, MacB, 64, 2), sim.Now);            // learned: to a only
        c.Inject(TestFrames.Make(MacBroadcast, MacC, 64, 3), sim.Now);    // broadcast: to a and b
        c.Inject([1, 2, 3], sim.Now);                                     // malformed: dropped, still mirrored
        sim.RunFor(TimeSpan.FromMilliseconds(1));

        Assert.Equal(4, monitor.Captured.Count);
        Assert.Equal([1u, 2u, 3u], monitor.Captured.Take(3).Select(f => TestFrames.Sequence(f.Data)));
        Assert.Equal(4, sw.Statistics.Mirrored);
        Assert.Equal([2u, 3u], a.Take().Select(f => TestFrames.Sequence(f)));
        Assert.Equal([1u, 3u], b.Take().Select(f => TestFrames.Sequence(f)));
        Assert.Equal([1u], c.Take().Select(f => TestFrames.Sequence(f)));
        Assert.Equal(3, sw.Ports.Count); // the mirror is not a forwarding port
    }

    private static readonly MacAddress MacBroadcast = MacAddress.Broadcast;
}
