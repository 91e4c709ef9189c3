using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Routing;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

public class RouteTableTests
{
    private static Ipv4Address A(string s) => Ipv4Address.Parse(s);
    private static Ipv4Route OnLink(string cidr, int ifIndex, int metric = 0) => new(Ipv4Cidr.Parse(cidr), Ipv4Address.Any, ifIndex, metric);
    private static Ipv4Route Via(string cidr, string gw, int ifIndex, int metric = 0) => new(Ipv4Cidr.Parse(cidr), A(gw), ifIndex, metric);

    [Fact]
    public void Longest_prefix_wins_RFC1812_5_2_4_3()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(Via("0.0.0.0/0", "192.0.2.1", 0));
        t.TryAdd(OnLink("198.51.100.0/24", 1));
        t.TryAdd(OnLink("198.51.100.128/25", 2));
        Assert.True(t.TryLookup(A("198.51.100.200"), out var r));
        Assert.Equal(2, r.InterfaceIndex);
        Assert.True(t.TryLookup(A("198.51.100.5"), out r));
        Assert.Equal(1, r.InterfaceIndex);
    }

    [Fact]
    public void Default_route_catches_everything_else_via_its_gateway()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(OnLink("192.0.2.0/24", 0));
        t.TryAdd(Via("0.0.0.0/0", "192.0.2.1", 0));
        Assert.True(t.TryLookup(A("203.0.113.9"), out var r));
        Assert.Equal(A("192.0.2.1"), r.NextHop(A("203.0.113.9")));
        Assert.True(t.TryLookup(A("192.0.2.9"), out r));
        Assert.Equal(A("192.0.2.9"), r.NextHop(A("192.0.2.9")));
    }

    [Fact]
    public void Equal_prefixes_prefer_the_lower_metric()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(Via("0.0.0.0/0", "192.0.2.1", 0, metric: 100));
        t.TryAdd(Via("0.0.0.0/0", "198.51.100.1", 1, metric: 10));
        Assert.True(t.TryLookup(A("203.0.113.1"), out var r));
        Assert.Equal(1, r.InterfaceIndex);
    }

    [Fact]
    public void No_matching_route_is_reported()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(OnLink("192.0.2.0/24", 0));
        Assert.False(t.TryLookup(A("203.0.113.1"), out _));
    }

    [Fact]
    public void Lookup_can_be_restricted_to_one_interface()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(OnLink("192.0.2.0/24", 0));
        t.TryAdd(OnLink("0.0.0.0/0", 1));
        Assert.True(t.TryLookup(A("192.0.2.5"), out var r, interfaceIndex: 1));
        Assert.Equal(1, r.InterfaceIndex);
    }

    [Fact]
    public void Table_is_bounded_and_refuses_duplicates()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>(capacity: 2);
        Assert.True(t.TryAdd(OnLink("192.0.2.0/24", 0)));
        Assert.False(t.TryAdd(OnLink("192.0.2.7/24", 0)));
        Assert.True(t.TryAdd(OnLink("198.51.100.0/24", 0)));
        Assert.False(t.TryAdd(OnLink("203.0.113.0/24", 0)));
        Assert.Equal(2, t.Count);
    }

    [Fact]
    public void Removing_an_interface_removes_its_routes()
    {
        var t = new RouteTable<Ipv4Route, Ipv4Address>();
        t.TryAdd(OnLink("192.0.2.0/24", 0));
        t.TryAdd(OnLink("198.51.100.0/24", 1));
        Assert.Equal(1, t.RemoveInterface(0));
        Assert.False(t.TryLookup(A("192.0.2.1"), out _));
    }
}
