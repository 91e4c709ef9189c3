using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class NextHopStructuresTests
{
    private static readonly Instant T0 = Instant.FromSeconds(50);
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);

    [Fact]
    public void Longest_on_link_prefix_matches_RFC4861_5_2()
    {
        var l = new PrefixList(8);
        l.Update(Ipv6Cidr.Parse("2001:db8::/32"), 0, 100, T0);
        l.Update(Ipv6Cidr.Parse("2001:db8:1::/48"), 1, 100, T0);
        Assert.True(l.TryMatch(A("2001:db8:1::5"), -1, T0, out var m));
        Assert.Equal(1, m.InterfaceIndex);
        Assert.False(l.TryMatch(A("2001:db9::5"), -1, T0, out _));
    }

    [Fact]
    public void Prefix_expires_with_its_valid_lifetime_and_zero_lifetime_removes_it_RFC4861_6_3_4()
    {
        var l = new PrefixList(8);
        var p = Ipv6Cidr.Parse("2001:db8::/64");
        l.Update(p, 0, 10, T0);
        Assert.False(l.TryMatch(A("2001:db8::1"), 0, T0 + TimeSpan.FromSeconds(10), out _));
        l.Update(p, 0, 10, T0);
        l.Update(p, 0, 0, T0);
        Assert.Empty(l.Entries);
        l.Update(p, 0, 0, T0); // a new prefix with zero lifetime is ignored
        Assert.Empty(l.Entries);
    }

    [Fact]
    public void Prefix_list_is_bounded()
    {
        var l = new PrefixList(1);
        Assert.True(l.Update(Ipv6Cidr.Parse("2001:db8:1::/64"), 0, 10, T0));
        Assert.False(l.Update(Ipv6Cidr.Parse("2001:db8:2::/64"), 0, 10, T0));
    }

    [Fact]
    public void Router_lifetime_zero_removes_the_router_RFC4861_6_3_4()
    {
        var r = new DefaultRouterList(4);
        Assert.Equal(RouterUpdate.Added, r.Update(A("fe80::1"), 0, TimeSpan.FromSeconds(1800), 0, T0));
        Assert.Equal(RouterUpdate.Removed, r.Update(A("fe80::1"), 0, TimeSpan.Zero, 0, T0));
        Assert.Empty(r.Routers);
    }

    [Fact]
    public void Reachable_router_is_preferred_then_round_robin_RFC4861_6_3_6()
    {
        var r = new DefaultRouterList(4);
        r.Update(A("fe80::1"), 0, TimeSpan.FromSeconds(100), 0, T0);
        r.Update(A("fe80::2"), 0, TimeSpan.FromSeconds(100), 0, T0);
        Assert.True(r.TrySelect(T0, (a, _) => a == A("fe80::2"), out var chosen));
        Assert.Equal(A("fe80::2"), chosen.Address);
        r.TrySelect(T0, (_, _) => false, out var first);
        r.TrySelect(T0, (_, _) => false, out var second);
        Assert.NotEqual(first.Address, second.Address);
    }

    [Fact]
    public void Expired_router_is_not_selected()
    {
        var r = new DefaultRouterList(4);
        r.Update(A("fe80::1"), 0, TimeSpan.FromSeconds(10), 0, T0);
        Assert.False(r.TrySelect(T0 + TimeSpan.FromSeconds(10), (_, _) => true, out _));
        Assert.True(r.Expire(T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void Destination_cache_keeps_redirects_across_redetermination_RFC4861_8_3()
    {
        var c = new DestinationCache(8);
        c.Set(A("2001:db8::1"), 0, A("fe80::1"), fromRedirect: false, T0);
        c.Set(A("2001:db8::2"), 0, A("fe80::9"), fromRedirect: true, T0);
        c.InvalidateDeterminations();
        Assert.False(c.TryGet(A("2001:db8::1"), T0, out _));
        Assert.True(c.TryGet(A("2001:db8::2"), T0, out var e));
        Assert.Equal(A("fe80::9"), e.NextHop);
        c.InvalidateNextHop(A("fe80::9"), 0);
        Assert.Equal(0, c.Count);
    }

    [Fact]
    public void Destination_cache_is_bounded_least_recently_used_out()
    {
        var c = new DestinationCache(2);
        c.Set(A("2001:db8::1"), 0, A("fe80::1"), false, T0);
        c.Set(A("2001:db8::2"), 0, A("fe80::1"), false, T0 + TimeSpan.FromSeconds(1));
        c.TryGet(A("2001:db8::1"), T0 + TimeSpan.FromSeconds(2), out _);
        c.Set(A("2001:db8::3"), 0, A("fe80::1"), false, T0 + TimeSpan.FromSeconds(3));
        Assert.True(c.TryGet(A("2001:db8::1"), T0 + TimeSpan.FromSeconds(4), out _));
        Assert.False(c.TryGet(A("2001:db8::2"), T0 + TimeSpan.FromSeconds(4), out _));
    }
}
