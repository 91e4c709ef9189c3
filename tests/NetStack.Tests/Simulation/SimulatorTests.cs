using System.Diagnostics;
using NetStack.Link;
using NetStack.Simulation;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Tests.Simulation;

public class SimulatorTests(ITestOutputHelper output)
{
    private static readonly MacAddress A = new(0x02_00_00_00_00_0A);
    private static readonly MacAddress B = new(0x02_00_00_00_00_0B);

    /// <summary>Sends one frame at the first poll and records when the answer comes back.</summary>
    private sealed class PingNode(INetDevice device, MacAddress peer) : IPollable
    {
        private readonly byte[] _buffer = new byte[device.MaxFrameSize];
        private bool _sent;
        public Instant? RepliedAt { get; private set; }

        public Instant Poll(Instant now)
        {
            if (!_sent) { device.Transmit(TestFrames.Make(peer, device.HardwareAddress, 100), now); _sent = true; }
            if (device.TryReceive(_buffer, now, out _)) RepliedAt = now;
            return Instant.MaxValue;
        }
    }

    [Fact]
    public void Echo_over_a_link_returns_after_exactly_two_latencies_and_time_jumps_there()
    {
        var sim = new Simulator(1);
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(25) });
        var ping = new PingNode(link.A, B);
        sim.AddNode("ping", ping, link.A);
        sim.AddNode("echo", new EchoNode(link.B), link.B);
        Assert.True(sim.RunUntil(() => ping.RepliedAt is not null, Instant.FromSeconds(10)));
        Assert.Equal(Instant.FromMilliseconds(50), ping.RepliedAt);
        Assert.Equal(Instant.FromMilliseconds(50), sim.Now);
        Assert.Equal(3, sim.Steps); // t=0, 25 ms, 50 ms: nothing in between
    }

    [Fact]
    public void Delayed_frames_in_a_fault_injector_wake_the_scheduler_exactly_when_due()
    {
        var sim = new Simulator(1);
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(1) });
        var slowOut = new FaultInjector(link.A, sim.Random, transmit: new FaultProfile { Delay = TimeSpan.FromMilliseconds(5) });
        var slowIn = new FaultInjector(link.B, sim.Random, receive: new FaultProfile { Delay = TimeSpan.FromMilliseconds(3) });
        var ping = new PingNode(slowOut, B);
        sim.AddNode("ping", ping, slowOut);
        sim.AddNode("echo", new EchoNode(slowIn), slowIn);
        Assert.True(sim.RunUntil(() => ping.RepliedAt is not null, Instant.FromSeconds(1)));
        // out: 5 ms held + 1 ms wire + 3 ms held on receipt; back: 1 ms wire.
        Assert.Equal(Instant.FromMilliseconds(10), ping.RepliedAt);
    }

    [Fact]
    public void RunFor_moves_time_even_when_the_network_is_idle()
    {
        var sim = new Simulator(1, Instant.FromSeconds(100));
        sim.RunFor(TimeSpan.FromSeconds(5));
        Assert.Equal(Instant.FromSeconds(105), sim.Now);
        Assert.False(sim.RunUntil(() => false, Instant.FromSeconds(110)));
        Assert.Equal(Instant.FromSeconds(110), sim.Now);
    }

    [Fact]
    public void Nodes_are_polled_only_at_their_deadlines_and_arrivals()
    {
        var sim = new Simulator(1);
        var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(1) });
        var chatty = new ChattyNode(link.A, B, TimeSpan.FromSeconds(1));
        var counter = new CounterNode(link.B);
        var n1 = sim.AddNode("chatty", chatty, link.A);
        var n2 = sim.AddNode("counter", counter, link.B);
        sim.RunUntil(Instant.FromSeconds(10) + TimeSpan.FromMilliseconds(500));
        Assert.Equal(11, chatty.Sent);           // t = 0 .. 10 s
        Assert.Equal(11, n1.Polls);
        Assert.Equal(12, n2.Polls);              // first run + 11 arrivals
        Assert.Equal(Enumerable.Range(0, 11).Select(i => Instant.FromMilliseconds(i * 1000 + 1)), counter.Received.Select(r => r.At));
    }

    [Fact]
    public void Same_seed_gives_the_same_run_with_faults_and_jitter()
    {
        List<(Instant, uint, int)> Run(ulong seed)
        {
            var sim = new Simulator(seed);
            var link = InMemoryLink.Ethernet(A, B, new LinkOptions { Latency = TimeSpan.FromMilliseconds(1), BitsPerSecond = 10_000_000 });
            var faulty = new FaultInjector(link.A, sim.Random, transmit: new FaultProfile
            {
                DropRate = 0.1, DuplicateRate = 0.05, ReorderRate = 0.05, Jitter = TimeSpan.FromMilliseconds(3),
            });
            var counter = new CounterNode(link.B);
            sim.AddNode("chatty", new ChattyNode(faulty, B, TimeSpan.FromMilliseconds(2)), faulty);
            sim.AddNode("counter", counter, link.B);
            sim.RunFor(TimeSpan.FromSeconds(5));
            return counter.Received;
        }
        var first = Run(99);
        output.WriteLine($"seed 99: {first.Count} frames");
        Assert.Equal(first, Run(99));
        Assert.NotEqual(first, Run(100));
    }

    [Fact]
    public void A_node_that_always_wants_polling_now_is_reported_as_a_livelock_with_the_seed()
    {
        var sim = new Simulator(1234) { MaxPollsPerInstant = 100 };
        sim.AddNode("busy", new BusyNode());
        var e = Assert.Throws<InvalidOperationException>(() => sim.RunFor(TimeSpan.FromSeconds(1)));
        Assert.Contains("seed 1234", e.Message, StringComparison.Ordinal);
    }

    private sealed class BusyNode : IPollable
    {
        public Instant Poll(Instant now) => now;
    }

    [Fact]
    public void Thousand_simulated_seconds_of_chatty_nodes_run_in_a_small_fraction_of_real_time()
    {
        const ulong seed = 5;
        output.WriteLine($"seed {seed}");
        TimeSpan cpu = default;
        (long Frames, TimeSpan Elapsed) Run()
        {
            var sim = new Simulator(seed);
            var sw = new LearningSwitch();
            sim.AddSwitch("switch", sw);
            var macs = Enumerable.Range(1, 4).Select(i => new MacAddress(0x02_00_00_00_00_00UL + (ulong)i)).ToArray();
            var nodes = new List<ChattyNode>();
            for (int i = 0; i < macs.Length; i++)
            {
                var port = sw.AddPort(macs[i], new LinkOptions { Latency = TimeSpan.FromMilliseconds(1 + i), BitsPerSecond = 100_000_000 });
                var node = new ChattyNode(port, macs[(i + 1) % macs.Length], TimeSpan.FromMilliseconds(50 + 10 * i));
                nodes.Add(node);
                sim.AddNode($"n{i}", node, port);
            }
            long cpuBefore = ThreadCpuNanoseconds();
            var watch = Stopwatch.StartNew();
            sim.RunFor(TimeSpan.FromSeconds(1000));
            watch.Stop();
            cpu = TimeSpan.FromTicks((ThreadCpuNanoseconds() - cpuBefore) / 100);
            Assert.Equal(Instant.FromSeconds(1000), sim.Now);
            Assert.True(nodes.All(n => n.Received > 10_000));
            return (nodes.Sum(n => n.Sent), watch.Elapsed);
        }
        Run(); // JIT warm-up
        var (frames, elapsed) = Run();
        output.WriteLine($"{frames} frames over 1000 simulated s in {elapsed.TotalMilliseconds:F1} ms wall, {cpu.TotalMilliseconds:F1} ms CPU");
        // The machine is shared by many processes (load far above its 2 cores), so wall time measures the
        // neighbours as much as us: the bound is on the CPU time of this thread. What it proves is that virtual time
        // never waits for real time (1000 s simulated in under 1 % of that); how fast the simulator is belongs to a
        // benchmark. A 1 s bound failed a clean-clone run at 1024 ms while the interop suite ran beside it.
        Assert.True(cpu < TimeSpan.FromSeconds(10), $"{cpu.TotalMilliseconds} ms CPU ({elapsed.TotalMilliseconds} ms wall)");
    }

    /// <summary>CPU time this thread has used (Linux /proc/thread-self/schedstat, first field, nanoseconds).</summary>
    private static long ThreadCpuNanoseconds()
    {
        var text = File.ReadAllText("/proc/thread-self/schedstat");
        return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), System.Globalization.CultureInfo.InvariantCulture);
    }
}
