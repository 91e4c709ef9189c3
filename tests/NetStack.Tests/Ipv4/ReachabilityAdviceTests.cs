using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>
/// Advice from transports about a path (RFC 1122 §3.3.1.4; RFC 9293 §3.8.3 MUST-20 negative advice at R1; RFC 4861
/// §7.3.1 forward-progress hints, which our ARP cache shares with NDP's unreachability detection).
/// </summary>
public class ReachabilityAdviceTests
{
    private static readonly Ipv4Address Far = Ipv4Address.Parse("203.0.113.5");
    private static readonly Ipv4Address BetterGateway = Ipv4Address.Parse("192.0.2.253");
    private static readonly MacAddress BetterGatewayMac = MacAddress.Parse("02:00:00:00:00:fd");

    private static NeighborState State(SingleHost h, Ipv4Address a)
    {
        Assert.True(h.Stack.Ipv4.Interface(0)!.Arp!.TryGetState(a, out var s, out _));
        return s;
    }

    private static void SendUdp(SingleHost h, Ipv4Address to) =>
        Assert.Equal(IpSendResult.Sent, h.Stack.Send(new IpAddress(Us), new IpAddress(to), IpProtocol.Udp, new byte[8], default, h.Now));

    [Fact]
    public void Forward_progress_confirms_the_first_hop_RFC4861_7_3_1()
    {
        var h = new SingleHost();
        h.Introduce();
        Assert.Equal(NeighborState.Stale, State(h, Peer));
        h.Stack.ReachabilityAdvice(new IpAddress(Peer), forwardProgress: true, h.Now);
        Assert.Equal(NeighborState.Reachable, State(h, Peer));
    }

    [Fact]
    public void Negative_advice_puts_a_reachable_first_hop_back_under_verification_MUST_20()
    {
        var h = new SingleHost();
        h.Introduce();
        h.Stack.ReachabilityAdvice(new IpAddress(Peer), forwardProgress: true, h.Now);
        h.Stack.ReachabilityAdvice(new IpAddress(Peer), forwardProgress: false, h.Now);
        Assert.Equal(NeighborState.Stale, State(h, Peer));
        Assert.Equal(1, h.Stack.Statistics.NegativeAdvice);

        // The next datagram still goes (STALE -> DELAY), and a unicast ARP probe follows (RFC 4861 §7.3.3, as Linux does for ARP).
        SendUdp(h, Peer);
        Assert.Single(h.TakeSent());
        var probe = h.Advance(TimeSpan.FromSeconds(6));
        Assert.Contains(probe, f => EthernetFrame.TryParse(f, out var eth, out _) && eth.EtherType == EtherType.Arp && eth.Destination == PeerMac);
    }

    [Fact]
    public void Negative_advice_for_a_far_destination_forgets_the_redirect_toward_it()
    {
        var h = new SingleHost();
        var ours = Udp(Us, Far, 16);
        var repr = Icmpv4ErrorRepr.Redirect(Icmpv4RedirectCode.Host, BetterGateway, ours.Length);
        var msg = new byte[repr.BufferLength];
        repr.Write(msg, ours);
        h.PushIp(Frames.Ip(new Ipv4Repr(Gateway, Us, IpProtocol.Icmp, msg.Length), msg));
        Assert.True(h.Stack.Ipv4.Routes.TryLookup(Far, out var route));
        Assert.Equal(BetterGateway, route.Gateway);
        h.Introduce(BetterGateway, BetterGatewayMac);
        h.Stack.ReachabilityAdvice(new IpAddress(BetterGateway), forwardProgress: true, h.Now);

        h.Stack.ReachabilityAdvice(new IpAddress(Far), forwardProgress: false, h.Now);

        Assert.True(h.Stack.Ipv4.Routes.TryLookup(Far, out route));
        Assert.Equal(Gateway, route.Gateway);
        Assert.Equal(NeighborState.Stale, State(h, BetterGateway));
    }
}
