using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>Temporary addresses (RFC 8981) formed by a NetStack host from a NetStack router's advertisements.</summary>
public class TemporaryAddressTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);
    private static readonly Ipv6Cidr Prefix = Ipv6Cidr.Parse("2001:db8:77::/64");

    private sealed record Link(SimLan Net, NetworkStack Host, NetworkInterface HostIf);

    private static Link Build(Ipv6Settings host, TimeSpan? prefixPreferred = null, Func<Link, bool>? until = null)
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var r = net.AddStack(31);
        var h = net.AddStack(32, new StackOptions { Ipv6 = host });
        net.Attach(r, hub, 1, new InterfaceConfig
        {
            EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::1/64")],
            RouterAdvertisements = new RouterAdvertisementConfig
            {
                MaxInterval = TimeSpan.FromSeconds(30),
                Prefixes = [new AdvertisedPrefix(Prefix) { PreferredLifetime = prefixPreferred ?? TimeSpan.FromDays(7) }],
            },
        });
        var hi = net.Attach(h, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = true });
        var link = new Link(net, h, hi);
        if (until is null) net.Run(TimeSpan.FromSeconds(10));
        else for (int i = 0; i < 400 && !until(link); i++) net.Run(TimeSpan.FromMilliseconds(25));
        return link;
    }

    private static List<Ipv6AddressInfo> Addresses(Link l, Ipv6AddressOrigin origin) =>
        l.Host.GetIpv6Info(l.HostIf)!.Addresses.Where(a => a.Origin == origin).ToList();

    private static Ipv6Address SourceToward(Link l, string destination)
    {
        Assert.True(l.Host.TrySelectSource(new IpAddress(A(destination)), out var source));
        return source.V6;
    }

    [Fact]
    public void With_temporary_addresses_on_a_SLAAC_prefix_gets_a_random_second_address_with_capped_lifetimes_RFC8981_3_4()
    {
        var l = Build(new Ipv6Settings { TemporaryAddresses = TemporaryAddressMode.Prefer });
        var pub = Assert.Single(Addresses(l, Ipv6AddressOrigin.Slaac));
        var temp = Assert.Single(Addresses(l, Ipv6AddressOrigin.Temporary));
        Assert.True(Prefix.Contains(temp.Address));
        Assert.NotEqual(pub.Address.Low, temp.Address.Low);
        Assert.Equal(Ipv6AddressState.Preferred, temp.State);
        var now = l.Net.Now;
        Assert.InRange((temp.ValidUntil - now).TotalHours, 47.9, 48);                 // TEMP_VALID_LIFETIME, below the prefix's 30 days
        Assert.InRange((temp.PreferredUntil - now).TotalHours, 24 * 0.6 - 0.1, 24);    // TEMP_PREFERRED_LIFETIME - DESYNC_FACTOR (at most 0.4 of it)
        Assert.Equal(1, l.Host.Statistics.TemporaryAddressesFormed);
    }

    [Fact]
    public void Prefer_chooses_the_temporary_address_as_source_and_Generate_the_public_one_RFC6724_rule_7()
    {
        var prefer = Build(new Ipv6Settings { TemporaryAddresses = TemporaryAddressMode.Prefer });
        Assert.Equal(Assert.Single(Addresses(prefer, Ipv6AddressOrigin.Temporary)).Address, SourceToward(prefer, "2001:db8:99::1"));
        var generate = Build(new Ipv6Settings { TemporaryAddresses = TemporaryAddressMode.Generate });
        Assert.Single(Addresses(generate, Ipv6AddressOrigin.Temporary));
        Assert.Equal(Assert.Single(Addresses(generate, Ipv6AddressOrigin.Slaac)).Address, SourceToward(generate, "2001:db8:99::1"));
    }

    [Fact]
    public void Off_forms_none()
    {
        var l = Build(new Ipv6Settings());
        Assert.Empty(Addresses(l, Ipv6AddressOrigin.Temporary));
        Assert.Single(Addresses(l, Ipv6AddressOrigin.Slaac));
    }

    [Fact]
    public void A_successor_is_formed_before_deprecation_so_a_preferred_temporary_address_is_always_there_RFC8981_3_5()
    {
        var l = Build(new Ipv6Settings
        {
            TemporaryAddresses = TemporaryAddressMode.Prefer,
            TemporaryPreferredLifetime = TimeSpan.FromMinutes(10),
            TemporaryValidLifetime = TimeSpan.FromMinutes(20),
        });
        var seen = new HashSet<Ipv6Address>();
        for (int minute = 0; minute < 45; minute++)
        {
            l.Net.Run(TimeSpan.FromMinutes(1));
            var temps = Addresses(l, Ipv6AddressOrigin.Temporary);
            Assert.Contains(temps, t => t.State == Ipv6AddressState.Preferred);
            Assert.True(temps.Count <= 3, string.Join(", ", temps));          // expired ones go (valid lifetime 20 min)
            foreach (var t in temps) seen.Add(t.Address);
        }
        Assert.InRange(seen.Count, 5, 12);                                     // one new identifier every 6-10 minutes
    }

    [Fact]
    public void No_temporary_address_when_the_prefix_is_preferred_for_less_than_REGEN_ADVANCE_RFC8981_3_4()
    {
        var l = Build(new Ipv6Settings { TemporaryAddresses = TemporaryAddressMode.Prefer }, prefixPreferred: TimeSpan.FromSeconds(4));
        Assert.Single(Addresses(l, Ipv6AddressOrigin.Slaac));
        Assert.Empty(Addresses(l, Ipv6AddressOrigin.Temporary));
    }

    [Fact]
    public void A_temporary_address_found_in_use_by_DAD_is_replaced_by_a_new_identifier_RFC8981_3_4()
    {
        static bool Tentative(Link l) => Addresses(l, Ipv6AddressOrigin.Temporary).Any(a => a.State == Ipv6AddressState.Tentative);
        var l = Build(new Ipv6Settings { TemporaryAddresses = TemporaryAddressMode.Prefer }, until: Tentative);
        Assert.True(Tentative(l), string.Join("; ", l.Host.GetIpv6Info(l.HostIf)!.Addresses) + " at " + l.Net.Now);
        var conflicted = Assert.Single(Addresses(l, Ipv6AddressOrigin.Temporary)).Address;
        // Another node already has it: its advertisement arrives while our DAD runs (RFC 4862 §5.4.4).
        var na = new NeighborAdvertisementRepr(false, false, true, conflicted, new[] { NdpOptionRepr.TargetLinkLayer(MacAddress.Parse("02:ee:00:00:00:01")) });
        var m = new byte[na.BufferLength];
        na.Write(m, conflicted, Ipv6Address.AllNodes);
        l.Host.Receive(l.HostIf, V6Frames.Icmp(MacAddress.ForIpv6Multicast(Ipv6Address.AllNodes), conflicted, Ipv6Address.AllNodes, m, hop: 255), l.Net.Now);
        l.Net.Run(TimeSpan.FromSeconds(5));
        var temp = Assert.Single(Addresses(l, Ipv6AddressOrigin.Temporary));
        Assert.NotEqual(conflicted, temp.Address);
        Assert.Equal(Ipv6AddressState.Preferred, temp.State);
        Assert.Equal(2, l.Host.Statistics.TemporaryAddressesFormed);
    }
}
