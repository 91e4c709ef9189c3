using System.Net;
using System.Net.Sockets;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Tests.Api.Support;
using NetStack.Composition;

namespace NetStack.Tests.Api;

/// <summary>The async API over IPv6 (and multicast of both families) between two real-time stacks on an in-memory link.</summary>
public sealed class Ipv6ApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly IPAddress V6A = IPAddress.Parse("2001:db8::1");
    private static readonly IPAddress V6B = IPAddress.Parse("2001:db8::2");

    /// <summary>Dual-stack pair; DAD off (RFC 4862 §5.1 DupAddrDetectTransmits = 0) so the addresses are usable at once.</summary>
    private static Task<StackPair> StartAsync()
    {
        var options = new IpStackOptions { Stack = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } } };
        return StackPair.StartAsync(optionsA: options, optionsB: options,
            configA: Config("192.0.2.1/24", "2001:db8::1/64"), configB: Config("192.0.2.2/24", "2001:db8::2/64"));
    }

    private static InterfaceConfig Config(string v4, string v6) => new()
    {
        Ipv4Addresses = [Ipv4Cidr.Parse(v4)],
        Ipv6Addresses = [new Ipv6Cidr(NetStack.Wire.Ipv6Address.Parse(v6.Split('/')[0]), 64)],
        Slaac = false,
    };

    [Fact]
    public async Task Datagram_over_ipv6_arrives_with_the_hop_limit_traffic_class_and_flow_label_it_was_sent_with()
    {
        // RFC 8200 §3 / RFC 6437: hop limit, traffic class and flow label are the sender's to set per packet.
        await using var net = await StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 7000));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 0));

        await client.SendToAsync(new byte[] { 1, 2 }, new IPEndPoint(V6B, 7000), new IpSendOptions(ttl: 5, trafficClass: 0x20, flowLabel: 0xABCDE));
        var r = await server.ReceiveFromAsync(new byte[16]).AsTask().WaitAsync(Wait);

        Assert.Equal(new IPEndPoint(V6A, client.LocalEndPoint.Port), r.RemoteEndPoint);
        Assert.Equal(V6B, r.LocalAddress);
        Assert.Equal(5, r.Ttl);
        Assert.Equal(0x20, r.TrafficClass);
        Assert.Equal(0xABCDE, r.FlowLabel);
    }

    [Fact]
    public async Task Ipv6_datagram_to_a_closed_port_brings_port_unreachable_to_ReceiveErrorAsync()
    {
        // RFC 4443 §3.1: Destination Unreachable code 4 (port unreachable).
        await using var net = await StartAsync();
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 0));

        await client.SendToAsync(new byte[] { 1 }, new IPEndPoint(V6B, 9));
        var error = await client.ReceiveErrorAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(1, error.Icmp.Type);
        Assert.Equal(4, error.Icmp.Code);
        Assert.Equal(new IPEndPoint(V6B, 9), error.OriginalDestination.ToIPEndPoint());
    }

    [Fact]
    public async Task Ping_over_ipv6_succeeds_with_the_reply_hop_limit()
    {
        await using var net = await StartAsync();

        var reply = await net.A.PingAsync(V6B, TimeSpan.FromSeconds(5)).WaitAsync(Wait);

        Assert.Equal(PingStatus.Success, reply.Status);
        Assert.Equal(V6B, reply.Address);
        Assert.Equal(64, reply.Ttl);
    }

    [Fact]
    public async Task Ipv6_probe_with_hop_limit_one_is_answered_by_the_neighbour_itself()
    {
        // One hop is enough for an on-link target: the reply comes back, no Time Exceeded.
        await using var net = await StartAsync();

        var reply = await net.A.PingAsync(V6B, TimeSpan.FromSeconds(5), ttl: 1).WaitAsync(Wait);

        Assert.Equal(PingStatus.Success, reply.Status);
    }

    [Theory]
    [InlineData("ff15::1:2")]
    [InlineData("239.1.2.3")]
    public async Task Datagram_to_a_joined_multicast_group_is_received_with_the_group_as_destination(string groupText)
    {
        // RFC 1112 §7.2 / RFC 4291 §2.7: a host receives the datagrams of the groups its interface joined.
        await using var net = await StartAsync();
        var group = IPAddress.Parse(groupText);
        var any = group.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any;
        await net.B.JoinMulticastGroupAsync(group);
        await using var listener = await net.B.BindUdpAsync(new IPEndPoint(any, 5353));
        await using var sender = await net.A.BindUdpAsync(new IPEndPoint(any, 0));

        await sender.SendToAsync(new byte[] { 9 }, new IPEndPoint(group, 5353));
        var r = await listener.ReceiveFromAsync(new byte[4]).AsTask().WaitAsync(Wait);

        Assert.Equal(group, r.LocalAddress);
    }

    [Fact]
    public async Task Ipv6_datagram_to_a_group_not_joined_is_not_delivered()
    {
        await using var net = await StartAsync();
        var group = IPAddress.Parse("ff15::1:3");
        await using var listener = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 5354));
        await using var sender = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 0));

        await sender.SendToAsync(new byte[] { 9 }, new IPEndPoint(group, 5354));
        using var cts = new CancellationTokenSource(300);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.ReceiveFromAsync(new byte[4], cts.Token).AsTask());
    }

    [Fact]
    public async Task Joining_a_unicast_address_is_refused()
    {
        await using var net = await StartAsync();

        await Assert.ThrowsAsync<ArgumentException>(() => net.B.JoinMulticastGroupAsync(V6A));
    }
}
