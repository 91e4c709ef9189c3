using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Tests.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>A NetStack router's advertising interface (RFC 4861 §6.2) and a NetStack host configured by it.</summary>
public class RouterAdvertisementTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    private static readonly RouterAdvertisementConfig Config = new()
    {
        MaxInterval = TimeSpan.FromSeconds(60),
        LinkMtu = 1400,
        ReachableTime = TimeSpan.FromSeconds(20),
        Prefixes = [new AdvertisedPrefix(Ipv6Cidr.Parse("2001:db8:77::/64"))],
        DnsServers = [A("2001:db8:77::53")],
    };

    private sealed record Link(SimLan Net, SimSegment Hub, NetworkStack Router, NetworkInterface RouterIf, NetworkStack Host, NetworkInterface HostIf);

    private static Link Build(RouterAdvertisementConfig? config = null, bool hostFirst = false)
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var r = net.AddStack(21);
        var h = net.AddStack(22);
        var ri = net.Attach(r, hub, 1, new InterfaceConfig
        {
            EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::1/64")], RouterAdvertisements = config ?? Config,
        });
        var hi = net.Attach(h, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = true });
        return new Link(net, hub, r, ri, h, hi);
    }

    private static List<(Icmpv6Type Type, byte Code, byte[] Message, Ipv6Address Src, Ipv6Address Dst, byte HopLimit)> Advertisements(Link l) =>
        V6Frames.Icmpv6Sent(l.Hub, l.Hub.Devices[0]).Where(m => m.Type == Icmpv6Type.RouterAdvertisement).ToList();

    [Fact]
    public void A_host_configures_itself_from_our_advertisements_RFC4861_6_2_RFC4862_RFC8106()
    {
        var l = Build();
        l.Net.Run(TimeSpan.FromSeconds(10));
        var info = l.Host.GetIpv6Info(l.HostIf)!;
        Assert.Contains(info.Addresses, a => new Ipv6Cidr(A("2001:db8:77::"), 64).Contains(a.Address) && a.Origin == Ipv6AddressOrigin.Slaac);
        var routerLinkLocal = l.Router.GetIpv6Info(l.RouterIf)!.Addresses.Single(a => a.Origin == Ipv6AddressOrigin.LinkLocal).Address;
        Assert.Equal([routerLinkLocal], info.DefaultRouters);
        Assert.Equal([A("2001:db8:77::53")], info.DnsServers);
        Assert.Equal(1400, info.LinkMtu);
        Assert.Equal(TimeSpan.FromSeconds(20), info.BaseReachableTime);
    }

    [Fact]
    public void Advertisements_come_from_the_link_local_address_to_all_nodes_with_hop_limit_255_and_our_values_RFC4861_6_2_3()
    {
        var l = Build();
        l.Net.Run(TimeSpan.FromSeconds(5));
        var ra = Advertisements(l).First();
        Assert.True(ra.Src.IsLinkLocal);
        Assert.Equal(Ipv6Address.AllNodes, ra.Dst);
        Assert.Equal(255, ra.HopLimit);
        Assert.True(NdpMessage.TryParse(ra.Message, out var nd, out var e), e.ToString());
        Assert.Equal(64, nd.CurHopLimit);
        Assert.Equal(180, nd.RouterLifetime); // 3 × MaxRtrAdvInterval
        Assert.Equal(20_000u, nd.ReachableTime);
        Assert.Equal(SimLan.Mac(1), nd.SourceLinkLayerAddress);
        var prefixes = new List<(int, bool, bool, uint, uint, Ipv6Address)>();
        uint mtu = 0;
        foreach (var o in nd.Options)
        {
            if (o.Type == NdpOptionType.PrefixInformation) prefixes.Add((o.PrefixLength, o.OnLink, o.Autonomous, o.ValidLifetime, o.PreferredLifetime, o.Prefix));
            if (o.Type == NdpOptionType.Mtu) mtu = o.Mtu;
        }
        Assert.Equal([(64, true, true, 2_592_000u, 604_800u, A("2001:db8:77::"))], prefixes);
        Assert.Equal(1400u, mtu);
    }

    [Fact]
    public void Tshark_dissects_our_advertisement_cleanly()
    {
        var l = Build();
        l.Net.Run(TimeSpan.FromSeconds(5));
        var frame = l.Hub.Log.First(f => f.From == l.Hub.Devices[0] && V6Frames.TryIpv6(f.Frame, out var ip)
            && ip.NextHeader == IpProtocol.Icmpv6 && ip.Payload[0] == (byte)Icmpv6Type.RouterAdvertisement).Frame;
        string pcap = Path.Combine(Path.GetTempPath(), $"netstack-ra-{Environment.ProcessId}-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var w = new PcapWriter(File.Create(pcap), Medium.Ethernet)) w.Write(frame, l.Net.Now);
            var row = Tshark.Fields(pcap, ["icmpv6.type", "icmpv6.checksum.status", "icmpv6.nd.ra.router_lifetime", "icmpv6.opt.prefix",
                "icmpv6.opt.prefix.valid_lifetime", "icmpv6.opt.mtu", "icmpv6.opt.rdnss", "icmpv6.opt.linkaddr", "_ws.malformed", "_ws.expert"],
                null)[1];
            Assert.Equal(["134", "1", "180", "2001:db8:77::", "2592000", "1400", "2001:db8:77::53", "02:00:00:00:00:01", "", ""], row);
        }
        finally
        {
            File.Delete(pcap);
        }
    }

    [Fact]
    public void The_first_three_advertisements_are_at_most_16_seconds_apart_then_between_Min_and_Max_RFC4861_6_2_4()
    {
        var l = Build(Config with { MaxInterval = TimeSpan.FromSeconds(600) });
        var times = new List<double>();
        for (int s = 0; s < 3000; s++)
        {
            int before = Advertisements(l).Count;
            l.Net.Run(TimeSpan.FromSeconds(1));
            if (Advertisements(l).Count > before) times.Add(l.Net.Now.Microseconds / 1e6);
        }
        Assert.True(times.Count >= 5, string.Join(", ", times));
        var gaps = times.Zip(times.Skip(1), (a, b) => b - a).ToList();
        Assert.All(gaps.Take(2), g => Assert.InRange(g, 0, 16.5));
        Assert.All(gaps.Skip(2), g => Assert.InRange(g, 198 - 1, 600 + 1)); // MinRtrAdvInterval = 0.33 × 600
    }

    [Fact]
    public void A_solicitation_is_answered_within_half_a_second_but_never_within_3_seconds_of_the_last_RFC4861_6_2_6()
    {
        var l = Build(Config with { MaxInterval = TimeSpan.FromSeconds(1800) });
        l.Net.Run(TimeSpan.FromSeconds(60)); // the initial advertisements are over (16 s apart at most)
        int before = Advertisements(l).Count;
        Solicit(l);
        l.Net.Run(TimeSpan.FromMilliseconds(600));
        Assert.Equal(before + 1, Advertisements(l).Count);
        Solicit(l);
        l.Net.Run(TimeSpan.FromSeconds(2));
        Assert.Equal(before + 1, Advertisements(l).Count); // MIN_DELAY_BETWEEN_RAS
        l.Net.Run(TimeSpan.FromSeconds(1.5));
        Assert.Equal(before + 2, Advertisements(l).Count);
    }

    private static void Solicit(Link l)
    {
        var rs = new RouterSolicitationRepr(ReadOnlyMemory<NdpOptionRepr>.Empty);
        var m = new byte[rs.BufferLength];
        rs.Write(m, Ipv6Address.Unspecified, Ipv6Address.AllRouters);
        l.Router.Receive(l.RouterIf, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllRouters), Ipv6Address.Unspecified, Ipv6Address.AllRouters, m, hop: 255), l.Net.Now);
    }

    [Fact]
    public void A_host_interface_cannot_advertise_RFC4861_6_3_4()
    {
        var net = new SimLan();
        var s = net.AddStack(1);
        Assert.Throws<ArgumentException>(() => net.Attach(s, net.AddSegment(), 1, new InterfaceConfig { EnableIpv4 = false, RouterAdvertisements = Config }));
    }

    [Theory]
    [InlineData(3, null)]    // MaxRtrAdvInterval below 4 s
    [InlineData(600, 500)]   // MinRtrAdvInterval above 0.75 × Max
    public void Intervals_outside_RFC4861_6_2_1_are_refused(int max, int? min)
    {
        var net = new SimLan();
        var s = net.AddStack(1);
        var bad = Config with { MaxInterval = TimeSpan.FromSeconds(max), MinInterval = min is { } m ? TimeSpan.FromSeconds(m) : null };
        Assert.Throws<ArgumentException>(() => net.Attach(s, net.AddSegment(), 1, new InterfaceConfig { EnableIpv4 = false, Forwarding = true, RouterAdvertisements = bad }));
    }

    [Fact]
    public void Another_routers_inconsistent_advertisement_is_counted_RFC4861_6_2_7()
    {
        var l = Build();
        l.Net.Run(TimeSpan.FromSeconds(3));
        var other = new RouterAdvertisementRepr(32, false, false, 1800, 0, 0, new[] { NdpOptionRepr.MtuOption(1280) });
        var m = new byte[other.BufferLength];
        other.Write(m, A("fe80::99"), Ipv6Address.AllNodes);
        l.Router.Receive(l.RouterIf, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), A("fe80::99"), Ipv6Address.AllNodes, m, hop: 255), l.Net.Now);
        Assert.Equal(1, l.Router.Statistics.RouterAdvertisementsInconsistent);
        Assert.Empty(l.Router.GetIpv6Info(l.RouterIf)!.DefaultRouters); // a router does not configure itself from it
    }

    [Fact]
    public void Stopping_sends_three_final_advertisements_with_lifetime_0_and_hosts_drop_the_router_RFC4861_6_2_5()
    {
        var l = Build();
        l.Net.Run(TimeSpan.FromSeconds(10));
        Assert.Single(l.Host.GetIpv6Info(l.HostIf)!.DefaultRouters);
        int before = Advertisements(l).Count;
        Assert.True(l.Router.StopRouterAdvertisements(l.RouterIf, l.Net.Now));
        Assert.False(l.Router.StopRouterAdvertisements(l.RouterIf, l.Net.Now));
        l.Net.Run(TimeSpan.FromSeconds(1));
        Assert.Empty(l.Host.GetIpv6Info(l.HostIf)!.DefaultRouters); // at once, not when 180 s run out
        Solicit(l);
        l.Net.Run(TimeSpan.FromMinutes(10));
        var finals = Advertisements(l).Skip(before).ToList();
        Assert.Equal(3, finals.Count); // MAX_FINAL_RTR_ADVERTISEMENTS, then silence (the solicitation unanswered)
        Assert.All(finals, f =>
        {
            Assert.True(NdpMessage.TryParse(f.Message, out var nd, out _));
            Assert.Equal(0, nd.RouterLifetime);
        });
    }
}
