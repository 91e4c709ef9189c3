using CsCheck;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;
using static NetStack.Tests.Ipv4.Kit.SingleHost;


namespace NetStack.Tests.Ipv4;

public class ReceiveTests
{
    private static (SingleHost Host, RecordingTransport Udp) HostWithUdp()
    {
        var h = new SingleHost();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        h.Introduce();
        return (h, udp);
    }

    [Fact]
    public void Valid_unicast_datagram_reaches_its_transport_with_its_facts()
    {
        var (h, udp) = HostWithUdp();
        h.PushIp(Udp(Peer, Us, 30, ttl: 9));
        var (info, payload) = Assert.Single(udp.Received);
        Assert.Equal(Peer, info.Source.V4);
        Assert.Equal(Us, info.Destination.V4);
        Assert.Equal(9, info.Ttl);
        Assert.False(info.IsBroadcastOrMulticast);
        Assert.Equal(Frames.Pattern(30), payload);
    }

    [Fact]
    public void Bad_header_checksum_is_dropped_and_counted_RFC1122_3_2_1_2()
    {
        var (h, udp) = HostWithUdp();
        var p = Udp(Peer, Us, 30);
        p[10] ^= 0x55;
        h.PushIp(p);
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4BadChecksum));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    [InlineData(40)]
    public void Truncated_datagram_is_dropped_as_malformed(int keep)
    {
        var (h, udp) = HostWithUdp();
        var p = Udp(Peer, Us, 100);
        h.PushIp(p.AsSpan(0, keep).ToArray());
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4Malformed));
    }

    [Theory]
    [InlineData(0x44)] // IHL 4 < 5
    [InlineData(0x4F)] // IHL 15 past the total length of a short datagram
    [InlineData(0x65)] // version 6 in an IPv4 frame
    public void Bad_version_or_header_length_is_dropped_RFC791_3_1(byte versionIhl)
    {
        var (h, udp) = HostWithUdp();
        var p = Udp(Peer, Us, 8);
        p[0] = versionIhl;
        h.PushIp(p);
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4Malformed));
    }

    [Fact]
    public void Malformed_option_is_dropped_as_bad_options()
    {
        var (h, udp) = HostWithUdp();
        var p = Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, 8, OptionsLength: 4), new byte[8], [0x07, 0x09, 0x04, 0x00]);
        h.PushIp(p);
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4BadOptions));
    }

    [Fact]
    public void Valid_options_are_walked_and_ignored_RFC1122_3_2_1_8()
    {
        var (h, udp) = HostWithUdp();
        byte[] rr = [0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01]; // record route with one empty slot, then NOP
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, 8, OptionsLength: rr.Length), new byte[8], rr));
        Assert.Single(udp.Received);
    }

    [Theory]
    [InlineData("224.0.0.5")]
    [InlineData("255.255.255.255")]
    [InlineData("192.0.2.255")]
    [InlineData("127.0.0.1")]
    [InlineData("192.0.2.1")]
    public void Datagram_from_a_non_unicast_or_own_source_is_dropped_RFC1122_3_2_1_3(string source)
    {
        var (h, udp) = HostWithUdp();
        h.PushIp(Udp(Ipv4Address.Parse(source), Us, 8));
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4BadSource));
    }

    [Theory]
    [InlineData("255.255.255.255")]
    [InlineData("192.0.2.255")]
    [InlineData("224.0.0.1")]
    public void Broadcast_and_multicast_are_received_and_marked_RFC1122_3_3_6(string destination)
    {
        var (h, udp) = HostWithUdp();
        h.PushIp(Udp(Peer, Ipv4Address.Parse(destination), 8), MacAddress.Broadcast);
        var (info, _) = Assert.Single(udp.Received);
        Assert.True(info.IsBroadcastOrMulticast);
    }

    [Fact]
    public void Datagram_for_another_host_is_dropped_by_a_host_RFC1122_3_3_4_2()
    {
        var (h, udp) = HostWithUdp();
        Assert.Empty(h.PushIp(Udp(Peer, Ipv4Address.Parse("203.0.113.9"), 8)));
        Assert.Empty(udp.Received);
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.Ipv4NotForUs));
    }

    [Fact]
    public void Ethernet_padding_after_total_length_is_not_payload()
    {
        var (h, udp) = HostWithUdp();
        var p = Udp(Peer, Us, 4).Concat(new byte[18]).ToArray();
        h.PushIp(p);
        Assert.Equal(4, Assert.Single(udp.Received).Payload.Length);
    }

    [Fact]
    public void Several_addresses_on_one_interface_and_several_interfaces_are_all_ours()
    {
        var host = new TappedStack(new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } }, seed: 1);
        var l0 = host.Add(OurMac, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24"), Ipv4Cidr.Parse("203.0.113.1/24")], EnableIpv6 = false });
        host.Add(MacAddress.Parse("02:00:00:00:00:11"), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], EnableIpv6 = false });
        var udp = new RecordingTransport();
        host.Stack.RegisterTransport(IpProtocol.Udp, udp);
        foreach (var dst in new[] { "192.0.2.1", "203.0.113.1", "198.51.100.1" })
            l0.Inject(Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4, Udp(Peer, Ipv4Address.Parse(dst), 8)));
        host.Settle();
        Assert.Equal(3, udp.Received.Count);
    }

    [Fact]
    public void Random_bytes_never_throw_and_every_frame_is_accounted() =>
        Gen.Byte.Array[0, 200].Sample(bytes =>
        {
            var h = new SingleHost();
            long before = h.Stack.Statistics.TotalDrops + h.Stack.Statistics.Ipv4PacketsReceived;
            h.PushIp(bytes);
            h.Push(Frames.Ethernet(PeerMac, OurMac, EtherType.Arp, bytes));
            return h.Stack.Statistics.TotalDrops + h.Stack.Statistics.Ipv4PacketsReceived >= before + 1;
        });

    [Fact]
    public void Mutated_valid_datagrams_never_throw() =>
        Gen.Select(Gen.Int[0, 47], Gen.Byte).Sample((index, value) =>
        {
            var (h, _) = HostWithUdp();
            var p = Udp(Peer, Us, 28);
            p[index] = value;
            h.PushIp(p);
            return true;
        });
}
