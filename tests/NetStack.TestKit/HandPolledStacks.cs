using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.TestKit;

/// <summary>
/// An Ethernet port for tests that drive stacks by hand (<see cref="HandPolledStacks"/>): frames for its stack wait in
/// <see cref="Inbound"/>, and what the stack sends goes into the <see cref="Peer"/>'s. A subclass records or checks what
/// is sent, or offers offloads (<see cref="Capabilities"/>; an offloaded frame is cut in software on the way to the peer,
/// as a kernel would, unless the subclass does otherwise).
/// </summary>
internal class QueuePort(MacAddress mac, int mtu = 1500) : INetDevice
{
    public QueuePort? Peer { get; set; }
    public Queue<byte[]> Inbound { get; } = new();
    public Medium Medium => Medium.Ethernet;
    public int Mtu { get; } = mtu;
    public virtual int MaxFrameSize => Mtu + EthernetFrame.HeaderLength;
    public MacAddress HardwareAddress { get; } = mac;
    public virtual DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this);

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (!Inbound.TryDequeue(out var frame)) return false;
        frame.CopyTo(buffer);
        length = frame.Length;
        return true;
    }

    public virtual void Transmit(ReadOnlySpan<byte> frame, Instant now) => Peer?.Inbound.Enqueue(frame.ToArray());

    public virtual void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info) =>
        SoftwareSegmentation.Transmit(this, frame, now, info);

    /// <summary>Makes <paramref name="a"/> and <paramref name="b"/> each other's peer (one cable).</summary>
    public static void Connect(QueuePort a, QueuePort b)
    {
        a.Peer = b;
        b.Peer = a;
    }
}

/// <summary>
/// Stacks joined by <see cref="QueuePort"/>s and polled by hand in virtual time (from 1 s): frames are delivered at once,
/// timers fire as they fall due. Unlike the library's simulator, the test sees each device call as it happens.
/// </summary>
internal class HandPolledStacks(NetworkStack[] stacks, QueuePort[] ports)
{
    public Instant Now = Instant.FromSeconds(1);

    /// <summary>
    /// Polls every stack, in order, until no frame waits at any port, then moves to the next deadline; for
    /// <paramref name="duration"/> of virtual time.
    /// </summary>
    public void Run(TimeSpan duration)
    {
        var end = Now + duration;
        while (true)
        {
            var next = Instant.MaxValue;
            for (int spin = 0; spin < 10_000; spin++)
            {
                next = Instant.MaxValue;
                foreach (var stack in stacks) next = Instant.Min(next, stack.Poll(Now));
                if (ports.All(p => p.Inbound.Count == 0)) break;
            }
            if (next > end)
            {
                Now = end;
                foreach (var stack in stacks) stack.Poll(Now);
                return;
            }
            Now = Instant.Max(next, Now + TimeSpan.FromTicks(10));
        }
    }
}

/// <summary>
/// Two stacks on one Ethernet cable: A (192.0.2.10/24, 2001:db8::a/64) on <see cref="PortA"/> and B (192.0.2.11/24,
/// 2001:db8::b/64) on <see cref="PortB"/>, each with its own seeded randomness. <see cref="Settle"/> runs them through
/// duplicate address detection.
/// </summary>
internal class TwoStacks<TPort> : HandPolledStacks where TPort : QueuePort
{
    public TwoStacks(TPort portA, TPort portB, ulong seedA, ulong seedB)
        : this(new NetworkStack(null, new SeededRandom(seedA)), new NetworkStack(null, new SeededRandom(seedB)), portA, portB)
    {
    }

    private TwoStacks(NetworkStack a, NetworkStack b, TPort portA, TPort portB) : base([a, b], [portA, portB])
    {
        A = a;
        B = b;
        PortA = portA;
        PortB = portB;
        QueuePort.Connect(portA, portB);
        A.AddInterface(portA, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.10/24")], Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] }, Now);
        B.AddInterface(portB, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.11/24")], Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] }, Now);
    }

    public NetworkStack A { get; }
    public NetworkStack B { get; }
    public TPort PortA { get; }
    public TPort PortB { get; }

    /// <summary>Runs 3 s of virtual time: duplicate address detection done, both stacks ready.</summary>
    public void Settle() => Run(TimeSpan.FromSeconds(3));
}
