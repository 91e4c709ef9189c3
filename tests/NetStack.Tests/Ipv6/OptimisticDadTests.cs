using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tests.Ipv6.Support;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Ipv6;

/// <summary>RFC 4429 Optimistic DAD (<see cref="Ipv6Settings.OptimisticDad"/>): usable at once, with the NDP restrictions.</summary>
public class OptimisticDadTests
{
    private static readonly StackOptions Optimistic = new() { Ipv6 = new Ipv6Settings { OptimisticDad = true } };

    [Fact]
    public void Off_by_default_a_new_address_is_tentative_and_unusable_RFC4862_5_4()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1);
        net.Attach(a, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        Assert.False(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out _));
    }

    [Fact]
    public void An_optimistic_address_is_usable_at_once_and_resolves_its_neighbour_RFC4429()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var a = net.AddStack(1, Optimistic);
        var b = net.AddStack(2);
        var ib = net.Attach(b, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::b/64")] });
        net.Run(TimeSpan.FromSeconds(3)); // B is settled; A arrives now
        var ia = net.Attach(a, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        var mine = Ipv6Address.Parse("2001:db8::a");
        Assert.Contains(a.GetIpv6Info(ia)!.Addresses, x => x.Address == mine && x.State == Ipv6AddressState.Tentative);
        // §2.1: usable (as a deprecated address would be) before DAD is over.
        Assert.True(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out var src));
        Assert.Equal(new IpAddress(mine), src);

        using var echo = a.OpenIcmpv6Echo(0x4429);
        Assert.Equal(IpSendResult.Sent, echo.SendEcho(Ipv6Address.Parse("2001:db8::b"), 1, new byte[8], net.Now));
        net.Run(TimeSpan.FromMilliseconds(200)); // well before DAD could end (up to 1 s delay + 1 s RetransTimer)
        Assert.Contains(a.GetIpv6Info(ia)!.Addresses, x => x.Address == mine && x.State == Ipv6AddressState.Tentative);
        Assert.True(echo.TryReceive(out var reply));
        Assert.Equal(Ipv6Address.Parse("2001:db8::b"), reply.From);

        var sentByA = V6Frames.Icmpv6Sent(hub, hub.Devices[1]);
        // §2.2.2: a solicitation from the optimistic address carries no source link-layer address option.
        var ns = sentByA.Where(m => m.Type == Icmpv6Type.NeighborSolicitation && m.Src == mine).ToList();
        Assert.NotEmpty(ns);
        Assert.All(ns, m => { Assert.True(NdpMessage.TryParse(m.Message, out var nd, out _)); Assert.Null(nd.SourceLinkLayerAddress); });
        // §2.2.1: B had to ask for our address; the answer has the Override flag clear.
        var na = sentByA.Where(m => m.Type == Icmpv6Type.NeighborAdvertisement && m.Src == mine).ToList();
        Assert.NotEmpty(na);
        Assert.All(na, m => { Assert.True(NdpMessage.TryParse(m.Message, out var nd, out _)); Assert.False(nd.OverrideFlag); });

        // DAD still runs and ends as usual: preferred.
        net.Run(TimeSpan.FromSeconds(3));
        Assert.Contains(a.GetIpv6Info(ia)!.Addresses, x => x.Address == mine && x.State == Ipv6AddressState.Preferred);
        _ = ib;
    }

    [Fact]
    public void A_duplicate_found_while_optimistic_ends_the_address()
    {
        var net = new SimLan();
        var hub = net.AddSegment();
        var b = net.AddStack(2);
        net.Attach(b, hub, 2, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        net.Run(TimeSpan.FromSeconds(3));
        var a = net.AddStack(1, Optimistic);
        var ia = net.Attach(a, hub, 1, new InterfaceConfig { EnableIpv4 = false, Slaac = false, Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::a/64")] });
        Assert.True(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out _));
        net.Run(TimeSpan.FromSeconds(3));
        Assert.Contains(a.GetIpv6Info(ia)!.Addresses, x => x.Address == Ipv6Address.Parse("2001:db8::a") && x.State == Ipv6AddressState.Duplicate);
        Assert.False(a.TrySelectSource(IpAddress.Parse("2001:db8::b"), out var s) && s == IpAddress.Parse("2001:db8::a"));
    }
}
