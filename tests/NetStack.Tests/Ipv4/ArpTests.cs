using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

public class ArpTests
{
    private static byte[] RequestFrom(MacAddress mac, Ipv4Address sender, Ipv4Address target) =>
        Frames.Ethernet(mac, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(mac, sender, target)));

    [Fact]
    public void Request_for_our_address_is_answered_with_our_MAC_RFC826()
    {
        var h = new SingleHost();
        var sent = h.Push(RequestFrom(PeerMac, Peer, Us));
        var reply = Assert.Single(sent);
        Expect.Frame(reply).Ethernet(dst: PeerMac);
        var arp = Frames.ArpOf(reply);
        Assert.Equal(new ArpRepr(ArpOperation.Reply, OurMac, Us, PeerMac, Peer), arp);
    }

    [Fact]
    public void Request_for_another_address_is_not_answered_and_is_counted()
    {
        var h = new SingleHost();
        Assert.Empty(h.Push(RequestFrom(PeerMac, Peer, Ipv4Address.Parse("192.0.2.77"))));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.ArpNotForUs));
    }

    [Fact]
    public void Requester_is_learned_so_the_answer_to_it_needs_no_resolution_RFC826_merge()
    {
        var h = new SingleHost();
        h.Introduce();
        var sent = h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4,
            Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, 12), Frames.EchoRequest(1, 1, new byte[4]))));
        var reply = Assert.Single(sent);
        Assert.NotNull(Frames.IpOf(reply));
    }

    [Fact]
    public void First_packet_to_an_unknown_neighbour_waits_for_resolution_and_is_then_sent_RFC1122_2_3_2_2()
    {
        var h = new SingleHost();
        using var ping = new IcmpEchoSocket(h.Stack, 5);
        Assert.Equal(IpSendResult.Sent, ping.SendEcho(Peer, 1, new byte[8], h.Now));
        var request = Assert.Single(h.TakeSent());
        Assert.True(Frames.IsArp(request, ArpOperation.Request));
        Assert.Equal(Peer, Frames.ArpOf(request).TargetProtocolAddress);
        var sent = h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Arp, Frames.Arp(new ArpRepr(ArpOperation.Reply, PeerMac, Peer, OurMac, Us))));
        var echo = Assert.Single(sent);
        Expect.Frame(echo).Ethernet(dst: PeerMac);
        Assert.NotNull(Frames.IpOf(echo));
    }

    [Fact]
    public void Requests_are_retried_then_the_waiting_packet_is_dropped_and_counted()
    {
        var h = new SingleHost();
        using var ping = new IcmpEchoSocket(h.Stack, 5);
        ping.SendEcho(Peer, 1, new byte[8], h.Now);
        int requests = h.TakeSent().Count;
        // Requests at 0, 1 and 3 s (back-off), given up at 7 s (ArpBackoffTests has the timing).
        for (int i = 0; i < 8; i++) requests += h.Advance(TimeSpan.FromSeconds(1)).Count(f => Frames.IsArp(f, ArpOperation.Request));
        Assert.Equal(3, requests);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.NeighborUnreachable));
    }

    [Fact]
    public void Unsolicited_reply_creates_no_entry_as_Linux_arp_accept_0()
    {
        var h = new SingleHost();
        h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Arp, Frames.Arp(new ArpRepr(ArpOperation.Reply, PeerMac, Peer, OurMac, Us))));
        Assert.False(h.Stack.Ipv4.Interface(0)!.Arp!.TryGetState(Peer, out _, out _));
    }

    [Fact]
    public void Configuring_an_address_announces_it_with_gratuitous_ARP_RFC5227_3()
    {
        var h = new SingleHost(new Ipv4Settings());
        var announcement = Assert.Single(h.TakeSent());
        var arp = Frames.ArpOf(announcement);
        Assert.Equal(Us, arp.SenderProtocolAddress);
        Assert.Equal(Us, arp.TargetProtocolAddress);
        var second = h.Advance(TimeSpan.FromSeconds(2));
        Assert.Single(second);
        Assert.Empty(h.Advance(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Someone_claiming_our_address_is_not_learned_RFC5227_2_4()
    {
        var h = new SingleHost();
        h.Push(RequestFrom(PeerMac, Us, Us));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.ArpAddressConflict));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(27)]
    public void Truncated_ARP_is_a_counted_drop(int length)
    {
        var h = new SingleHost();
        var full = Frames.Arp(ArpRepr.Request(PeerMac, Peer, Us));
        Assert.Empty(h.Push(Frames.Ethernet(PeerMac, MacAddress.Broadcast, EtherType.Arp, full.AsSpan(0, length))));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.ArpMalformed));
    }

    [Fact]
    public void ARP_flood_from_random_senders_keeps_the_cache_bounded()
    {
        var options = new Ipv4Settings { GratuitousArpCount = 0, Arp = new NeighborCacheOptions { MaxEntries = 32 } };
        var h = new SingleHost(options);
        var rnd = new SeededRandom(1234);
        for (int i = 0; i < 5000; i++)
        {
            var mac = new MacAddress(0x020000000000UL | (rnd.NextUInt64() & 0xFFFFFFFF));
            var ip = new Ipv4Address(0xC0000200u + (uint)((IRandomSource)rnd).Next(250) + 3); // 192.0.2.3-252
            h.Push(RequestFrom(mac, ip, Us));
        }
        Assert.True(h.Stack.Ipv4.Interface(0)!.Arp!.Count <= 32, "seed 1234");
    }
}
