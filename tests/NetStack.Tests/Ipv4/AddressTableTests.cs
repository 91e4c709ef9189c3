using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

public class AddressTableTests
{
    private static Ipv4Address A(string s) => Ipv4Address.Parse(s);

    private static Ipv4AddressTable TwoInterfaces()
    {
        var t = new Ipv4AddressTable();
        t.TryAdd(Ipv4Cidr.Parse("192.0.2.10/24"), 0);
        t.TryAdd(Ipv4Cidr.Parse("203.0.113.10/28"), 0);
        t.TryAdd(Ipv4Cidr.Parse("198.51.100.1/24"), 1);
        return t;
    }

    [Fact]
    public void Local_addresses_are_recognized_on_any_interface_weak_host_model_RFC1122_3_3_4_2()
    {
        var t = TwoInterfaces();
        Assert.Equal(Ipv4DestinationKind.Local, t.Classify(A("198.51.100.1"), 0));
        Assert.Equal(Ipv4DestinationKind.Local, t.Classify(A("203.0.113.10"), 0));
    }

    [Fact]
    public void Broadcast_kinds_are_classified_RFC1122_3_3_6()
    {
        var t = TwoInterfaces();
        Assert.Equal(Ipv4DestinationKind.LimitedBroadcast, t.Classify(A("255.255.255.255"), 0));
        Assert.Equal(Ipv4DestinationKind.DirectedBroadcast, t.Classify(A("192.0.2.255"), 0));
        Assert.Equal(Ipv4DestinationKind.DirectedBroadcast, t.Classify(A("203.0.113.15"), 0));
        Assert.Equal(Ipv4DestinationKind.Multicast, t.Classify(A("224.0.0.1"), 0));
        // Another interface's subnet broadcast is not a broadcast on this one.
        Assert.Equal(Ipv4DestinationKind.NotLocal, t.Classify(A("198.51.100.255"), 0));
        Assert.Equal(Ipv4DestinationKind.NotLocal, t.Classify(A("192.0.2.11"), 0));
    }

    [Fact]
    public void Slash_31_has_no_directed_broadcast_RFC3021()
    {
        var t = new Ipv4AddressTable();
        t.TryAdd(Ipv4Cidr.Parse("192.0.2.0/31"), 0);
        Assert.False(t.IsDirectedBroadcast(A("192.0.2.1")));
    }

    [Fact]
    public void Source_is_the_interface_address_on_the_next_hops_subnet_RFC1122_3_3_4_3()
    {
        var t = TwoInterfaces();
        Assert.True(t.TrySelectSource(0, A("203.0.113.1"), out var s));
        Assert.Equal(A("203.0.113.10"), s);
    }

    [Fact]
    public void Source_falls_back_to_the_primary_address_of_the_interface()
    {
        var t = TwoInterfaces();
        Assert.True(t.TrySelectSource(0, A("8.8.8.8"), out var s));
        Assert.Equal(A("192.0.2.10"), s);
    }

    [Fact]
    public void No_addresses_means_no_source()
    {
        Assert.False(new Ipv4AddressTable().TrySelectSource(0, A("192.0.2.1"), out _));
    }

    [Fact]
    public void Duplicate_and_non_unicast_addresses_are_refused()
    {
        var t = TwoInterfaces();
        Assert.False(t.TryAdd(Ipv4Cidr.Parse("192.0.2.10/24"), 1));
        Assert.False(t.TryAdd(Ipv4Cidr.Parse("224.0.0.5/24"), 1));
    }
}
