using NetStack.Network.Ipv4;
using NetStack.Network.PathMtu;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

public class PathMtuCacheTests
{
    private static readonly Ipv4Address Dst = Ipv4Address.Parse("203.0.113.7");
    private static readonly Instant T0 = Instant.FromSeconds(100);

    [Fact]
    public void A_report_lowers_the_estimate_for_that_destination_only_RFC1191_4()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>();
        Assert.Equal(1400, c.Update(Dst, 1400, 1500, 1500, T0));
        Assert.Equal(1400, c.Get(Dst, 1500, T0));
        Assert.Equal(1500, c.Get(Ipv4Address.Parse("203.0.113.8"), 1500, T0));
    }

    [Fact]
    public void Estimate_never_increases_on_a_report_RFC1191_3()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>();
        c.Update(Dst, 1200, 1500, 1500, T0);
        Assert.Equal(0, c.Update(Dst, 1400, 1500, 1500, T0));
        Assert.Equal(1200, c.Get(Dst, 1500, T0));
    }

    [Fact]
    public void Estimate_never_goes_below_68_RFC1191_3()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>();
        c.Update(Dst, 20, 1500, 1500, T0);
        Assert.Equal(68, c.Get(Dst, 1500, T0));
    }

    [Fact]
    public void Report_without_mtu_uses_the_next_plateau_RFC1191_5()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>();
        c.Update(Dst, 0, 1500, 1500, T0);
        Assert.Equal(1492, c.Get(Dst, 1500, T0));
    }

    [Fact]
    public void Estimate_ages_out_after_ten_minutes_RFC1191_6_3()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>();
        c.Update(Dst, 1280, 1500, 1500, T0);
        Assert.Equal(1280, c.Get(Dst, 1500, T0 + TimeSpan.FromMinutes(9)));
        Assert.Equal(T0 + TimeSpan.FromMinutes(10), c.Poll(T0 + TimeSpan.FromMinutes(9)));
        Assert.Equal(1500, c.Get(Dst, 1500, T0 + TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Cache_is_bounded()
    {
        var c = new PathMtuCache<Ipv4Address, Ipv4Family>(capacity: 4);
        for (uint i = 0; i < 100; i++) c.Update(new Ipv4Address(0xCB007100 + i), 1000, 1500, 1500, T0);
        Assert.Equal(4, c.Count);
    }
}
