using NetStack.Network.Ipv6;
using NetStack.Network.PathMtu;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

public class PathMtuCacheTests
{
    private static readonly Ipv6Address D = Ipv6Address.Parse("2001:db8::9");
    private static readonly Instant T0 = Instant.FromSeconds(100);

    [Fact]
    public void Packet_too_big_lowers_the_estimate_for_that_destination_only()
    {
        var c = new PathMtuCache<Ipv6Address, Ipv6Family>(16, TimeSpan.FromMinutes(10));
        Assert.Equal(1400, c.Update(D, 1400, 0, 1500, T0)); // lowered: the new estimate, not 0
        Assert.Equal(1400, c.Get(D, 1500, T0));
        Assert.Equal(1500, c.Get(Ipv6Address.Parse("2001:db8::8"), 1500, T0));
    }

    [Fact]
    public void Reported_mtu_below_1280_sets_1280_RFC8201_4()
    {
        var c = new PathMtuCache<Ipv6Address, Ipv6Family>(16, TimeSpan.FromMinutes(10));
        c.Update(D, 500, 0, 1500, T0);
        Assert.Equal(1280, c.Get(D, 1500, T0));
    }

    [Fact]
    public void Packet_too_big_never_raises_the_estimate_RFC8201_4()
    {
        var c = new PathMtuCache<Ipv6Address, Ipv6Family>(16, TimeSpan.FromMinutes(10));
        c.Update(D, 1300, 0, 1500, T0);
        Assert.Equal(0, c.Update(D, 1450, 0, 1500, T0)); // not lowered
        Assert.Equal(1300, c.Get(D, 1500, T0));
    }

    [Fact]
    public void Estimate_ages_out_after_ten_minutes()
    {
        var c = new PathMtuCache<Ipv6Address, Ipv6Family>(16, TimeSpan.FromMinutes(10));
        c.Update(D, 1300, 0, 1500, T0);
        Assert.Equal(1300, c.Get(D, 1500, T0 + TimeSpan.FromMinutes(9)));
        Assert.Equal(1500, c.Get(D, 1500, T0 + TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Cache_is_bounded()
    {
        var c = new PathMtuCache<Ipv6Address, Ipv6Family>(2, TimeSpan.FromMinutes(10));
        for (int i = 1; i <= 5; i++) c.Update(new Ipv6Address(0x2001_0db8_0000_0000UL, (ulong)i), 1300, 0, 1500, T0 + TimeSpan.FromSeconds(i));
        Assert.Equal(2, c.Count);
    }
}
