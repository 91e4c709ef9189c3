using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Tests.Api.Support;
using NetStack.Transport.Udp;
using NetStack.Composition;

namespace NetStack.Tests.Api;

/// <summary>
/// A UDP socket bound to <see cref="IPAddress.Any"/> (or <see cref="IPAddress.IPv6Any"/>) is dual-stack, as a .NET
/// <c>Socket</c> with <c>DualMode</c> or a Linux socket on <c>::</c> with IPV6_V6ONLY off: it sends to both families and
/// receives the replies of both (issue 14: the IPv6 reply used to get port unreachable). Two dual-stack stacks on an
/// in-memory link, seeded.
/// </summary>
public sealed class UdpDualStackTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly IPAddress V4A = IPAddress.Parse("192.0.2.1"), V4B = IPAddress.Parse("192.0.2.2");
    private static readonly IPAddress V6A = IPAddress.Parse("2001:db8::1"), V6B = IPAddress.Parse("2001:db8::2");

    private static Task<StackPair> StartAsync(UdpOptions? udpB = null)
    {
        // DAD off (RFC 4862 §5.1 DupAddrDetectTransmits = 0) so that the IPv6 addresses are usable at once.
        var options = new IpStackOptions { Stack = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } } };
        return StackPair.StartAsync(udpB: udpB, optionsA: options, optionsB: options,
            configA: Config("192.0.2.1/24", "2001:db8::1"), configB: Config("192.0.2.2/24", "2001:db8::2"));
    }

    private static InterfaceConfig Config(string v4, string v6) => new()
    {
        Ipv4Addresses = [Ipv4Cidr.Parse(v4)],
        Ipv6Addresses = [new Ipv6Cidr(NetStack.Wire.Ipv6Address.Parse(v6), 64)],
        Slaac = false,
    };

    private static async Task<NetStack.Sockets.UdpReceiveResult> Receive(AsyncUdpSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait);
        return await socket.ReceiveFromAsync(new byte[64], timeout.Token);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    public async Task A_wildcard_socket_sends_to_both_families_and_gets_both_replies(string wildcard)
    {
        await using var net = await StartAsync();
        await using var server = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Parse(wildcard), 7));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Parse(wildcard), 0));
        int port = client.LocalEndPoint.Port;

        foreach (var (to, from) in new[] { (V6B, V6A), (V4B, V4A) })
        {
            await client.SendToAsync("ping"u8.ToArray(), new IPEndPoint(to, 7));
            var request = await Receive(server);
            // The peer as it is, of its own family (DualMode would show an IPv4 peer as ::ffff:192.0.2.1).
            Assert.Equal(new IPEndPoint(from, port), request.RemoteEndPoint);
            Assert.Equal(to, request.LocalAddress);
            await server.SendToAsync("pong"u8.ToArray(), request.RemoteEndPoint);

            var reply = await Receive(client);
            Assert.Equal(new IPEndPoint(to, 7), reply.RemoteEndPoint);
            Assert.Equal(from, reply.LocalAddress); // RFC 6724: the source chosen for the destination's family
        }
        Assert.Equal(0, net.A.Stack.Statistics.Drops(DropReason.UdpNoSocket));
        Assert.Equal(0, net.B.Stack.Statistics.Drops(DropReason.UdpNoSocket));
    }

    [Fact]
    public async Task Any_and_IPv6Any_may_share_a_port_and_each_takes_its_own_family()
    {
        await using var net = await StartAsync();
        await using var v4 = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var v6 = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 7));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        // The same family twice on one port is still refused.
        var refused = await Assert.ThrowsAsync<SocketException>(() => net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7)));
        Assert.Equal(SocketError.AddressAlreadyInUse, refused.SocketErrorCode);

        await client.SendToAsync("six"u8.ToArray(), new IPEndPoint(V6B, 7));
        await client.SendToAsync("four"u8.ToArray(), new IPEndPoint(V4B, 7));
        Assert.Equal(V6A, (await Receive(v6)).RemoteEndPoint.Address);
        Assert.Equal(V4A, (await Receive(v4)).RemoteEndPoint.Address);
    }

    [Fact]
    public async Task A_socket_bound_to_an_address_of_the_family_is_more_specific_than_the_other_family_wildcard()
    {
        await using var net = await StartAsync();
        await using var wildcard = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 7));
        await using var specific = await net.B.BindUdpAsync(new IPEndPoint(V6B, 7));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await client.SendToAsync("six"u8.ToArray(), new IPEndPoint(V6B, 7));
        Assert.Equal(V6A, (await Receive(specific)).RemoteEndPoint.Address);
        await client.SendToAsync("four"u8.ToArray(), new IPEndPoint(V4B, 7));
        Assert.Equal(V4A, (await Receive(wildcard)).RemoteEndPoint.Address);
    }

    [Fact]
    public async Task An_ephemeral_port_for_a_wildcard_is_free_in_both_families()
    {
        // Two ephemeral ports only: IPv6Any holds the first, so Any:0 gets the second (an IPv6 socket on its port would
        // take its IPv6 replies), and the next wildcard finds none.
        await using var net = await StartAsync(new UdpOptions { EphemeralPortFirst = 50000, EphemeralPortLast = 50001 });
        await using var v6 = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 50000));
        await using var dual = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        Assert.Equal(50001, dual.LocalEndPoint.Port);
        var full = await Assert.ThrowsAsync<SocketException>(() => net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0)));
        Assert.Equal(SocketError.TooManyOpenSockets, full.SocketErrorCode);
        // A socket bound to an address of one family still shares ports with the other family, as before.
        await using var specific = await net.B.BindUdpAsync(new IPEndPoint(V4B, 0));
        Assert.Equal(50000, specific.LocalEndPoint.Port);
    }

    [Fact]
    public async Task Port_unreachable_for_an_IPv6_datagram_sent_from_Any_reaches_the_socket()
    {
        // RFC 4443 §3.1 / RFC 1122 §4.1.3.3: the ICMP error goes to the socket that sent the quoted datagram.
        await using var net = await StartAsync();
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync(new byte[] { 1 }, new IPEndPoint(V6B, 9));
        using var timeout = new CancellationTokenSource(Wait);
        var error = await client.ReceiveErrorAsync(timeout.Token);
        Assert.Equal(1, error.Icmp.Type);
        Assert.Equal(4, error.Icmp.Code);
        Assert.Equal(new IPEndPoint(V6B, 9), error.OriginalDestination.ToIPEndPoint());
    }

    [Fact]
    public async Task A_multicast_datagram_goes_to_the_sockets_of_its_family_first()
    {
        var group = IPAddress.Parse("ff02::1");      // all-nodes: always joined
        await using var net = await StartAsync();
        await using var dual = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.Any, 5353));
        await using var client = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
        await client.SendToAsync("alone"u8.ToArray(), new IPEndPoint(group, 5353));
        var first = await Receive(dual);              // no IPv6 socket on the port: the dual-stack wildcard takes it
        Assert.Equal(5, first.ReceivedBytes);
        Assert.Equal(AddressFamily.InterNetworkV6, first.RemoteEndPoint.AddressFamily);

        await using var v6 = await net.B.BindUdpAsync(new IPEndPoint(IPAddress.IPv6Any, 5353));
        await client.SendToAsync("both"u8.ToArray(), new IPEndPoint(group, 5353));
        await client.SendToAsync("four"u8.ToArray(), new IPEndPoint(V4B, 5353));
        Assert.Equal(AddressFamily.InterNetworkV6, (await Receive(v6)).RemoteEndPoint.AddressFamily);
        // The IPv6 socket took the group's datagram alone: the next thing the dual-stack socket gets is the IPv4 one.
        var next = await Receive(dual);
        Assert.Equal(new IPEndPoint(V4A, client.LocalEndPoint.Port), next.RemoteEndPoint);
    }
}
