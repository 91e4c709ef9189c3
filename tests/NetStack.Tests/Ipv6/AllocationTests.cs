using NetStack.Tests.Support;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>DESIGN principle 4: no allocation per packet in steady state.</summary>
public class AllocationTests
{
    private sealed class SinkDevice(MacAddress mac) : INetDevice
    {
        public long Frames;
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 1514;
        public MacAddress HardwareAddress => mac;
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Frames++;
    }

    [Fact]
    public void Echo_request_to_reply_allocates_nothing_in_steady_state()
    {
        var stack = new NetworkStack(new StackOptions { Ipv6 = new Network.Ipv6.Ipv6Settings { DupAddrDetectTransmits = 0 } }, new SeededRandom(3));
        var dev = new SinkDevice(MacAddress.Parse("02:00:00:00:00:0b"));
        var now = Instant.FromSeconds(1);
        var us = Ipv6Address.Parse("2001:db8::b");
        var peer = Ipv6Address.Parse("2001:db8::a");
        var i = stack.AddInterface(dev, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] }, now);
        // The peer is known (unsolicited NS with its link-layer address).
        var ns = new NeighborSolicitationRepr(us, new[] { NdpOptionRepr.SourceLinkLayer(V6Frames.PeerMac) });
        var m = new byte[ns.BufferLength];
        ns.Write(m, peer, us.SolicitedNode);
        stack.Receive(i, V6Frames.Icmp(MacAddress.ForIpv6Multicast(us.SolicitedNode), peer, us.SolicitedNode, m, hop: 255), now);
        var request = V6Frames.Ip(i.HardwareAddress, peer, us, IpProtocol.Icmpv6, V6Frames.EchoRequest(1, 1, 56, peer, us));
        for (int k = 0; k < 200; k++) stack.Receive(i, request, now); // warm up (pools, caches, JIT)
        long frames = dev.Frames;
        stack.Receive(i, request, now);
        Assert.Equal(frames + 1, dev.Frames); // one reply per request
        long allocated = Allocations.SteadyState(() => stack.Receive(i, request, now), iterations: 1000);
        Assert.True(allocated < 1000, $"{allocated} bytes allocated for 1000 echo exchanges");
    }

    [Fact]
    public void Idle_poll_allocates_nothing()
    {
        var stack = new NetworkStack(new StackOptions(), new SeededRandom(4));
        var dev = new SinkDevice(MacAddress.Parse("02:00:00:00:00:0c"));
        var now = Instant.FromSeconds(1);
        stack.AddInterface(dev, new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::c/64")] }, now);
        for (int k = 0; k < 100; k++) now = Instant.Min(stack.Poll(now), now + TimeSpan.FromSeconds(1)); // DAD, MLD, RS settle
        int tick = 0;
        long allocated = Allocations.SteadyState(() => stack.Poll(now + TimeSpan.FromMicroseconds(tick++)), iterations: 1000);
        Assert.True(allocated < 1000, $"{allocated} bytes allocated by 1000 idle polls");
    }
}
