using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;

namespace NetStack.Tests.Ipv6;

/// <summary>
/// Router Advertisement processing and SLAAC are the host default, also beside static addresses (as Linux with
/// accept_ra=1 and autoconf=1 on a host that does not forward); <see cref="InterfaceConfig.Slaac"/> = false turns
/// address formation off, and a forwarding interface never autoconfigures (RFC 4862 §5.5.3, RFC 4861 §6.3.4).
/// </summary>
public class SlaacDefaultTests
{
    private static Ipv6Address A(string s) => Ipv6Address.Parse(s);
    private static readonly Ipv6Cidr Advertised = Ipv6Cidr.Parse("2001:db8:77::/64");

    private static (SimLan Net, NetworkStack Host, NetworkInterface HostIf) Build(InterfaceConfig host, StackOptions? hostOptions = null)
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var r = net.AddStack(31);
        var h = net.AddStack(32, hostOptions);
        net.Attach(r, hub, 1, new InterfaceConfig
        {
            EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::1/64")],
            RouterAdvertisements = new RouterAdvertisementConfig
            {
                MaxInterval = TimeSpan.FromSeconds(10), Prefixes = [new AdvertisedPrefix(Advertised)], DnsServers = [A("2001:db8:77::53")],
            },
        });
        var hi = net.Attach(h, hub, 2, host);
        net.Run(TimeSpan.FromSeconds(15));
        return (net, h, hi);
    }

    [Fact]
    public void The_default_is_slaac_on()
    {
        Assert.True(new InterfaceConfig().Slaac);
    }

    [Fact]
    public void A_host_with_a_static_address_still_autoconfigures_from_advertisements_RFC4862_5_5_3()
    {
        var (_, h, hi) = Build(new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::10/64")] });
        var info = h.GetIpv6Info(hi)!;
        Assert.Contains(info.Addresses, a => a.Address == A("2001:db8:1::10") && a.Origin == Ipv6AddressOrigin.Static);
        Assert.Contains(info.Addresses, a => Advertised.Contains(a.Address) && a.Origin == Ipv6AddressOrigin.Slaac && a.State == Ipv6AddressState.Preferred);
        Assert.Single(info.DefaultRouters);
        Assert.Equal([A("2001:db8:77::53")], info.DnsServers);
    }

    [Fact]
    public void Without_DAD_the_autoconfigured_address_and_router_stay_RFC4862_5_4()
    {
        var (net, h, hi) = Build(new InterfaceConfig { EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::10/64")] },
            new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } });
        net.Run(TimeSpan.FromSeconds(30));
        var info = h.GetIpv6Info(hi)!;
        Assert.Contains(info.Addresses, a => Advertised.Contains(a.Address) && a.Origin == Ipv6AddressOrigin.Slaac && a.State == Ipv6AddressState.Preferred);
        Assert.Single(info.DefaultRouters);
    }

    [Fact]
    public void A_host_with_a_static_address_and_gateway_still_autoconfigures_RFC4862_5_5_3()
    {
        var (_, h, hi) = Build(new InterfaceConfig
        {
            EnableIpv4 = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::10/64")], Ipv6Gateway = A("2001:db8:77::1"),
        });
        var info = h.GetIpv6Info(hi)!;
        Assert.Contains(info.Addresses, a => a.Address == A("2001:db8:77::10") && a.Origin == Ipv6AddressOrigin.Static);
        Assert.Contains(info.Addresses, a => Advertised.Contains(a.Address) && a.Origin == Ipv6AddressOrigin.Slaac);
    }

    [Fact]
    public void Slaac_false_forms_no_address_but_still_learns_the_router_RFC4861_6_3_4()
    {
        var (_, h, hi) = Build(new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::10/64")] });
        var info = h.GetIpv6Info(hi)!;
        Assert.DoesNotContain(info.Addresses, a => a.Origin is Ipv6AddressOrigin.Slaac or Ipv6AddressOrigin.Temporary);
        Assert.Contains(info.Addresses, a => a.Address == A("2001:db8:1::10"));
        Assert.Single(info.DefaultRouters);
    }

    [Fact]
    public void A_forwarding_interface_never_autoconfigures_RFC4861_6_2_7()
    {
        var (_, h, hi) = Build(new InterfaceConfig { EnableIpv4 = false, Forwarding = true, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:77::2/64")] });
        var info = h.GetIpv6Info(hi)!;
        Assert.DoesNotContain(info.Addresses, a => a.Origin is Ipv6AddressOrigin.Slaac or Ipv6AddressOrigin.Temporary);
        Assert.Empty(info.DefaultRouters);
    }
}
