using NetStack.Network.Ipv4;
using NetStack.Wire;

namespace NetStack.Tests.Ipv4;

public class IcmpErrorPolicyTests
{
    private static readonly Ipv4Address Host = Ipv4Address.Parse("192.0.2.5");
    private static OffendingDatagram Udp(Ipv4Address? src = null) => new(src ?? Host, false, false, 0, IpProtocol.Udp);

    [Fact]
    public void Ordinary_unicast_datagram_may_earn_an_error() => Assert.Equal(IcmpErrorVeto.None, IcmpErrorPolicy.Check(Udp()));

    [Theory]
    [InlineData(3)]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(5)]
    [InlineData(200)] // unknown types are treated as errors, as Linux icmp_send does
    public void Never_about_an_ICMP_error_RFC1122_3_2_2(int type) =>
        Assert.Equal(IcmpErrorVeto.AboutIcmpError, IcmpErrorPolicy.Check(Udp() with { Protocol = IpProtocol.Icmp, IcmpType = type }));

    [Fact]
    public void Echo_requests_may_earn_an_error() =>
        Assert.Equal(IcmpErrorVeto.None, IcmpErrorPolicy.Check(Udp() with { Protocol = IpProtocol.Icmp, IcmpType = 8 }));

    [Fact]
    public void Never_about_a_broadcast_or_multicast_destination_RFC1122_3_2_2() =>
        Assert.Equal(IcmpErrorVeto.BroadcastOrMulticastDestination, IcmpErrorPolicy.Check(Udp() with { DestinationIsBroadcastOrMulticast = true }));

    [Fact]
    public void Never_about_a_link_broadcast_RFC1122_3_2_2() =>
        Assert.Equal(IcmpErrorVeto.LinkBroadcast, IcmpErrorPolicy.Check(Udp() with { LinkBroadcast = true }));

    [Fact]
    public void Never_about_a_non_first_fragment_RFC1122_3_2_2() =>
        Assert.Equal(IcmpErrorVeto.NonFirstFragment, IcmpErrorPolicy.Check(Udp() with { FragmentOffset = 1480 }));

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("127.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.9")]
    [InlineData("240.0.0.1")]
    public void Never_to_a_source_that_is_not_a_unicast_host_RFC1122_3_2_2(string src) =>
        Assert.Equal(IcmpErrorVeto.SourceNotUnicastHost, IcmpErrorPolicy.Check(Udp(Ipv4Address.Parse(src))));

    [Fact]
    public void Never_to_a_subnet_broadcast_source() =>
        Assert.Equal(IcmpErrorVeto.SourceNotUnicastHost, IcmpErrorPolicy.Check(Udp() with { SourceIsSubnetBroadcast = true }));

    [Fact]
    public void Quote_fits_the_error_in_576_bytes_RFC1812_4_3_2_3()
    {
        Assert.Equal(548, IcmpErrorPolicy.QuoteLength(1500));
        Assert.Equal(100, IcmpErrorPolicy.QuoteLength(100));
    }
}
