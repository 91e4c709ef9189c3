using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// The demo network the sample traces across when no device is given: NetStack routers in forwarding mode over
/// in-memory links, run in virtual time. Dual stack, six hops, built to show every feature:
/// <code>
///  client ── R1 ── R2 ═╦═ R3a ═╦═ R4 ── R5 ══ target
///             │        ╚═ R3b ═╝  (silent)  (MTU 1400)
///            dns  (MPLS)  (equal-cost pair)
/// </code>
/// R2 answers with an RFC 4950 MPLS label stack, R2 splits flows over R3a / R3b by a per-flow hash, R4 never sends
/// ICMP errors, and the last link has a smaller MTU. A DNS server behind R1 answers the reverse lookups of the hop lines.
/// Addresses are documentation prefixes only.
/// </summary>
public sealed class SimulatedNetwork
{
    private readonly Dictionary<NetworkStack, List<INetDevice>> _devices = [];
    private readonly List<(string Name, NetworkStack Stack)> _order = [];
    private int _macCounter;

    private SimulatedNetwork(ulong seed)
    {
        Simulator = new Simulator(seed, Instant.FromSeconds(1));
    }

    public Simulator Simulator { get; }
    public TracerouteNode Client { get; private set; } = null!;
    public NetworkStack Target { get; private set; } = null!;
    public IReadOnlyList<(string Name, NetworkStack Stack)> Nodes => _order;

    public static readonly IpAddress TargetV4 = IpAddress.Parse("203.0.113.10");
    public static readonly IpAddress TargetV6 = IpAddress.Parse("2001:db8:8::10");
    public const string TargetName = "far.sim.example";

    /// <summary>Names of the demo's addresses, answered by reverse lookups.</summary>
    public static readonly IReadOnlyDictionary<IpAddress, string> HostNames = new Dictionary<IpAddress, string>
    {
        [IpAddress.Parse("198.51.100.1")] = "r1.sim.example",
        [IpAddress.Parse("192.0.2.2")] = "r2-lsr.sim.example",
        [IpAddress.Parse("192.0.2.6")] = "r3a.sim.example",
        [IpAddress.Parse("192.0.2.10")] = "r3b.sim.example",
        [IpAddress.Parse("192.0.2.22")] = "r5.sim.example",
        [TargetV4] = TargetName,
        [IpAddress.Parse("2001:db8:1::1")] = "r1.sim.example",
        [IpAddress.Parse("2001:db8:2::2")] = "r2-lsr.sim.example",
        [IpAddress.Parse("2001:db8:3::2")] = "r3a.sim.example",
        [IpAddress.Parse("2001:db8:4::2")] = "r3b.sim.example",
        [IpAddress.Parse("2001:db8:7::2")] = "r5.sim.example",
        [TargetV6] = TargetName,
    };

    public static SimulatedNetwork Build(ulong seed = 1)
    {
        var net = new SimulatedNetwork(seed);
        net.Construct();
        return net;
    }

    private NetworkStack NewStack(string name, StackOptions? options = null)
    {
        var s = new NetworkStack(options ?? new StackOptions(), new SeededRandom(Simulator.Random.NextUInt64()));
        // Every node is a full host: UDP answers closed ports with port unreachable, TCP with RST.
        _udp[s] = new UdpLayer(s);
        var tcp = new TcpLayer(s, new SeededRandom(Simulator.Random.NextUInt64()));
        s.RegisterTransport(IpProtocol.Tcp, tcp);
        _tcp[s] = tcp;
        _devices[s] = [];
        _order.Add((name, s));
        return s;
    }

    private readonly Dictionary<NetworkStack, TcpLayer> _tcp = [];
    private readonly Dictionary<NetworkStack, UdpLayer> _udp = [];

    /// <summary>The simulated network's DNS server (behind R1), which the client's resolver asks.</summary>
    public static readonly IpAddress DnsServerV4 = IpAddress.Parse("192.0.2.34");
    public static readonly IpAddress DnsServerV6 = IpAddress.Parse("2001:db8:9::53");

    private static StackOptions RouterOptions(bool silent = false, MplsLabelEntry[]? labels = null) => new()
    {
        Ipv4 = new Network.Ipv4.Ipv4Settings { IcmpErrorsEnabled = !silent, IcmpExtensionMplsLabels = labels ?? [] },
        Ipv6 = new Ipv6Settings { IcmpErrorsEnabled = !silent, IcmpExtensionMplsLabels = labels ?? [] },
    };

    /// <summary>Joins two stacks with a point-to-point Ethernet link and configures both ends.</summary>
    private (int IfA, int IfB) Connect(NetworkStack a, string a4, string a6, NetworkStack b, string b4, string b6,
        double latencyMs, int mtu = 1500, bool forwardA = true, bool forwardB = true)
    {
        var options = new LinkOptions { Latency = TimeSpan.FromMilliseconds(latencyMs), Mtu = mtu, BitsPerSecond = 1_000_000_000 };
        var link = InMemoryLink.Ethernet(NextMac(), NextMac(), options);
        var ia = a.AddInterface(link.A, new InterfaceConfig
        {
            Mtu = mtu, Forwarding = forwardA, Slaac = false,
            Ipv4Addresses = [Ipv4Cidr.Parse(a4)], Ipv6Addresses = [Ipv6Cidr.Parse(a6)],
        }, Simulator.Now);
        var ib = b.AddInterface(link.B, new InterfaceConfig
        {
            Mtu = mtu, Forwarding = forwardB, Slaac = false,
            Ipv4Addresses = [Ipv4Cidr.Parse(b4)], Ipv6Addresses = [Ipv6Cidr.Parse(b6)],
        }, Simulator.Now);
        _devices[a].Add(link.A);
        _devices[b].Add(link.B);
        return (ia.Index, ib.Index);
    }

    private MacAddress NextMac() => new(0x02_00_5E_00_00_00UL + (ulong)++_macCounter);

    private static void Route(NetworkStack s, string prefix, string gateway, int ifIndex)
    {
        if (prefix.Contains(':', StringComparison.Ordinal))
            s.AddIpv6Route(new Ipv6Route(Ipv6Cidr.Parse(prefix), Ipv6Address.Parse(gateway), ifIndex));
        else
            s.AddIpv4Route(new Ipv4Route(Ipv4Cidr.Parse(prefix), Ipv4Address.Parse(gateway), ifIndex));
    }

    private void Construct()
    {
        var client = NewStack("client");
        var r1 = NewStack("r1");
        var r2 = NewStack("r2", RouterOptions(labels: [new MplsLabelEntry(24001, 0, true, 1)]));
        var r3a = NewStack("r3a");
        var r3b = NewStack("r3b");
        var r4 = NewStack("r4", RouterOptions(silent: true));
        var r5 = NewStack("r5");
        var target = NewStack("target");
        var dns = NewStack("dns");

        var (c0, r1a) = Connect(client, "198.51.100.2/24", "2001:db8:1::2/64", r1, "198.51.100.1/24", "2001:db8:1::1/64", 0.15, forwardA: false);
        var (r1b, r2a) = Connect(r1, "192.0.2.1/30", "2001:db8:2::1/64", r2, "192.0.2.2/30", "2001:db8:2::2/64", 1.2);
        var (r2b, r3aa) = Connect(r2, "192.0.2.5/30", "2001:db8:3::1/64", r3a, "192.0.2.6/30", "2001:db8:3::2/64", 2.1);
        var (r2c, r3ba) = Connect(r2, "192.0.2.9/30", "2001:db8:4::1/64", r3b, "192.0.2.10/30", "2001:db8:4::2/64", 2.6);
        var (r3ab, r4a) = Connect(r3a, "192.0.2.13/30", "2001:db8:5::1/64", r4, "192.0.2.14/30", "2001:db8:5::2/64", 1.7);
        var (r3bb, r4b) = Connect(r3b, "192.0.2.17/30", "2001:db8:6::1/64", r4, "192.0.2.18/30", "2001:db8:6::2/64", 1.4);
        var (r4c, r5a) = Connect(r4, "192.0.2.21/30", "2001:db8:7::1/64", r5, "192.0.2.22/30", "2001:db8:7::2/64", 3.3);
        var (r1c, dns0) = Connect(r1, "192.0.2.33/30", "2001:db8:9::1/64", dns, "192.0.2.34/30", "2001:db8:9::53/64", 0.3, forwardB: false);
        var (r5b, t0) = Connect(r5, "203.0.113.1/24", "2001:db8:8::1/64", target, "203.0.113.10/24", "2001:db8:8::10/64", 0.4, mtu: 1400, forwardB: false);

        Route(client, "0.0.0.0/0", "198.51.100.1", c0);
        Route(client, "::/0", "2001:db8:1::1", c0);
        Route(r1, "0.0.0.0/0", "192.0.2.2", r1b);
        Route(r1, "::/0", "2001:db8:2::2", r1b);
        foreach (var (p4, p6) in new[] { ("203.0.113.0/24", "2001:db8:8::/64"), ("192.0.2.20/30", "2001:db8:7::/64"),
                                         ("192.0.2.12/30", "2001:db8:5::/64"), ("192.0.2.16/30", "2001:db8:6::/64") })
        {
            // Two equal-cost routes: R2 spreads flows over R3a and R3b.
            Route(r2, p4, "192.0.2.6", r2b);
            Route(r2, p4, "192.0.2.10", r2c);
            Route(r2, p6, "2001:db8:3::2", r2b);
            Route(r2, p6, "2001:db8:4::2", r2c);
        }
        Route(r2, "198.51.100.0/24", "192.0.2.1", r2a);
        Route(r2, "2001:db8:1::/64", "2001:db8:2::1", r2a);
        foreach (var (s, up, up6, upIf, down, down6, downIf) in new[]
        {
            (r3a, "192.0.2.5", "2001:db8:3::1", r3aa, "192.0.2.14", "2001:db8:5::2", r3ab),
            (r3b, "192.0.2.9", "2001:db8:4::1", r3ba, "192.0.2.18", "2001:db8:6::2", r3bb),
        })
        {
            Route(s, "0.0.0.0/0", down, downIf);
            Route(s, "::/0", down6, downIf);
            Route(s, "198.51.100.0/24", up, upIf);
            Route(s, "192.0.2.0/30", up, upIf);
            Route(s, "2001:db8:1::/64", up6, upIf);
            Route(s, "2001:db8:2::/64", up6, upIf);
        }
        Route(r4, "0.0.0.0/0", "192.0.2.22", r4c);
        Route(r4, "::/0", "2001:db8:7::2", r4c);
        Route(r4, "198.51.100.0/24", "192.0.2.13", r4a);
        Route(r4, "192.0.2.0/28", "192.0.2.13", r4a);
        Route(r4, "2001:db8:1::/64", "2001:db8:5::1", r4a);
        Route(r4, "2001:db8:2::/64", "2001:db8:5::1", r4a);
        Route(r4, "2001:db8:3::/64", "2001:db8:5::1", r4a);
        Route(r4, "2001:db8:4::/64", "2001:db8:6::1", r4b);
        Route(r5, "0.0.0.0/0", "192.0.2.21", r5a);
        Route(r5, "::/0", "2001:db8:7::1", r5a);
        Route(dns, "0.0.0.0/0", "192.0.2.33", dns0);
        Route(dns, "::/0", "2001:db8:9::1", dns0);
        Route(target, "0.0.0.0/0", "203.0.113.1", t0);
        Route(target, "::/0", "2001:db8:8::1", t0);

        // The far host listens on port 80 (both families), so -T probes are answered with SYN-ACK.
        _tcp[target].Listen(new IpEndpoint(new IpAddress(Ipv4Address.Any), 80), 16);
        Client = new TracerouteNode(client)
        {
            Resolver = new ResolverNameSource(_udp[client], [DnsServerV4, DnsServerV6], new SeededRandom(Simulator.Random.NextUInt64())),
        };
        Target = target;
        var dnsServer = new SimulatedDnsServer(dns, _udp[dns], HostNames);
        foreach (var (name, stack) in _order)
        {
            IPollable node = stack == client ? Client : stack == dns ? dnsServer : stack;
            Simulator.AddNode(name, node, _devices[stack]);
        }
    }

    /// <summary>Lets duplicate address detection and router discovery settle before tracing.</summary>
    public void Settle() => Simulator.RunFor(TimeSpan.FromSeconds(30));
}
