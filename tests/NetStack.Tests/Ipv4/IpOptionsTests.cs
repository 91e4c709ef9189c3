using System.Buffers.Binary;
using CsCheck;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Tests.Support;
using NetStack.Transport.Udp;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Ipv4;

/// <summary>IPv4 options up to the transports, ICMP and the application, and out again (RFC 1122 §3.2.1.8, §4.1.3.2, §3.2.2.6).</summary>
public sealed class IpOptionsTests : IDisposable
{
    private readonly string _pcap = Path.Combine(Path.GetTempPath(), $"netstack-ipopts-{Guid.NewGuid():N}.pcap");

    public void Dispose() => File.Delete(_pcap);

    /// <summary>Record Route with one slot filled by the peer (pointer 8) and one empty: 11 bytes.</summary>
    private static readonly byte[] RecordRoute = [7, 11, 8, 192, 0, 2, 2, 0, 0, 0, 0];

    /// <summary>RFC 2113 Router Alert, value 0.</summary>
    private static readonly byte[] RouterAlert = [148, 4, 0, 0];

    /// <summary>An option type nobody assigned (copied flag, class 2, number 30), with 2 data bytes.</summary>
    private static readonly byte[] Unknown = [0x80 | 0x40 | 30, 4, 0xAB, 0xCD];

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>A UDP datagram from the peer to us on <paramref name="port"/>, with <paramref name="options"/> in its IP header.</summary>
    private static byte[] UdpWithOptions(ushort port, byte[] data, byte[] options, ushort id = 1)
    {
        var udp = new byte[UdpDatagram.HeaderLength + data.Length];
        new UdpRepr(4000, port, data.Length).Write(udp, Peer, Us, data);
        return Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, udp.Length, Identification: id, OptionsLength: options.Length), udp, options);
    }

    private static (SingleHost Host, UdpSocket Socket) HostWithSocket(ushort port = 5000)
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        return (h, udp.Bind(new IpEndpoint(Us, port)));
    }

    [Fact]
    public void Record_route_router_alert_and_an_unknown_option_reach_the_UDP_socket_byte_for_byte_RFC1122_4_1_3_2()
    {
        var (h, socket) = HostWithSocket();
        var options = Concat(RecordRoute, RouterAlert, Unknown); // 19 bytes: one End-of-List pads the header to 40
        h.PushIp(UdpWithOptions(5000, [1, 2, 3], options));
        Assert.True(socket.TryReceive(new byte[16], out var info, out int n));
        Assert.Equal(3, n);
        Assert.Equal(options, info.HeaderOptions.ToArray());
    }

    [Fact]
    public void A_header_with_only_NOP_and_End_of_List_gives_empty_options_RFC1122_3_2_1_8()
    {
        var (h, socket) = HostWithSocket();
        h.PushIp(UdpWithOptions(5000, [9], [1, 1, 1, 0, 0, 0, 0, 0]));
        Assert.True(socket.TryReceive(new byte[16], out var info, out _));
        Assert.True(info.HeaderOptions.IsEmpty);
    }

    [Fact]
    public void A_datagram_without_options_gives_empty_options()
    {
        var (h, socket) = HostWithSocket();
        h.PushIp(UdpWithOptions(5000, [9], []));
        Assert.True(socket.TryReceive(new byte[16], out var info, out _));
        Assert.Equal(IpHeaderOptions.None, info.HeaderOptions);
    }

    [Fact]
    public void NOPs_between_options_are_kept_and_trailing_padding_is_cut()
    {
        var (h, socket) = HostWithSocket();
        var options = Concat([1], RouterAlert, [1, 1], Unknown, [1, 0, 1]);
        h.PushIp(UdpWithOptions(5000, [9], options));
        Assert.True(socket.TryReceive(new byte[16], out var info, out _));
        Assert.Equal(Concat([1], RouterAlert, [1, 1], Unknown), info.HeaderOptions.ToArray());
    }

    [Fact]
    public void The_reassembled_datagram_carries_the_first_fragments_options_RFC791_3_2()
    {
        var (h, socket) = HostWithSocket();
        var data = Frames.Pattern(64);
        var udp = new byte[UdpDatagram.HeaderLength + data.Length];
        new UdpRepr(4000, 5000, data.Length).Write(udp, Peer, Us, data);
        var first = Concat(RecordRoute, Unknown); // RR is not copied (RFC 791 §3.1), the unknown option is
        var later = Unknown;
        // The later fragment first: the datagram's options must still be the first fragment's.
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, udp.Length - 32, Identification: 77, FragmentOffset: 32,
            OptionsLength: later.Length), udp.AsSpan(32), later));
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, 32, Identification: 77, MoreFragments: true,
            OptionsLength: first.Length), udp.AsSpan(0, 32), first));
        Assert.True(socket.TryReceive(new byte[128], out var info, out int n));
        Assert.Equal(64, n);
        Assert.Equal(first, info.HeaderOptions.ToArray());
    }

    [Fact]
    public void Options_reach_every_transport_through_IpPacketInfo_RFC1122_3_2_1_8()
    {
        var h = new SingleHost();
        var transport = new RecordingTransport();
        h.Stack.RegisterTransport((IpProtocol)253, transport);
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, (IpProtocol)253, 4, OptionsLength: RouterAlert.Length), [1, 2, 3, 4], RouterAlert));
        var (info, _) = Assert.Single(transport.Received);
        Assert.Equal(RouterAlert, info.HeaderOptions.ToArray());
    }

    [Fact]
    public void Options_set_by_the_application_go_out_with_the_right_IHL_and_checksum_RFC1122_4_1_3_2()
    {
        var (h, socket) = HostWithSocket();
        h.Introduce();
        var options = Concat(RouterAlert, Unknown);
        var send = new IpSendOptions { HeaderOptions = IpHeaderOptions.Create(options) };
        Assert.Equal(IpSendResult.Sent, socket.Send([1, 2, 3, 4, 5], new IpEndpoint(Peer, 4000), send, h.Now));
        var frame = Assert.Single(h.TakeSent());
        // The kit checks the IP header checksum and the UDP checksum (over Us -> Peer).
        var sent = Expect.Frame(frame).Ipv4(src: Us, dst: Peer, headerLength: 28).Udp().PayloadIs([1, 2, 3, 4, 5]);
        Assert.Equal(options, sent.Ipv4Options);
    }

    [Fact]
    public void Record_route_sent_by_the_application_records_our_address_RFC791_3_1()
    {
        var (h, socket) = HostWithSocket();
        h.Introduce();
        byte[] empty = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        socket.Send([1], new IpEndpoint(Peer, 4000), new IpSendOptions { HeaderOptions = IpHeaderOptions.Create(empty) }, h.Now);
        var ip = Expect.Frame(Assert.Single(h.TakeSent())).Ipv4();
        Assert.Equal(new byte[] { 7, 11, 8, 192, 0, 2, 1, 0, 0, 0, 0 }, ip.Ipv4Options[..11]);
    }

    [Fact]
    public void A_datagram_with_options_sent_by_the_application_is_dissected_by_tshark()
    {
        var (h, socket) = HostWithSocket();
        h.Introduce();
        byte[] rr = [7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        var send = new IpSendOptions { HeaderOptions = IpHeaderOptions.Create(Concat(rr, RouterAlert)) };
        socket.Send(Frames.Pattern(40), new IpEndpoint(Peer, 4000), send, h.Now);
        var frame = Assert.Single(h.TakeSent());
        using (var w = new PcapWriter(File.Create(_pcap), Medium.Ethernet)) w.Write(frame, h.Now);
        var row = Tshark.Fields(_pcap, ["ip.hdr_len", "ip.checksum.status", "ip.opt.type", "ip.rec_rt", "ip.opt.ra", "udp.checksum.status", "udp.length"],
            null, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE")[1];
        Assert.Equal("36", row[0]);
        Assert.Equal("1", row[1]); // Good (0 bad, 2 unverified)
        Assert.Equal("7,148,0", row[2]); // Record Route, Router Alert, End of List (padding to 16 bytes)
        Assert.Equal("192.0.2.1", Tshark.First(row[3]));
        Assert.Equal("0", row[4]);
        Assert.Equal("1", row[5]);
        Assert.Equal("48", row[6]);
    }

    [Fact]
    public void Options_survive_loopback_to_our_own_address()
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        using var receiver = udp.Bind(new IpEndpoint(Us, 5000));
        using var sender = udp.Bind(new IpEndpoint(Us, 0));
        sender.Send([7], new IpEndpoint(Us, 5000), new IpSendOptions { HeaderOptions = IpHeaderOptions.Create(Unknown) }, h.Now);
        Assert.True(receiver.TryReceive(new byte[4], out var info, out _));
        Assert.Equal(Unknown, info.HeaderOptions.ToArray());
    }

    [Fact]
    public void An_echo_request_with_options_is_answered_with_record_route_updated_and_router_alert_left_out_RFC1122_3_2_2_6()
    {
        var h = new SingleHost();
        h.Introduce();
        var options = Concat(RecordRoute, RouterAlert);
        var icmp = Frames.EchoRequest(7, 1, [1, 2, 3, 4]);
        var sent = h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, icmp.Length, OptionsLength: options.Length), icmp, options));
        var reply = Expect.Frame(Assert.Single(sent)).Ipv4().Icmpv4(Icmpv4Type.EchoReply); // both checksums checked
        // The peer's recorded address kept, ours added, pointer past both ("the recorded route will be for the entire round trip").
        Assert.Equal(new byte[] { 7, 11, 12, 192, 0, 2, 2, 192, 0, 2, 1 }, IpHeaderOptions.FromHeader(reply.Ipv4Options).ToArray());
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, reply.IcmpBody);
    }

    [Fact]
    public void An_echo_request_with_a_timestamp_option_is_answered_with_our_flagged_timestamp_RFC1122_3_2_2_6()
    {
        var h = new SingleHost();
        h.Introduce();
        byte[] ts = [68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0]; // flag 0: timestamps only, two slots
        var icmp = Frames.EchoRequest(7, 1, []);
        var sent = h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, icmp.Length, OptionsLength: ts.Length), icmp, ts));
        var echoed = Expect.Frame(Assert.Single(sent)).Ipv4().Ipv4Options;
        Assert.Equal(new byte[] { 68, 12, 9, 0 }, echoed[..4]);
        Assert.Equal(Ipv4OptionStamp.Timestamp(h.Now), BinaryPrimitives.ReadUInt32BigEndian(echoed.AsSpan(4)));
        Assert.True((echoed[4] & 0x80) != 0); // RFC 791: not milliseconds since midnight UT -> high bit set
    }

    [Fact]
    public void An_echo_reply_hands_its_options_to_the_echo_socket_RFC1122_3_2_1_8()
    {
        var h = new SingleHost();
        h.Introduce();
        using var ping = new IcmpEchoSocket(h.Stack, 0x4242);
        ping.SendEcho(Peer, 1, [], h.Now, options: IpHeaderOptions.Create([7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0]));
        h.TakeSent();
        var reply = Frames.EchoRequest(0x4242, 1, []);
        reply[0] = 0; // echo reply
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), 0);
        BinaryPrimitives.WriteUInt16BigEndian(reply.AsSpan(2), Checksum.Compute(reply));
        byte[] rr = [7, 11, 12, 192, 0, 2, 1, 192, 0, 2, 2];
        h.PushIp(Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Icmp, reply.Length, OptionsLength: rr.Length), reply, rr));
        Assert.True(ping.TryReceive(out var result));
        Assert.Equal(IcmpEchoResultKind.Reply, result.Kind);
        Assert.Equal(rr, result.HeaderOptions.ToArray());
    }

    [Theory]
    [InlineData(new byte[] { 7, 2 }, "pointer")] // Record Route shorter than 3
    [InlineData(new byte[] { 148, 6, 0, 0, 0, 0 }, "router alert")] // RFC 2113: exactly 4
    [InlineData(new byte[] { 30, 9, 0 }, "past the end")]
    [InlineData(new byte[] { 131, 7, 4, 192, 0, 2, 9 }, "source route")]
    public void Malformed_or_unsupported_options_are_refused_when_created(byte[] options, string why)
    {
        Assert.False(IpHeaderOptions.TryCreate(options, out _, out var problem), why);
        Assert.NotNull(problem);
        Assert.Throws<ArgumentException>(() => IpHeaderOptions.Create(options));
    }

    [Fact]
    public void More_than_40_bytes_of_options_are_refused_RFC791_3_1()
    {
        var options = new byte[41];
        Array.Fill(options, (byte)1);
        Assert.Throws<ArgumentException>(() => IpHeaderOptions.Create(options));
    }

    [Fact]
    public void Stamping_any_well_formed_options_area_stays_inside_it_and_keeps_it_well_formed()
    {
        // Hostile pointers and flags in an echo request's options must never make the reply path throw or overrun.
        // Record Route or Timestamp of any length, pointer and flags, behind 0-3 NOPs.
        var options = Gen.Select(Gen.Int[0, 3], Gen.OneOfConst<byte>(7, 68), Gen.Byte[4, 37], Gen.Byte, Gen.Byte, Gen.Byte.Array[36])
            .Select((nops, type, length, pointer, flags, data) =>
                Enumerable.Repeat((byte)1, nops).Concat(new byte[] { type, length, pointer, flags }).Concat(data.Take(length - 4)).ToArray());
        options.Sample(area =>
        {
            Assert.Equal(WireError.None, Ipv4Options.Validate(area));
            var copy = area.ToArray();
            Ipv4OptionStamp.Stamp(copy, Us, 0x80000001);
            Assert.Equal(WireError.None, Ipv4Options.Validate(copy));
            Span<byte> echoed = stackalloc byte[Ipv4Options.MaxLength];
            int n = Ipv4OptionStamp.EchoOptions(copy, echoed);
            Assert.True(n <= area.Length);
        }, iter: 20_000);
    }

    [Fact]
    public void A_full_record_route_is_left_as_it_is_RFC791_3_1()
    {
        byte[] full = [7, 7, 8, 192, 0, 2, 2, 0];
        var copy = full.ToArray();
        Ipv4OptionStamp.Stamp(copy, Us, 1);
        Assert.Equal(full, copy);
    }

    [Fact]
    public void A_full_timestamp_option_counts_an_overflow_RFC791_3_1()
    {
        byte[] full = [68, 8, 9, 0x21, 0, 0, 0, 1]; // flag 1, overflow 2, no room for address + time
        Ipv4OptionStamp.Stamp(full, Us, 5);
        Assert.Equal(new byte[] { 68, 8, 9, 0x31, 0, 0, 0, 1 }, full);
    }

    [Fact]
    public void A_prespecified_timestamp_is_filled_only_for_our_address_RFC791_3_1()
    {
        byte[] ts = [68, 20, 5, 3, 192, 0, 2, 1, 0, 0, 0, 0, 192, 0, 2, 9, 0, 0, 0, 0];
        Ipv4OptionStamp.Stamp(ts, Us, 0x80000005);
        Assert.Equal(13, ts[2]);
        Assert.Equal(0x80000005u, BinaryPrimitives.ReadUInt32BigEndian(ts.AsSpan(8)));
        Ipv4OptionStamp.Stamp(ts, Us, 0x80000006); // the next prespecified address is not ours: untouched
        Assert.Equal(13, ts[2]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(ts.AsSpan(16)));
    }
}
