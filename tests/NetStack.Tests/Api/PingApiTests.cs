using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.Api;

/// <summary>Ping and the raw ICMP probe API between two real-time stacks over an in-memory link.</summary>
public sealed class PingApiTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Ping_to_the_peer_succeeds_with_the_peer_address_a_round_trip_time_and_the_reply_ttl()
    {
        await using var net = await StackPair.StartAsync();

        var reply = await net.A.PingAsync(StackPair.AddressB, TimeSpan.FromSeconds(5), payloadSize: 56).WaitAsync(Wait);

        Assert.Equal(PingStatus.Success, reply.Status);
        Assert.Equal(StackPair.AddressB, reply.Address);
        Assert.InRange(reply.RoundtripTime, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.Equal(64, reply.Ttl); // the peer's default TTL, one link away
        Assert.Equal(56, reply.DataLength);
    }

    [Fact]
    public async Task Ping_to_an_address_nobody_answers_times_out_within_the_timeout()
    {
        await using var net = await StackPair.StartAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var reply = await net.A.PingAsync(IPAddress.Parse("192.0.2.77"), TimeSpan.FromMilliseconds(300)).WaitAsync(Wait);

        Assert.Equal(PingStatus.TimedOut, reply.Status);
        Assert.Null(reply.Address);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Ping_without_a_route_reports_NoRoute_at_once()
    {
        await using var net = await StackPair.StartAsync();

        var reply = await net.A.PingAsync(IPAddress.Parse("203.0.113.5"), TimeSpan.FromSeconds(5)).WaitAsync(Wait);

        Assert.Equal(PingStatus.NoRoute, reply.Status);
    }

    [Fact]
    public async Task Ping_larger_than_the_mtu_with_DF_is_refused_as_PacketTooBig()
    {
        // RFC 1191 §3: with DF set the datagram is never fragmented; the sender learns it is too big.
        await using var net = await StackPair.StartAsync();

        var reply = await net.A.PingAsync(StackPair.AddressB, TimeSpan.FromSeconds(2), payloadSize: 2000, dontFragment: true).WaitAsync(Wait);

        Assert.Equal(PingStatus.PacketTooBig, reply.Status);
    }

    [Fact]
    public async Task Ping_larger_than_the_mtu_without_DF_is_fragmented_and_answered()
    {
        await using var net = await StackPair.StartAsync();

        var reply = await net.A.PingAsync(StackPair.AddressB, TimeSpan.FromSeconds(5), payloadSize: 4000).WaitAsync(Wait);

        Assert.Equal(PingStatus.Success, reply.Status);
        Assert.Equal(4000, reply.DataLength);
    }

    [Fact]
    public async Task Probe_socket_matches_an_echo_reply_to_the_identifier_and_sequence_it_chose()
    {
        await using var net = await StackPair.StartAsync();
        await using var probe = await net.A.OpenIcmpProbeAsync(AddressFamily.InterNetwork, IcmpProbeSocket.EchoFilter(0x4242));

        var sent = await probe.SendEchoAsync(StackPair.AddressB, 0x4242, 7, new byte[] { 1, 2, 3 }, new IpSendOptions(ttl: 3));
        var reply = await probe.ReceiveAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(StackPair.AddressA, sent.Source);
        Assert.Equal(IcmpProbeReplyKind.EchoReply, reply.Kind);
        Assert.Equal(0x4242, reply.Identifier);
        Assert.Equal(7, reply.Sequence);
        Assert.Equal(StackPair.AddressB, reply.From);
        Assert.True(reply.ReceivedAt >= sent.SentAt);
    }

    [Fact]
    public async Task Probe_socket_receives_the_port_unreachable_quoting_a_udp_probe()
    {
        // RFC 792: the error quotes the IP header and the first 8 bytes of the datagram, enough to match a UDP probe by port.
        await using var net = await StackPair.StartAsync();
        await using var probe = await net.A.OpenIcmpProbeAsync(AddressFamily.InterNetwork, r => r.Kind == IcmpProbeReplyKind.Error);
        await using var udp = await net.A.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));

        await udp.SendToAsync(new byte[8], new IPEndPoint(StackPair.AddressB, 33434));
        var error = await probe.ReceiveAsync().AsTask().WaitAsync(Wait);

        Assert.Equal(3, error.Type);
        Assert.Equal(3, error.Code);
        Assert.Equal(IpProtocolOf(error), NetStack.Wire.IpProtocol.Udp);
        Assert.Equal(StackPair.AddressB, error.QuotedDestination);
        Assert.Equal(33434, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(error.QuotedTransport.AsSpan(2)));
    }

    private static NetStack.Wire.IpProtocol? IpProtocolOf(IcmpProbeReply r) => r.QuotedProtocol;

    [Fact]
    public async Task Pending_probe_receive_fails_with_OperationAborted_when_the_socket_is_disposed()
    {
        await using var net = await StackPair.StartAsync();
        var probe = await net.A.OpenIcmpProbeAsync(AddressFamily.InterNetwork);
        var pending = probe.ReceiveAsync().AsTask();

        await probe.DisposeAsync();

        var e = await Assert.ThrowsAsync<SocketException>(() => pending.WaitAsync(Wait));
        Assert.Equal(SocketError.OperationAborted, e.SocketErrorCode);
    }
}
