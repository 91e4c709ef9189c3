using System.Runtime.CompilerServices;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.TestKit;

/// <summary>
/// Several stacks on switched Ethernet segments in the library's <see cref="Simulator"/> (virtual time from 1 s): each
/// stack is a <see cref="SimulatedNode"/>, each segment a <see cref="LearningSwitch"/> whose mirror port feeds a
/// <see cref="FrameTap"/> that logs every frame put on the segment (<see cref="SimSegment.Log"/>). Each stack draws
/// from its own <see cref="SeededRandom"/>(seed), so a test's stacks do not perturb each other's randomness.
/// </summary>
internal sealed class SimLan : IDisposable
{
    private readonly ConditionalWeakTable<NetworkStack, List<INetDevice>> _devices = [];
    private readonly List<NetworkStack> _stacks = [];
    private readonly List<SimSegment> _segments = [];

    public SimLan(ulong seed = 1, Instant? start = null) => Sim = new Simulator(seed, start ?? Instant.FromSeconds(1));

    public Simulator Sim { get; }
    public Instant Now => Sim.Now;
    public IReadOnlyList<NetworkStack> Stacks => _stacks;
    public IReadOnlyList<SimSegment> Segments => _segments;

    /// <summary>02:00:00:00:00:<paramref name="n"/> (locally administered).</summary>
    public static MacAddress Mac(int n) => new(0x0200_0000_0000UL | (uint)n);

    /// <summary>A stack polled by the simulator, randomness from <see cref="SeededRandom"/>(<paramref name="seed"/>).</summary>
    public NetworkStack AddStack(ulong seed, StackOptions? options = null)
    {
        var stack = new NetworkStack(options ?? new StackOptions(), new SeededRandom(seed));
        var devices = new List<INetDevice>();
        _devices.Add(stack, devices);
        _stacks.Add(stack);
        Sim.AddNode($"stack{_stacks.Count}", stack, devices); // the list is watched live: ports join it below
        return stack;
    }

    /// <summary>A new switched segment with a monitor on its mirror port.</summary>
    public SimSegment AddSegment()
    {
        var sw = new LearningSwitch();
        var name = $"segment{_segments.Count + 1}";
        Sim.AddSwitch(name, sw);
        var monitor = Sim.AddTap(name + "-monitor", sw.AddMirrorPort(new LinkOptions { Mtu = 65_535 }));
        var segment = new SimSegment(this, sw, monitor);
        _segments.Add(segment);
        return segment;
    }

    /// <summary>Plugs <paramref name="stack"/> into <paramref name="segment"/> with <paramref name="mac"/>; returns the device to give <see cref="NetworkStack.AddInterface"/>.</summary>
    public LinkEndpoint Port(NetworkStack stack, SimSegment segment, MacAddress mac, int mtu = 1500)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (!_devices.TryGetValue(stack, out var devices)) throw new ArgumentException("The stack was not made by this SimLan.", nameof(stack));
        var end = segment.AddPort(mac, mtu);
        devices.Add(end);
        return end;
    }

    /// <summary>Plugs <paramref name="stack"/> into <paramref name="segment"/> and adds the interface (IPv4 off unless <paramref name="config"/> says otherwise).</summary>
    public NetworkInterface Attach(NetworkStack stack, SimSegment segment, int macId, InterfaceConfig? config = null, int mtu = 1500) =>
        stack.AddInterface(Port(stack, segment, Mac(macId), mtu), config ?? new InterfaceConfig { EnableIpv4 = false }, Now);

    /// <summary>A test-played peer on <paramref name="segment"/>: a tap that injects frames and captures what the switch sends it.</summary>
    public FrameTap Peer(SimSegment segment, MacAddress mac, int mtu = 1500)
    {
        ArgumentNullException.ThrowIfNull(segment);
        return Sim.AddTap($"peer {mac}", segment.AddPort(mac, mtu));
    }

    /// <summary>
    /// Runs every event for <paramref name="duration"/> of virtual time. Every stack is polled first: the test may have
    /// changed one from outside a poll (a send, a join), and the simulator must learn its new deadline.
    /// </summary>
    public void Run(TimeSpan duration) => RunUntil(Sim.Now + duration);

    /// <summary>Runs every event up to and including <paramref name="end"/> (every stack polled first, as in <see cref="Run"/>).</summary>
    public void RunUntil(Instant end)
    {
        foreach (var s in _stacks) Sim.Wake(s);
        Sim.RunUntil(end);
    }

    /// <summary>Polls every stack now and runs what is then due (frames sent outside a poll reach their receivers and the monitors).</summary>
    public void Settle() => RunUntil(Sim.Now);

    public void Dispose()
    {
        foreach (var s in _segments) s.Switch.Dispose();
    }
}

/// <summary>A frame seen on a segment, with the port it came from when that port is one of <see cref="SimSegment.Devices"/>.</summary>
internal readonly record struct SegmentFrame(LinkEndpoint? From, byte[] Frame);

/// <summary>One switched Ethernet segment of a <see cref="SimLan"/>.</summary>
internal sealed class SimSegment
{
    private readonly SimLan _lan;
    private readonly List<LinkEndpoint> _devices = [];
    private readonly List<SegmentFrame> _log = [];

    internal SimSegment(SimLan lan, LearningSwitch sw, FrameTap monitor)
    {
        _lan = lan;
        Switch = sw;
        Monitor = monitor;
    }

    public LearningSwitch Switch { get; }

    /// <summary>The tap on the switch's mirror port.</summary>
    public FrameTap Monitor { get; }

    /// <summary>The host ends of the segment's ports, in the order they were added.</summary>
    public IReadOnlyList<LinkEndpoint> Devices => _devices;

    /// <summary>
    /// Every frame put on the segment so far, in the order the switch received them, with its sender (matched by
    /// source MAC; null for a frame from no port of <see cref="Devices"/>). Reading it first runs what is due now, so
    /// a frame a stack sent outside a poll is in it. The list may be cleared by the test.
    /// </summary>
    public List<SegmentFrame> Log
    {
        get
        {
            _lan.Settle();
            foreach (var f in Monitor.Take()) _log.Add(new SegmentFrame(Sender(f), f));
            return _log;
        }
    }

    /// <summary>The frames <paramref name="from"/> put on the segment (see <see cref="Log"/>).</summary>
    public List<byte[]> SentBy(LinkEndpoint from) => [.. Log.Where(e => e.From == from).Select(e => e.Frame)];

    internal LinkEndpoint AddPort(MacAddress mac, int mtu)
    {
        var end = Switch.AddPort(mac, new LinkOptions { Mtu = mtu });
        _devices.Add(end);
        return end;
    }

    private LinkEndpoint? Sender(byte[] frame)
    {
        if (!EthernetFrame.TryParse(frame, out var eth, out _)) return null;
        foreach (var d in _devices) if (d.HardwareAddress == eth.Source) return d;
        return null;
    }
}
