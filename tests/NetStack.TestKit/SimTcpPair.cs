using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.TestKit;

/// <summary>
/// Two complete stacks (Ethernet, IP of one family, TCP) in the library's <see cref="Simulator"/>: seeded, virtual time,
/// over an <see cref="InMemoryLink"/> with one-way <c>latency</c> and a seeded <see cref="FaultInjector"/> on each end
/// dropping <c>loss</c> of what it transmits. <c>wrapA</c>/<c>wrapB</c> put decorators (recorders, offload devices)
/// between a stack and its fault injector. A is 192.0.2.1 / 2001:db8::1, B is 192.0.2.2 / 2001:db8::2.
/// <c>linkOffloads</c> gives the link a veth's offloads (<see cref="LinkOptions.Offloads"/>); <c>receiveLossB</c> drops
/// that share of what B receives (its injector's receive side); with <c>injectors</c> false an end has a fault injector
/// only when it injects something (a fault injector cuts offloaded frames into wire frames on transmit).
/// </summary>
internal sealed class SimTcpPair : IDisposable
{
    private readonly InMemoryLink _link;
    private readonly FaultInjector? _faultA, _faultB;

    public SimTcpPair(ulong seed, IpVersion family, TimeSpan latency, double loss = 0, TcpSettings? settings = null,
        Func<INetDevice, INetDevice>? wrapA = null, Func<INetDevice, INetDevice>? wrapB = null,
        DeviceOffloads linkOffloads = DeviceOffloads.None, double receiveLossB = 0, bool injectors = true)
    {
        Seed = seed;
        Family = family;
        Start = Instant.FromSeconds(1);
        Sim = new Simulator(seed, Start);
        _link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"),
            new LinkOptions { Latency = latency, Offloads = linkOffloads });
        var drop = new FaultProfile { DropRate = loss };
        if (injectors || loss > 0) _faultA = new FaultInjector(_link.A, Sim.Random, transmit: drop);
        if (injectors || loss > 0 || receiveLossB > 0)
            _faultB = new FaultInjector(_link.B, Sim.Random, transmit: drop, receive: receiveLossB > 0 ? new FaultProfile { DropRate = receiveLossB } : null);
        INetDevice endA = (INetDevice?)_faultA ?? _link.A, endB = (INetDevice?)_faultB ?? _link.B;
        DeviceA = wrapA?.Invoke(endA) ?? endA;
        DeviceB = wrapB?.Invoke(endB) ?? endB;
        var options = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } };
        A = new NetworkStack(options, Sim.Random);
        B = new NetworkStack(options, Sim.Random);
        AddressA = Families.A(family);
        AddressB = Families.B(family);
        A.AddInterface(DeviceA, Config(family, AddressA), Start);
        B.AddInterface(DeviceB, Config(family, AddressB), Start);
        TcpA = new TcpLayer(A, Sim.Random, settings);
        TcpB = new TcpLayer(B, Sim.Random, settings);
        A.RegisterTransport(IpProtocol.Tcp, TcpA);
        B.RegisterTransport(IpProtocol.Tcp, TcpB);
    }

    private static InterfaceConfig Config(IpVersion family, IpAddress address) => family == IpVersion.V4
        ? new InterfaceConfig { Ipv4Addresses = [new Ipv4Cidr(address.V4, 24)], EnableIpv6 = false }
        : new InterfaceConfig { Ipv6Addresses = [new Ipv6Cidr(address.V6, 64)], EnableIpv4 = false };

    public ulong Seed { get; }
    public IpVersion Family { get; }
    public Instant Start { get; }
    public Simulator Sim { get; }
    public INetDevice DeviceA { get; }
    public INetDevice DeviceB { get; }
    public NetworkStack A { get; }
    public NetworkStack B { get; }
    public TcpLayer TcpA { get; }
    public TcpLayer TcpB { get; }
    public IpAddress AddressA { get; }
    public IpAddress AddressB { get; }
    public InMemoryLink Link => _link;
    public FaultInjector? FaultA => _faultA;
    public FaultInjector? FaultB => _faultB;

    /// <summary>What a <see cref="Transfer"/> did.</summary>
    internal readonly record struct BulkOutcome(bool Intact, long Received, TimeSpan Elapsed, TcpConnection Client)
    {
        public double BytesPerSecond => Received / Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> seeded bytes from A to B's <paramref name="port"/> (then closes), runs the simulator
    /// until B has them all or <paramref name="limit"/> of virtual time has passed, and compares every byte.
    /// </summary>
    public BulkOutcome Transfer(int bytes, TimeSpan limit, ushort port = 5001)
    {
        var data = new byte[bytes];
        new Random((int)Seed).NextBytes(data);
        var received = new byte[bytes];
        var listener = TcpB.Listen(new IpEndpoint(AddressB, port), 4);
        var client = TcpA.Connect(new IpEndpoint(AddressB, port), Sim.Now);
        TcpConnection? server = null;
        int sent = 0, got = 0;
        bool Step()
        {
            bool progress = false;
            if (sent < bytes)
            {
                int n = client.Send(data.AsSpan(sent));
                sent += n;
                progress |= n > 0;
                if (sent == bytes) client.Close();
            }
            if (server is null && !listener.TryAccept(out server)) return progress;
            int r;
            while (got < bytes && (r = server!.Receive(received.AsSpan(got))) > 0) { got += r; progress = true; }
            return progress;
        }
        var from = Sim.Now;
        Sim.AddNode("A", new Driven(A, Step), DeviceA);
        Sim.AddNode("B", new Driven(B, Step), DeviceB);
        Sim.RunUntil(() => got == bytes, from + limit);
        return new BulkOutcome(got == bytes && received.AsSpan().SequenceEqual(data), got, Sim.Now - from, client);
    }

    /// <summary>Polls a stack with the applications' step on either side; re-polls at once when they queued data.</summary>
    private sealed class Driven(IPollable stack, Func<bool> step) : IPollable
    {
        public Instant Poll(Instant now)
        {
            step();
            var next = stack.Poll(now);
            return step() ? now : next;
        }
    }

    public void Dispose()
    {
        _faultA?.Dispose();
        _faultB?.Dispose();
        _link.Dispose();
    }
}
