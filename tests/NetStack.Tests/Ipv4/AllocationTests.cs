using NetStack.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Network.Ipv4;
using NetStack.Composition;

namespace NetStack.Tests.Ipv4;

/// <summary>DESIGN principle 4: no allocation per packet in steady state, on the IPv4 hot paths.</summary>
public class AllocationTests
{
    private sealed class CountingDevice(MacAddress mac) : INetDevice
    {
        public long Frames;
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 1518;
        public MacAddress HardwareAddress { get; } = mac;
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Frames++;
    }

    private static long AllocatedDuring(Action action, int iterations)
    {
        for (int i = 0; i < 100; i++) action(); // warm up pools, JIT, caches
        return Allocations.SteadyState(action, iterations);
    }

    [Fact]
    public void Answering_echo_requests_allocates_nothing_per_packet()
    {
        var device = new CountingDevice(SingleHost.OurMac);
        var stack = new NetworkStack(new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } }, new SeededRandom(1));
        var iface = stack.AddInterface(device, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false }, Instant.FromSeconds(1));
        stack.Receive(iface, Frames.Ethernet(SingleHost.PeerMac, MacAddress.Broadcast, EtherType.Arp,
            Frames.Arp(ArpRepr.Request(SingleHost.PeerMac, SingleHost.Peer, SingleHost.Us))), Instant.FromSeconds(1));
        var request = Frames.Ethernet(SingleHost.PeerMac, SingleHost.OurMac, EtherType.Ipv4,
            Frames.Ip(new Ipv4Repr(SingleHost.Peer, SingleHost.Us, IpProtocol.Icmp, 64), Frames.EchoRequest(1, 1, new byte[56])));
        var now = Instant.FromSeconds(2);
        long bytes = AllocatedDuring(() => stack.Receive(iface, request, now), 10_000);
        Assert.True(device.Frames >= 10_000);
        Assert.True(bytes < 1024, $"{bytes} bytes allocated over 10,000 echo replies");
    }

    [Fact]
    public void Forwarding_allocates_nothing_per_packet()
    {
        var left = new CountingDevice(MacAddress.Parse("02:00:00:00:0f:01"));
        var right = new CountingDevice(MacAddress.Parse("02:00:00:00:0f:02"));
        var router = new NetworkStack(new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } }, new SeededRandom(1));
        var inbound = router.AddInterface(left, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.254/24")], Forwarding = true, EnableIpv6 = false }, Instant.FromSeconds(1));
        var outbound = router.AddInterface(right, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.254/24")], Forwarding = true, EnableIpv6 = false }, Instant.FromSeconds(1));
        var hostB = Ipv4Address.Parse("198.51.100.1");
        var macB = MacAddress.Parse("02:00:00:00:0b:01");
        router.Receive(outbound, Frames.Ethernet(macB, MacAddress.Broadcast, EtherType.Arp,
            Frames.Arp(ArpRepr.Request(macB, hostB, Ipv4Address.Parse("198.51.100.254")))), Instant.FromSeconds(1));
        var packet = Frames.Ethernet(MacAddress.Parse("02:00:00:00:0a:01"), left.HardwareAddress, EtherType.Ipv4,
            SingleHost.Udp(Ipv4Address.Parse("192.0.2.1"), hostB, 1000));
        var now = Instant.FromSeconds(2);
        long bytes = AllocatedDuring(() => router.Receive(inbound, packet, now), 10_000);
        Assert.True(right.Frames >= 10_000);
        Assert.True(bytes < 1024, $"{bytes} bytes allocated over 10,000 forwarded datagrams");
    }
}
