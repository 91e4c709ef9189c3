using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Bench.Tcp;

/// <summary>
/// Two complete NetStack stacks (Ethernet, IPv4, TCP) joined by an <see cref="InMemoryLink"/>, each end optionally
/// wrapped in a <see cref="FaultInjector"/> that drops a share of the frames that end transmits (so loss applies to
/// both directions, data and ACKs, as in smoltcp's netsim). Addresses are from 192.0.2.0/24 (RFC 5737).
/// </summary>
internal sealed class StackPair : IDisposable
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("192.0.2.2");
    private readonly InMemoryLink _link;

    public StackPair(IRandomSource random, LinkOptions link, double loss, TcpSettings settings, Instant now, TimeSpan stretchAckHold = default)
    {
        _link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"), link);
        INetDevice devA = _link.A, devB = _link.B;
        if (loss > 0)
        {
            var profile = new FaultProfile { DropRate = loss };
            devA = FaultA = new FaultInjector(_link.A, random, transmit: profile);
            devB = FaultB = new FaultInjector(_link.B, random, transmit: profile);
        }
        // B (the receiver) acknowledges like a busy Linux receiver when asked: one ACK per burst (StretchAckDevice).
        if (stretchAckHold > TimeSpan.Zero) devB = StretchB = new StretchAckDevice(devB, stretchAckHold);
        devA = GapsA = new GapTracer(devA);
        DeviceA = devA;
        DeviceB = devB;
        A = new NetworkStack(new StackOptions(), random);
        B = new NetworkStack(new StackOptions(), random);
        A.AddInterface(devA, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, now);
        B.AddInterface(devB, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")], EnableIpv6 = false }, now);
        TcpA = new TcpLayer(A, random, settings);
        TcpB = new TcpLayer(B, random, settings);
        A.RegisterTransport(IpProtocol.Tcp, TcpA);
        B.RegisterTransport(IpProtocol.Tcp, TcpB);
    }

    public NetworkStack A { get; }
    public NetworkStack B { get; }
    public INetDevice DeviceA { get; }
    public INetDevice DeviceB { get; }
    public FaultInjector? FaultA { get; }
    public FaultInjector? FaultB { get; }
    public StretchAckDevice? StretchB { get; }
    public GapTracer GapsA { get; }
    public TcpLayer TcpA { get; }
    public TcpLayer TcpB { get; }
    public InMemoryLink Link => _link;

    /// <summary>B listens on port 5001; A connects and sends <paramref name="total"/> bytes to it.</summary>
    public BulkFlow StartFlow(long total, bool verify, Instant now)
    {
        var listener = TcpB.Listen(new IpEndpoint(AddressB, 5001), 4);
        var client = TcpA.Connect(new IpEndpoint(AddressB, 5001), now);
        return new BulkFlow(listener, client, total, verify);
    }

    public void Dispose()
    {
        FaultA?.Dispose();
        FaultB?.Dispose();
        StretchB?.Dispose();
        _link.Dispose();
    }
}

/// <summary>Polls a stack with the application step on either side, as a node of the <see cref="Simulator"/>.</summary>
internal sealed class AppNode(IPollable stack, Func<bool> step) : IPollable
{
    public Instant Poll(Instant now)
    {
        step();
        var next = stack.Poll(now);
        // Data the application queued after the poll must be flushed at this same instant.
        if (step()) next = now;
        return next;
    }
}
