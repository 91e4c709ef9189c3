using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Network.PathMtu;
using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Tests.Machinery;

/// <summary>
/// The family-neutral machinery (route table, path-MTU cache) behaves the same for both families where their rules agree,
/// and keeps each family's own rule where they differ (the policy types).
/// </summary>
public class SharedMachineryTests
{
    private static readonly Instant T0 = Instant.FromSeconds(100);

    public static TheoryData<string> Families => new() { "ipv4", "ipv6" };

    /// <summary>Runs one route-table scenario for either family: prefixes are written as IPv4 and mapped into 2001:db8::/96 for IPv6.</summary>
    private interface IScenario
    {
        bool Add(string cidr, string gateway, int ifIndex, int metric = 0);
        bool Lookup(string address, int interfaceIndex, uint flowHash, out int chosenIfIndex, out string chosenGateway, out bool multipath);
    }

    private sealed class V4 : IScenario
    {
        private readonly RouteTable<Ipv4Route, Ipv4Address> _t = new();
        public bool Add(string cidr, string gateway, int ifIndex, int metric = 0) =>
            _t.TryAdd(new Ipv4Route(Ipv4Cidr.Parse(cidr), Ipv4Address.Parse(gateway), ifIndex, metric));
        public bool Lookup(string address, int interfaceIndex, uint flowHash, out int chosenIfIndex, out string chosenGateway, out bool multipath)
        {
            bool found = _t.TryLookup(Ipv4Address.Parse(address), interfaceIndex, flowHash, out var r, out multipath);
            chosenIfIndex = r.InterfaceIndex;
            chosenGateway = r.IsOnLink ? "" : r.Gateway.ToString();
            return found;
        }
    }

    private sealed class V6 : IScenario
    {
        private readonly RouteTable<Ipv6Route, Ipv6Address> _t = new();
        // a.b.c.d becomes 2001:db8::/96 with the IPv4 address in its last 32 bits; 0.0.0.0 (on-link) becomes ::.
        private static Ipv6Address Map(string v4) =>
            v4 == "0.0.0.0" ? Ipv6Address.Unspecified : new Ipv6Address(0x2001_0db8_0000_0000UL, Ipv4Address.Parse(v4).Value);
        public bool Add(string cidr, string gateway, int ifIndex, int metric = 0)
        {
            var parts = cidr.Split('/');
            int length = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            // 0.0.0.0/0 stays the default route; other prefixes sit in 2001:db8::/96.
            var prefix = length == 0 ? new Ipv6Cidr(Ipv6Address.Unspecified, 0) : new Ipv6Cidr(Map(parts[0]), 96 + length);
            return _t.TryAdd(new Ipv6Route(prefix, Map(gateway), ifIndex, metric));
        }
        public bool Lookup(string address, int interfaceIndex, uint flowHash, out int chosenIfIndex, out string chosenGateway, out bool multipath)
        {
            bool found = _t.TryLookup(Map(address), interfaceIndex, flowHash, out var r, out multipath);
            chosenIfIndex = r.InterfaceIndex;
            chosenGateway = r.IsOnLink ? "" : new Ipv4Address((uint)r.Gateway.Low).ToString();
            return found;
        }
    }

    private static IScenario For(string family) => family == "ipv4" ? new V4() : new V6();

    [Theory, MemberData(nameof(Families))]
    public void Longest_prefix_then_lowest_metric_wins_RFC1812_5_2_4_3(string family)
    {
        var t = For(family);
        Assert.True(t.Add("0.0.0.0/0", "192.0.2.1", 0));
        Assert.True(t.Add("198.51.100.0/24", "0.0.0.0", 1));
        Assert.True(t.Add("198.51.100.128/25", "0.0.0.0", 2, metric: 50));
        Assert.True(t.Add("198.51.100.128/25", "0.0.0.0", 3, metric: 10));
        Assert.True(t.Lookup("198.51.100.200", -1, 0, out int ifIndex, out _, out bool multipath));
        Assert.Equal(3, ifIndex);
        Assert.False(multipath);
        Assert.True(t.Lookup("198.51.100.5", -1, 0, out ifIndex, out _, out _));
        Assert.Equal(1, ifIndex);
        Assert.True(t.Lookup("203.0.113.9", -1, 0, out ifIndex, out string gw, out _));
        Assert.Equal(0, ifIndex);
        Assert.Equal("192.0.2.1", gw);
        Assert.True(t.Lookup("198.51.100.200", 2, 0, out ifIndex, out _, out _)); // restricted to one interface
        Assert.Equal(2, ifIndex);
    }

    [Theory, MemberData(nameof(Families))]
    public void Equal_cost_gateways_are_chosen_by_flow_hash_and_each_flow_keeps_its_path(string family)
    {
        var t = For(family);
        Assert.True(t.Add("0.0.0.0/0", "192.0.2.1", 0, metric: 5));
        Assert.True(t.Add("0.0.0.0/0", "192.0.2.2", 0, metric: 5));
        Assert.True(t.Add("0.0.0.0/0", "192.0.2.3", 1, metric: 5));
        Assert.True(t.Add("0.0.0.0/0", "192.0.2.9", 1, metric: 6)); // costlier: never chosen
        var seen = new HashSet<string>();
        for (uint hash = 0; hash < 12; hash++)
        {
            Assert.True(t.Lookup("203.0.113.1", -1, hash, out _, out string gw, out bool multipath));
            Assert.True(multipath);
            Assert.True(t.Lookup("203.0.113.1", -1, hash, out _, out string again, out _));
            Assert.Equal(gw, again);
            seen.Add(gw);
        }
        Assert.Equal(new HashSet<string> { "192.0.2.1", "192.0.2.2", "192.0.2.3" }, seen);
        // Restricted to interface 1, only its equal-cost route remains: no multipath choice.
        Assert.True(t.Lookup("203.0.113.1", 1, 7, out int ifIndex, out string only, out bool multi));
        Assert.Equal(1, ifIndex);
        Assert.Equal("192.0.2.3", only);
        Assert.False(multi);
    }

    [Theory, MemberData(nameof(Families))]
    public void On_link_routes_are_never_multipath(string family)
    {
        var t = For(family);
        Assert.True(t.Add("198.51.100.0/24", "0.0.0.0", 0));
        Assert.True(t.Add("198.51.100.0/24", "0.0.0.0", 1));
        Assert.True(t.Lookup("198.51.100.7", -1, 1, out int ifIndex, out _, out bool multipath));
        Assert.False(multipath);
        Assert.Equal(0, ifIndex); // the one added first
        Assert.False(t.Add("198.51.100.0/24", "0.0.0.0", 1)); // an identical route is refused
    }

    [Fact]
    public void Path_mtu_floors_differ_by_family_68_and_1280_RFC1191_3_RFC8201_4()
    {
        var v4 = new PathMtuCache<Ipv4Address, Ipv4Family>();
        var v6 = new PathMtuCache<Ipv6Address, Ipv6Family>();
        Assert.Equal(68, v4.MinimumMtu);
        Assert.Equal(1280, v6.MinimumMtu);
        Assert.Equal(552, new PathMtuCache<Ipv4Address, Ipv4Family>(minimumMtu: 552).MinimumMtu); // Linux min_pmtu
        Assert.Equal(1280, new PathMtuCache<Ipv6Address, Ipv6Family>(minimumMtu: 552).MinimumMtu); // never below the family's floor
        // A report without an MTU: IPv4 guesses the RFC 1191 §5 plateau below the quoted length; IPv6 sets the 1280 floor.
        Assert.Equal(1492, v4.Update(Ipv4Address.Parse("203.0.113.7"), 0, 1500, 1500, T0));
        Assert.Equal(1280, v6.Update(Ipv6Address.Parse("2001:db8::7"), 0, 1500, 1500, T0));
    }

    [Theory, MemberData(nameof(Families))]
    public void Path_mtu_poll_forgets_expired_estimates_and_reports_the_next_expiry(string family)
    {
        var expiry = TimeSpan.FromMinutes(10);
        if (family == "ipv4")
        {
            var c = new PathMtuCache<Ipv4Address, Ipv4Family>(expiry: expiry);
            c.Update(Ipv4Address.Parse("203.0.113.7"), 1400, 1500, 1500, T0);
            c.Update(Ipv4Address.Parse("203.0.113.8"), 1400, 1500, 1500, T0 + TimeSpan.FromMinutes(1));
            Assert.Equal(T0 + expiry, c.Poll(T0));
            Assert.Equal(T0 + TimeSpan.FromMinutes(11), c.Poll(T0 + expiry));
            Assert.Equal(1, c.Count);
        }
        else
        {
            var c = new PathMtuCache<Ipv6Address, Ipv6Family>(expiry: expiry);
            c.Update(Ipv6Address.Parse("2001:db8::7"), 1400, 0, 1500, T0);
            c.Update(Ipv6Address.Parse("2001:db8::8"), 1400, 0, 1500, T0 + TimeSpan.FromMinutes(1));
            Assert.Equal(T0 + expiry, c.Poll(T0));
            Assert.Equal(T0 + TimeSpan.FromMinutes(11), c.Poll(T0 + expiry));
            Assert.Equal(1, c.Count);
        }
    }
}
