using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;
using static NetStack.Tests.Ipv4.Kit.SingleHost;


namespace NetStack.Tests.Ipv4;

/// <summary>ARP request retransmission with exponential back-off, the give-up, and the fate of the waiting packets.</summary>
public class ArpBackoffTests
{
    /// <summary>Seconds after the first send at which ARP requests for the peer left, sampled every 100 ms for <paramref name="seconds"/>.</summary>
    private static List<double> RequestTimes(SingleHost h, double seconds)
    {
        var start = h.Now;
        var times = new List<double>();
        foreach (var f in h.TakeSent())
            if (Frames.IsArp(f, ArpOperation.Request)) times.Add(0);
        for (int i = 0; i < seconds * 10; i++)
        {
            foreach (var f in h.Advance(TimeSpan.FromMilliseconds(100)))
                if (Frames.IsArp(f, ArpOperation.Request)) times.Add(Math.Round((h.Now - start).TotalSeconds, 1));
        }
        return times;
    }

    /// <summary>Advances the clock in 100 ms steps (the stack's timers fire when polled, as the runtime polls at each deadline).</summary>
    private static List<byte[]> Step(SingleHost h, double seconds)
    {
        var sent = new List<byte[]>();
        for (int i = 0; i < Math.Round(seconds * 10); i++) sent.AddRange(h.Advance(TimeSpan.FromMilliseconds(100)));
        return sent;
    }

    private static SingleHost Host(NeighborCacheOptions arp) => new(new Ipv4Settings { GratuitousArpCount = 0, Arp = arp });

    private static void SendTo(SingleHost h, Ipv4Address destination, ushort sequence = 1)
    {
        using var ping = new IcmpEchoSocket(h.Stack, (ushort)(100 + sequence));
        Assert.Equal(IpSendResult.Sent, ping.SendEcho(destination, sequence, new byte[8], h.Now));
    }

    [Fact]
    public void By_default_requests_back_off_1_then_2_seconds_and_resolution_is_given_up_4_seconds_after_the_third()
    {
        var h = new SingleHost();
        SendTo(h, Peer);
        Assert.Equal([0, 1, 3], RequestTimes(h, 10));
        // The give-up: 7 s after the first request (1 + 2 + 4), the waiting packet is dropped and counted.
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void The_give_up_comes_after_the_last_back_off_interval()
    {
        var h = new SingleHost();
        SendTo(h, Peer);
        h.TakeSent();
        Step(h, 6.9);
        Assert.Equal(0, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
        Step(h, 0.1);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void Successive_requests_wait_1_2_4_8_seconds_then_the_cap()
    {
        var h = Host(new NeighborCacheOptions { MaxMulticastSolicit = 6, RetransBackoffMultiple = 2, MaxRetransTimer = TimeSpan.FromSeconds(8) });
        SendTo(h, Peer);
        // Gaps 1, 2, 4, 8, then capped at 8.
        Assert.Equal([0, 1, 3, 7, 15, 23], RequestTimes(h, 40));
    }

    [Fact]
    public void The_back_off_multiple_and_the_retransmission_timer_are_configurable()
    {
        var h = Host(new NeighborCacheOptions
        {
            MaxMulticastSolicit = 4,
            RetransTimer = TimeSpan.FromSeconds(2),
            RetransBackoffMultiple = 3,
            MaxRetransTimer = TimeSpan.FromSeconds(60),
        });
        SendTo(h, Peer);
        Assert.Equal([0, 2, 8, 26], RequestTimes(h, 30));
    }

    [Fact]
    public void Without_back_off_requests_are_RetransTimer_apart_as_RFC4861_7_2_2()
    {
        var h = Host(new NeighborCacheOptions { MaxMulticastSolicit = 3 });
        SendTo(h, Peer);
        Assert.Equal([0, 1, 2], RequestTimes(h, 5));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void Requests_for_one_destination_are_never_closer_than_one_second_RFC1122_2_3_2_1()
    {
        var h = Host(new NeighborCacheOptions { MaxMulticastSolicit = 4, RetransTimer = TimeSpan.FromMilliseconds(100) });
        SendTo(h, Peer);
        Assert.Equal([0, 1, 2, 3], RequestTimes(h, 6));
    }

    [Fact]
    public void More_packets_for_a_destination_being_resolved_send_no_extra_requests_RFC1122_2_3_2_1()
    {
        var h = new SingleHost();
        for (ushort i = 1; i <= 5; i++) SendTo(h, Peer, i);
        Assert.Equal([0, 1, 3], RequestTimes(h, 8));
    }

    [Fact]
    public void Every_packet_queued_behind_a_failed_resolution_is_dropped_and_counted()
    {
        var h = new SingleHost();
        for (ushort i = 1; i <= 3; i++) SendTo(h, Peer, i);
        Step(h, 8);
        Assert.Equal(3, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
        // Nothing is left waiting: a reply now releases nothing.
        var sent = h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Arp, Frames.Arp(new ArpRepr(ArpOperation.Reply, PeerMac, Peer, OurMac, Us))));
        Assert.Empty(sent);
    }

    [Fact]
    public void A_reply_between_retransmissions_releases_the_queue_and_stops_the_requests()
    {
        var h = new SingleHost();
        SendTo(h, Peer);
        h.TakeSent();
        Step(h, 1.5); // the second request has gone
        var sent = h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Arp, Frames.Arp(new ArpRepr(ArpOperation.Reply, PeerMac, Peer, OurMac, Us))));
        Assert.NotNull(Frames.IpOf(Assert.Single(sent)));
        Assert.DoesNotContain(Step(h, 10), f => Frames.IsArp(f, ArpOperation.Request));
        Assert.Equal(0, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void A_forwarded_datagram_whose_next_hop_never_answers_earns_host_unreachable_RFC1812_5_2_7_1()
    {
        var router = new TappedStack(new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } }, seed: 3);
        var stack = router.Stack;
        var left = router.Add(OurMac, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], Forwarding = true, EnableIpv6 = false });
        var right = router.Add(MacAddress.Parse("02:00:00:00:00:03"), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], Forwarding = true, EnableIpv6 = false });
        left.Inject(Frames.Ethernet(PeerMac, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(PeerMac, Peer, Us))));
        left.Take();
        var absent = Ipv4Address.Parse("198.51.100.7");
        left.Inject(Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4, Udp(Peer, absent, 8)));
        Assert.True(Frames.IsArp(Assert.Single(right.Take()), ArpOperation.Request));
        router.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal(2, right.Take().Count(f => Frames.IsArp(f, ArpOperation.Request)));
        var error = Assert.Single(left.Take());
        Expect.Frame(error).Ipv4(dst: Peer).Icmpv4(Icmpv4Type.DestinationUnreachable, (byte)Icmpv4UnreachableCode.HostUnreachable);
        Assert.Equal(1, stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void NDP_keeps_RFC4861_fixed_RetransTimer_by_default()
    {
        var cache = new NeighborCache<Ipv6Address>(new NeighborCacheOptions(), new NullSink(), new StackStatistics(), new SeededRandom(1));
        Assert.Equal(TimeSpan.FromSeconds(1), cache.RetransInterval(1));
        Assert.Equal(TimeSpan.FromSeconds(1), cache.RetransInterval(3));
    }

    private sealed class NullSink : INeighborSink<Ipv6Address>
    {
        public void Solicit(Ipv6Address target, MacAddress? unicastTo, Instant now) { }
        public void SendQueued(Ipv6Address target, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now) { }
        public void ResolutionFailed(Ipv6Address target, ReadOnlySpan<byte> packet, Instant now) { }
    }
}
