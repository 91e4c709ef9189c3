using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;


namespace NetStack.Tests.Ipv4;

public class EchoSocketTests
{
    private static (SimLan Net, NetworkStack A, NetworkStack B) TwoHosts()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var b = net.AddStack(2);
        a.AddInterface(net.Port(a, hub, MacAddress.Parse("02:00:00:00:00:0a")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.10/24")], EnableIpv6 = false }, net.Now);
        b.AddInterface(net.Port(b, hub, MacAddress.Parse("02:00:00:00:00:0b")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.11/24")], EnableIpv6 = false }, net.Now);
        return (net, a, b);
    }

    [Fact]
    public void Ping_between_two_stacks_resolves_ARP_and_gets_a_reply_with_its_data_and_RTT()
    {
        var (net, a, _) = TwoHosts();
        using var ping = new IcmpEchoSocket(a);
        var sentAt = net.Now;
        ping.SendEcho(Ipv4Address.Parse("192.0.2.11"), 3, Frames.Pattern(56), net.Now);
        net.Run(TimeSpan.FromMilliseconds(50));
        var data = new byte[56];
        Assert.True(ping.TryReceive(out var r, data));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(3, r.Sequence);
        Assert.Equal(Frames.Pattern(56), data);
        Assert.Equal(r.Received - sentAt, r.RoundTripTime);
        Assert.False(ping.TryReceive(out _));
    }

    [Fact]
    public void Ping_to_ourselves_is_looped_back()
    {
        var (_, a, _) = TwoHosts();
        using var ping = new IcmpEchoSocket(a);
        ping.SendEcho(Ipv4Address.Parse("192.0.2.10"), 1, new byte[10], Instant.FromSeconds(2));
        Assert.True(ping.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(TimeSpan.Zero, r.RoundTripTime);
    }

    [Fact]
    public void Replies_for_another_identifier_are_not_delivered()
    {
        var (net, a, _) = TwoHosts();
        using var mine = new IcmpEchoSocket(a, 100);
        using var other = new IcmpEchoSocket(a, 200);
        other.SendEcho(Ipv4Address.Parse("192.0.2.11"), 1, new byte[4], net.Now);
        net.Run(TimeSpan.FromMilliseconds(50));
        Assert.False(mine.TryReceive(out _));
        Assert.True(other.TryReceive(out _));
    }

    [Fact]
    public void An_identifier_can_be_open_only_once()
    {
        var (_, a, _) = TwoHosts();
        using var first = new IcmpEchoSocket(a, 7);
        Assert.Throws<InvalidOperationException>(() => new IcmpEchoSocket(a, 7));
        first.Dispose();
        using var again = new IcmpEchoSocket(a, 7);
    }

    [Fact]
    public void Receive_queue_is_bounded_and_overflow_counted()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1, new StackOptions { Ipv4 = new Ipv4Settings { EchoSocketQueueLength = 4 } });
        var b = net.AddStack(2);
        a.AddInterface(net.Port(a, hub, MacAddress.Parse("02:00:00:00:00:0a")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.10/24")], EnableIpv6 = false }, net.Now);
        b.AddInterface(net.Port(b, hub, MacAddress.Parse("02:00:00:00:00:0b")), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.11/24")], EnableIpv6 = false }, net.Now);
        using var ping = new IcmpEchoSocket(a);
        for (ushort i = 0; i < 10; i++) ping.SendEcho(Ipv4Address.Parse("192.0.2.11"), i, new byte[4], net.Now);
        net.Run(TimeSpan.FromMilliseconds(50));
        Assert.Equal(4, ping.Available);
        Assert.Equal(6, ping.Dropped);
        Assert.Equal(6, a.Statistics.Drops(DropReason.IcmpEchoQueueFull));
    }
}
