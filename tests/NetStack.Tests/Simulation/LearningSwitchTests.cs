using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.Tests.Simulation;

public class LearningSwitchTests
{
    private static readonly MacAddress[] Macs = [new(0x02_00_00_00_00_01), new(0x02_00_00_00_00_02), new(0x02_00_00_00_00_03)];

    private sealed class Net
    {
        public readonly Simulator Sim = new(1);
        public readonly LearningSwitch Switch;
        public readonly LinkEndpoint[] Hosts;
        public readonly CounterNode[] Counters;

        public Net(TimeSpan? aging = null, LinkOptions? options = null)
        {
            Switch = new LearningSwitch(aging);
            Sim.AddSwitch("switch", Switch);
            Hosts = Macs.Select(m => Switch.AddPort(m, options)).ToArray();
            Counters = Hosts.Select((h, i) => { var c = new CounterNode(h); Sim.AddNode($"h{i}", c, h); return c; }).ToArray();
        }

        public void Send(int from, MacAddress to, uint seq) =>
            Hosts[from].Transmit(TestFrames.Make(to, Macs[from], 64, seq), Sim.Now);

        public long[] Counts => Counters.Select(c => c.Count).ToArray();
    }

    [Fact]
    public void Unknown_unicast_is_flooded_to_every_other_port()
    {
        var net = new Net();
        net.Send(0, Macs[1], 1);
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([0L, 1L, 1L], net.Counts);
        Assert.Equal(1, net.Switch.Statistics.Flooded);
    }

    [Fact]
    public void Learned_unicast_goes_only_to_the_learned_port()
    {
        var net = new Net();
        net.Send(0, Macs[1], 1);      // switch learns host 0
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        net.Send(1, Macs[0], 2);      // to a known host: forwarded; learns host 1
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        net.Send(0, Macs[1], 3);      // now known too
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([1L, 2L, 1L], net.Counts);
        Assert.Equal(2, net.Switch.Statistics.Forwarded);
        Assert.True(net.Switch.TryLookup(Macs[1], net.Sim.Now, out int port));
        Assert.Equal(1, port);
    }

    [Fact]
    public void Broadcast_is_always_flooded()
    {
        var net = new Net();
        net.Send(1, Macs[0], 1);
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        net.Send(0, MacAddress.Broadcast, 2);
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([1L, 1L, 2L], net.Counts);
    }

    [Fact]
    public void Entries_age_out_and_traffic_is_flooded_again()
    {
        var net = new Net(aging: TimeSpan.FromSeconds(10));
        net.Send(1, Macs[0], 1);
        net.Sim.RunFor(TimeSpan.FromSeconds(9));
        Assert.True(net.Switch.TryLookup(Macs[1], net.Sim.Now, out _));
        net.Sim.RunFor(TimeSpan.FromSeconds(2));
        Assert.False(net.Switch.TryLookup(Macs[1], net.Sim.Now, out _));
        net.Send(0, Macs[1], 2);
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal([1L, 1L, 2L], net.Counts);
    }

    [Fact]
    public void Frame_for_a_host_on_the_incoming_port_is_filtered()
    {
        var net = new Net();
        net.Send(0, Macs[2], 1);                 // learns host 0 on port 0
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        net.Hosts[0].Transmit(TestFrames.Make(Macs[0], Macs[1], 64), net.Sim.Now); // to host 0, from port 0
        net.Sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, net.Switch.Statistics.Filtered);
    }

    [Fact]
    public void Per_port_latency_adds_up_host_to_switch_to_host()
    {
        var net = new Net(options: new LinkOptions { Latency = TimeSpan.FromMilliseconds(2) });
        net.Send(0, Macs[1], 1);
        net.Sim.RunUntil(() => net.Counters[1].Count > 0, Instant.FromSeconds(1));
        Assert.Equal(Instant.FromMilliseconds(4), net.Counters[1].Received[0].At);
    }

    [Fact]
    public void Table_limit_stops_learning_and_counts()
    {
        var sw = new LearningSwitch(tableLimit: 1);
        var sim = new Simulator(1);
        sim.AddSwitch("sw", sw);
        var h0 = sw.AddPort(Macs[0]);
        var h1 = sw.AddPort(Macs[1]);
        h0.Transmit(TestFrames.Make(Macs[2], Macs[0], 64), Instant.Zero);
        h1.Transmit(TestFrames.Make(Macs[2], Macs[1], 64), Instant.Zero);
        sim.RunFor(TimeSpan.FromMilliseconds(1));
        Assert.Equal((1, 1L), (sw.TableCount, sw.Statistics.TableFull));
    }
}
