using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Simulation;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// IPv4 over the in-memory simulator (virtual time, links with latency and MTU): host A — router R — host B, where
/// A-R is 192.0.2.0/24 and R-B is 198.51.100.0/24, each link 1 ms one way.
/// </summary>
public class SimulatedNetworkTests
{
    private static readonly Ipv4Address B = Ipv4Address.Parse("198.51.100.1");
    private const ulong Seed = 20261126;

    private sealed class Net : IDisposable
    {
        public Simulator Sim { get; } = new(Seed, Instant.FromSeconds(1));
        public NetworkStack A { get; }
        public NetworkStack R { get; }
        public NetworkStack HostB { get; }
        private readonly InMemoryLink _left;
        private readonly InMemoryLink _right;

        public Net(int rightMtu = 1500)
        {
            var left = new LinkOptions { Latency = TimeSpan.FromMilliseconds(1) };
            var right = new LinkOptions { Latency = TimeSpan.FromMilliseconds(1), Mtu = rightMtu };
            _left = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Parse("02:00:00:00:0f:01"), left);
            _right = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:0f:02"), MacAddress.Parse("02:00:00:00:0b:01"), right);
            A = new NetworkStack(null, Sim.Random);
            R = new NetworkStack(null, Sim.Random);
            HostB = new NetworkStack(null, Sim.Random);
            A.AddInterface(_left.A, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], Ipv4Gateway = Ipv4Address.Parse("192.0.2.254"), EnableIpv6 = false }, Sim.Now);
            R.AddInterface(_left.B, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.254/24")], Forwarding = true, EnableIpv6 = false }, Sim.Now);
            R.AddInterface(_right.A, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.254/24")], Forwarding = true, EnableIpv6 = false }, Sim.Now);
            HostB.AddInterface(_right.B, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], Ipv4Gateway = Ipv4Address.Parse("198.51.100.254"), EnableIpv6 = false }, Sim.Now);
            Sim.AddNode("A", A, _left.A);
            Sim.AddNode("R", R, _left.B, _right.A);
            Sim.AddNode("B", HostB, _right.B);
            Sim.RunFor(TimeSpan.FromSeconds(5)); // gratuitous ARP settles
        }

        public void Dispose()
        {
            _left.Dispose();
            _right.Dispose();
        }
    }

    private static IcmpEchoResult PingOnce(Net net, IcmpEchoSocket ping, ushort seq, int size = 56, byte ttl = 0, byte[]? data = null)
    {
        Assert.Equal(IpSendResult.Sent, ping.SendEcho(B, seq, Frames.Pattern(size), net.Sim.Now, ttl));
        IcmpEchoResult result = default;
        bool got = net.Sim.RunUntil(() => ping.TryReceive(out result, data ?? []), net.Sim.Now + TimeSpan.FromSeconds(5));
        Assert.True(got, $"no answer (seed {Seed})");
        return result;
    }

    [Fact]
    public void Round_trip_time_is_the_links_latency_once_ARP_is_resolved()
    {
        using var net = new Net();
        using var ping = new IcmpEchoSocket(net.A, 1);
        var first = PingOnce(net, ping, 1);
        var second = PingOnce(net, ping, 2);
        Assert.Equal(IcmpEchoResultKind.Reply, second.Kind);
        // Four 1 ms hops; the first ping also waited for ARP on both links (two extra 2 ms exchanges).
        Assert.Equal(TimeSpan.FromMilliseconds(4), second.RoundTripTime);
        Assert.Equal(TimeSpan.FromMilliseconds(8), first.RoundTripTime);
        Assert.Equal(63, second.Ttl);
    }

    [Fact]
    public void Echo_with_increasing_TTL_reveals_the_router_then_the_destination_as_traceroute_does()
    {
        using var net = new Net();
        using var ping = new IcmpEchoSocket(net.A, 2);
        var hop1 = PingOnce(net, ping, 1, ttl: 1);
        var hop2 = PingOnce(net, ping, 2, ttl: 2);
        Assert.Equal(IcmpEchoResultKind.Error, hop1.Kind);
        Assert.Equal(Ipv4Address.Parse("192.0.2.254"), hop1.From);
        Assert.Equal((byte)Icmpv4Type.TimeExceeded, hop1.Error.Type);
        Assert.Equal(IcmpEchoResultKind.Reply, hop2.Kind);
        Assert.Equal(B, hop2.From);
    }

    [Fact]
    public void An_8000_byte_ping_crosses_a_1280_byte_link_fragmented_and_reassembled()
    {
        using var net = new Net(rightMtu: 1280);
        using var ping = new IcmpEchoSocket(net.A, 3);
        var data = new byte[8000];
        var r = PingOnce(net, ping, 1, size: 8000, data: data);
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(Frames.Pattern(8000), data);
        Assert.True(net.R.Statistics.FragmentsCreated > 0);
        Assert.Equal(1, net.HostB.Statistics.FragmentsReassembled);
        Assert.Equal(1, net.A.Statistics.FragmentsReassembled);
    }

    [Fact]
    public void Path_MTU_is_learned_from_the_routers_fragmentation_needed_RFC1191()
    {
        using var net = new Net(rightMtu: 1280);
        using var ping = new IcmpEchoSocket(net.A, 4);
        ping.SendEcho(B, 1, new byte[1400], net.Sim.Now, dontFragment: true);
        IcmpEchoResult r = default;
        Assert.True(net.Sim.RunUntil(() => ping.TryReceive(out r), net.Sim.Now + TimeSpan.FromSeconds(5)), $"seed {Seed}");
        Assert.Equal(IcmpEchoResultKind.Error, r.Kind);
        Assert.Equal((byte)Icmpv4UnreachableCode.FragmentationNeeded, r.Error.Code);
        Assert.Equal(1280u, r.Error.Parameter);
        Assert.Equal(1260, net.A.MaxTransportPayload(B));
        Assert.Equal(IpSendResult.TooBig, ping.SendEcho(B, 2, new byte[1400], net.Sim.Now, dontFragment: true));
    }
}
