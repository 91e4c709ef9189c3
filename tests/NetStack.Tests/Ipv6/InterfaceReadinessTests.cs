using NetStack.Composition;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

/// <summary>
/// <see cref="InterfaceReadiness"/> in virtual time: ready once duplicate address detection is over (RFC 4862 §5.4), at
/// once with RFC 4429 optimistic addresses, failed on a duplicate (§5.4.5), and, when a router is required, only once
/// a router advertisement gave a default router and a SLAAC address (RFC 4862 §5.5).
/// </summary>
public class InterfaceReadinessTests
{
    private static InterfaceConfig Static(string cidr) => new() { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse(cidr)] };

    [Fact]
    public void Waits_for_duplicate_address_detection_then_is_ready_and_the_address_is_a_source_RFC4862_5_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        var ia = net.Attach(a, hub, 1, Static("2001:db8::a/64"));
        var first = InterfaceReadiness.Check(a, ia, requireIpv6Router: false);
        Assert.Equal(ReadinessStatus.Waiting, first.Status);
        Assert.Contains("tentative", first.Reason, StringComparison.Ordinal);
        Assert.False(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out _));

        // Poll as the runtime does; the moment it says ready, the address must be usable as a source.
        bool ready = false;
        for (int i = 0; i < 400 && !ready; i++)
        {
            net.Run(TimeSpan.FromMilliseconds(10));
            ready = InterfaceReadiness.Check(a, ia, requireIpv6Router: false).Status == ReadinessStatus.Ready;
        }
        Assert.True(ready, "not ready after 4 s of virtual time");
        Assert.True(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out var src));
        Assert.Equal(IpAddress.Parse("2001:db8::a"), src);
        Assert.All(a.GetIpv6Info(ia)!.Addresses, x => Assert.True(x.IsUsable, $"{x.Address} {x.State}"));
    }

    [Fact]
    public void Optimistic_addresses_are_ready_at_once_RFC4429()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1, new StackOptions { Ipv6 = new Ipv6Settings { OptimisticDad = true } });
        var ia = net.Attach(a, hub, 1, Static("2001:db8::a/64"));
        Assert.Contains(a.GetIpv6Info(ia)!.Addresses, x => x.State == Ipv6AddressState.Tentative && x.Optimistic);
        Assert.Equal(InterfaceReadiness.Ready, InterfaceReadiness.Check(a, ia, requireIpv6Router: false));
    }

    [Fact]
    public void A_duplicate_static_address_fails_naming_the_address_RFC4862_5_4_5()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var b = net.AddStack(2);
        net.Attach(b, hub, 2, Static("2001:db8::a/64"));
        net.Run(TimeSpan.FromSeconds(3));
        var a = net.AddStack(1);
        var ia = net.Attach(a, hub, 1, Static("2001:db8::a/64"));
        net.Run(TimeSpan.FromSeconds(3));
        var r = InterfaceReadiness.Check(a, ia, requireIpv6Router: false);
        Assert.Equal(ReadinessStatus.Failed, r.Status);
        Assert.Contains("2001:db8::a", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_router_required_waits_for_the_advertisement_and_a_slaac_address_RFC4862_5_5()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var h = net.AddStack(32);
        var hi = net.Attach(h, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = true });
        net.Run(TimeSpan.FromSeconds(5)); // link-local DAD over; no router on the link
        Assert.Equal(ReadinessStatus.Ready, InterfaceReadiness.Check(h, hi, requireIpv6Router: false).Status);
        var waiting = InterfaceReadiness.Check(h, hi, requireIpv6Router: true);
        Assert.Equal(ReadinessStatus.Waiting, waiting.Status);
        Assert.Contains("router", waiting.Reason, StringComparison.Ordinal);

        var r = net.AddStack(31);
        net.Attach(r, hub, 1, new InterfaceConfig
        {
            EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::1/64")],
            RouterAdvertisements = new RouterAdvertisementConfig { Prefixes = [new AdvertisedPrefix(Ipv6Cidr.Parse("2001:db8:77::/64"))] },
        });
        bool ready = false;
        for (int i = 0; i < 6000 && !ready; i++)
        {
            net.Run(TimeSpan.FromMilliseconds(10));
            ready = InterfaceReadiness.Check(h, hi, requireIpv6Router: true).Status == ReadinessStatus.Ready;
        }
        Assert.True(ready, InterfaceReadiness.Check(h, hi, requireIpv6Router: true).Reason);
        var info = h.GetIpv6Info(hi)!;
        Assert.NotEmpty(info.DefaultRouters);
        Assert.True(h.TrySelectSource(IpAddress.Parse("2001:db8:99::1"), out var src));
        Assert.True(src.IsV6 && Ipv6Cidr.Parse("2001:db8:77::/64").Contains(src.V6), src.ToString());
    }
}
