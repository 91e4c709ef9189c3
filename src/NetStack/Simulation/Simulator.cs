using NetStack.Link;

namespace NetStack.Simulation;

/// <summary>
/// A discrete-event, virtual-time scheduler for networks of sans-IO nodes. Time jumps straight to the next
/// event: the earliest of every node's poll deadline and every pending frame arrival on its
/// <see cref="ITimedDevice"/> devices. At each instant it polls exactly the nodes that are due, in registration
/// order, and repeats until no node is due at that instant; then time moves on. Nothing reads a real clock.
/// <para>
/// Deterministic: the same nodes, registered in the same order, with randomness drawn from <see cref="Random"/>
/// (seeded by <see cref="Seed"/>), produce the same run. Tests should print <see cref="Seed"/> on failure.
/// </para>
/// </summary>
public sealed class Simulator
{
    private readonly List<SimulatedNode> _nodes = [];

    /// <summary>A network whose randomness all comes from <see cref="SeededRandom"/>(<paramref name="seed"/>), starting at <paramref name="start"/>.</summary>
    public Simulator(ulong seed, Instant start = default)
    {
        Seed = seed;
        Random = new SeededRandom(seed);
        Now = start;
    }

    /// <summary>The seed of the simulation's randomness (printed on failure to replay the run).</summary>
    public ulong Seed { get; }

    /// <summary>The one random source every component of the simulation should draw from.</summary>
    public IRandomSource Random { get; }

    /// <summary>The current virtual time.</summary>
    public Instant Now { get; private set; }

    /// <summary>Most polls allowed at one instant before the run is declared a livelock (a node asking to be polled "now" forever).</summary>
    public int MaxPollsPerInstant { get; set; } = 1_000_000;

    /// <summary>The nodes, in the order they were added.</summary>
    public IReadOnlyList<SimulatedNode> Nodes => _nodes;

    /// <summary>Total polls made.</summary>
    public long Polls { get; private set; }

    /// <summary>Distinct instants at which nodes were polled.</summary>
    public long Steps { get; private set; }

    /// <summary>Registers a node and the devices whose input should wake it. Polled first at the next run.</summary>
    public SimulatedNode AddNode(string name, IPollable node, IReadOnlyList<INetDevice> devices)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(devices);
        var n = new SimulatedNode(name, node, devices, _nodes.Count);
        _nodes.Add(n);
        return n;
    }

    /// <inheritdoc cref="AddNode(string, IPollable, IReadOnlyList{INetDevice})"/>
    public SimulatedNode AddNode(string name, IPollable node, params INetDevice[] devices) =>
        AddNode(name, node, (IReadOnlyList<INetDevice>)devices);

    /// <summary>Registers a switch (its port list is watched live, so ports may be added later).</summary>
    public SimulatedNode AddSwitch(string name, LearningSwitch sw)
    {
        ArgumentNullException.ThrowIfNull(sw);
        return AddNode(name, sw, sw.Ports);
    }

    /// <summary>
    /// Registers a <see cref="FrameTap"/> on <paramref name="endpoint"/> (a test's stand-in for the peer at that end of a
    /// link): it is polled when frames arrive there, captures them and can inject frames of its own.
    /// </summary>
    public FrameTap AddTap(string name, LinkEndpoint endpoint)
    {
        var tap = new FrameTap(endpoint);
        AddNode(name, tap, endpoint);
        return tap;
    }

    /// <summary>The next instant at which some node is due (<see cref="Instant.MaxValue"/> when the network is idle).</summary>
    public Instant NextEvent
    {
        get
        {
            var next = Instant.MaxValue;
            foreach (var n in _nodes)
            {
                var d = n.Due;
                if (d < next) next = d;
            }
            return next;
        }
    }

    /// <summary>
    /// Makes <paramref name="node"/> due now, for state changed from outside a poll (an application started work on it):
    /// the next step polls it even if its last deadline was later.
    /// </summary>
    public void Wake(IPollable node)
    {
        foreach (var n in _nodes)
            if (ReferenceEquals(n.Node, node)) n.Deadline = Now;
    }

    /// <summary>Runs every event up to and including <paramref name="limit"/>, then sets <see cref="Now"/> to it.</summary>
    public void RunUntil(Instant limit) => Run(null, limit);

    /// <summary>Runs for <paramref name="duration"/> of virtual time.</summary>
    public void RunFor(TimeSpan duration) => Run(null, Now + duration);

    /// <summary>
    /// Runs until <paramref name="condition"/> holds (checked before the first step and after every instant)
    /// or <paramref name="limit"/> is reached. Returns whether the condition held; <see cref="Now"/> is then the
    /// instant at which it became true.
    /// </summary>
    public bool RunUntil(Func<bool> condition, Instant limit)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return Run(condition, limit);
    }

    private bool Run(Func<bool>? condition, Instant limit)
    {
        while (true)
        {
            if (condition is not null && condition()) return true;
            var next = NextEvent;
            if (next > limit)
            {
                if (limit > Now) Now = limit;
                return false;
            }
            if (next > Now) Now = next; // time never moves backwards: overdue work runs now
            RunInstant();
        }
    }

    /// <summary>Polls the due nodes at <see cref="Now"/> until none is due any more.</summary>
    private void RunInstant()
    {
        Steps++;
        int polls = 0;
        bool any = true;
        while (any)
        {
            any = false;
            for (int i = 0; i < _nodes.Count; i++)
            {
                var n = _nodes[i];
                if (n.Due > Now) continue;
                any = true;
                var devices = n.Devices;
                for (int d = 0; d < devices.Count; d++)
                {
                    if (devices[d] is ITimedDevice t) t.Service(Now);
                }
                n.Deadline = n.Node.Poll(Now);
                n.Polls++;
                Polls++;
                if (++polls > MaxPollsPerInstant)
                    throw new InvalidOperationException($"Livelock at {Now} (seed {Seed}): nodes stay due after {MaxPollsPerInstant} polls; last was {n}.");
            }
        }
    }

    /// <summary>Seed, virtual time, node and poll counts.</summary>
    public override string ToString() => $"Simulator(seed {Seed}, now {Now}, {_nodes.Count} nodes, {Polls} polls)";
}
