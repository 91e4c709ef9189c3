using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.TestKit;

/// <summary>
/// One stack in the library's <see cref="Simulator"/> (virtual time from 1 s) whose every interface is one end of an
/// <see cref="InMemoryLink"/> with a <see cref="FrameTap"/> at the other end: the test plays whatever is beyond each
/// link, injecting frames and taking what the stack sent. A test may also hand frames to
/// <see cref="NetworkStack.Receive(NetworkInterface, ReadOnlySpan{byte}, Instant)"/> or poll the stack itself (to count
/// what one poll does); <see cref="TappedLink.Take"/> then runs what is due now so that what the stack sent reaches the tap.
/// </summary>
internal sealed class TappedStack
{
    private readonly List<INetDevice> _devices = [];

    public TappedStack(StackOptions? options = null, ulong seed = 1, Instant? start = null)
    {
        Sim = new Simulator(seed, start ?? Instant.FromSeconds(1));
        Stack = new NetworkStack(options ?? new StackOptions(), new SeededRandom(seed));
        Node = Sim.AddNode("stack", Stack, _devices); // watched live: links join below
    }

    public Simulator Sim { get; }
    public NetworkStack Stack { get; }
    public SimulatedNode Node { get; }
    public Instant Now => Sim.Now;

    /// <summary>Adds an interface on a new link (Ethernet with <paramref name="mac"/>, or raw IP for <see cref="Medium.Ip"/>).</summary>
    public TappedLink Add(MacAddress mac, InterfaceConfig config, int mtu = 1500, Medium medium = Medium.Ethernet)
    {
        var options = new LinkOptions { Mtu = mtu };
        var link = medium == Medium.Ethernet
            ? InMemoryLink.Ethernet(mac, MacAddress.Parse("02:00:00:00:ff:ff"), options)
            : InMemoryLink.RawIp(options);
        _devices.Add(link.A);
        var iface = Stack.AddInterface(link.A, config, Now);
        return new TappedLink(this, iface, link.A, Sim.AddTap($"tap{_devices.Count}", link.B));
    }

    /// <summary>Polls the stack now (see <see cref="Advance"/>) and runs what is then due.</summary>
    public void Settle() => RunUntil(Sim.Now);

    /// <summary>
    /// Runs every event for <paramref name="by"/> of virtual time. The stack is polled first: the test may have changed it
    /// from outside a poll (a send, a join), and the simulator must learn its new deadline.
    /// </summary>
    public void Advance(TimeSpan by) => RunUntil(Sim.Now + by);

    /// <summary>Runs every event up to and including <paramref name="until"/> (the stack polled first, as in <see cref="Advance"/>).</summary>
    public void RunUntil(Instant until)
    {
        Sim.Wake(Stack);
        Sim.RunUntil(until);
    }
}

/// <summary>One interface of a <see cref="TappedStack"/> and the tap at the far end of its link.</summary>
internal sealed class TappedLink(TappedStack owner, NetworkInterface iface, LinkEndpoint device, FrameTap tap)
{
    public TappedStack Owner { get; } = owner;
    public NetworkInterface Interface { get; } = iface;
    public FrameTap Tap { get; } = tap;

    /// <summary>The stack's end of the link (the interface's device).</summary>
    public LinkEndpoint Device { get; } = device;

    /// <summary>Whether frames sent to the stack are still waiting on its end of the link.</summary>
    public bool InputPending => Device.NextArrival != Instant.MaxValue;

    /// <summary>Sends <paramref name="frame"/> to the stack (it arrives at <paramref name="at"/>, by default now).</summary>
    public void Inject(byte[] frame, Instant? at = null) => Tap.Inject(frame, at ?? Owner.Now);

    /// <summary>Runs what is due now and returns (and forgets) every frame the stack sent on this link.</summary>
    public List<byte[]> Take()
    {
        Owner.Settle();
        return Tap.Take();
    }
}
