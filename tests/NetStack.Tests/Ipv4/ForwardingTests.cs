using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;
using NetStack.Composition;


namespace NetStack.Tests.Ipv4;

/// <summary>
/// A router stack between two links: left 192.0.2.0/24 (router .254, host A .1), right 198.51.100.0/24 (router .254, host B .1).
/// </summary>
public class ForwardingTests
{
    private static readonly Ipv4Address A = Ipv4Address.Parse("192.0.2.1");
    private static readonly Ipv4Address B = Ipv4Address.Parse("198.51.100.1");
    private static readonly Ipv4Address RouterLeft = Ipv4Address.Parse("192.0.2.254");
    private static readonly Ipv4Address RouterRight = Ipv4Address.Parse("198.51.100.254");

    private sealed class Lab
    {
        public SimLan Net { get; } = new();
        public NetworkStack HostA { get; }
        public NetworkStack HostB { get; }
        public NetworkStack Router { get; }
        public SimSegment Left { get; }
        public SimSegment Right { get; }

        public Lab(int rightMtu = 1500)
        {
            var quiet = new StackOptions { Ipv4 = new Ipv4Settings { GratuitousArpCount = 0 } };
            Left = Net.AddSegment();
            Right = Net.AddSegment();
            HostA = Net.AddStack(1, quiet);
            HostB = Net.AddStack(2, quiet);
            Router = Net.AddStack(3, quiet);
            HostA.AddInterface(Net.Port(HostA, Left, MacAddress.Parse("02:00:00:00:0a:01")), new InterfaceConfig
            { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], Ipv4Gateway = RouterLeft, EnableIpv6 = false }, Net.Now);
            HostB.AddInterface(Net.Port(HostB, Right, MacAddress.Parse("02:00:00:00:0b:01"), rightMtu), new InterfaceConfig
            { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], Ipv4Gateway = RouterRight, EnableIpv6 = false }, Net.Now);
            Router.AddInterface(Net.Port(Router, Left, MacAddress.Parse("02:00:00:00:0f:01")), new InterfaceConfig
            { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.254/24")], Forwarding = true, EnableIpv6 = false }, Net.Now);
            Router.AddInterface(Net.Port(Router, Right, MacAddress.Parse("02:00:00:00:0f:02"), rightMtu), new InterfaceConfig
            { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.254/24")], Forwarding = true, EnableIpv6 = false }, Net.Now);
        }
    }

    [Fact]
    public void Ping_across_the_router_is_answered_and_the_TTL_is_decremented_RFC1812_5_3_1()
    {
        var lab = new Lab();
        using var ping = new IcmpEchoSocket(lab.HostA, 1);
        Assert.Equal(IpSendResult.Sent, ping.SendEcho(B, 1, Frames.Pattern(56), lab.Net.Now));
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.True(ping.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(B, r.From);
        Assert.Equal(63, r.Ttl);
        Assert.NotNull(r.RoundTripTime);
        Assert.Equal(2, lab.Router.Statistics.Ipv4PacketsForwarded);
    }

    [Fact]
    public void Ping_with_record_route_across_the_router_records_the_whole_round_trip_RFC1812_5_3_13_3()
    {
        var lab = new Lab();
        using var ping = new IcmpEchoSocket(lab.HostA, 1);
        var rr = new byte[39]; // nine empty slots, as ping -R sends
        rr[0] = 7; rr[1] = 39; rr[2] = 4;
        Assert.Equal(IpSendResult.Sent, ping.SendEcho(B, 1, Frames.Pattern(56), lab.Net.Now, options: IpHeaderOptions.Create(rr)));
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.True(ping.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        var recorded = r.HeaderOptions.ToArray();
        Assert.Equal(new byte[] { 7, 39, 20 }, recorded[..3]);
        // A as it sends; the router leaving toward B; B as it replies (RFC 1122 §3.2.2.6); the router leaving toward A.
        var route = Enumerable.Range(0, 4).Select(i => Ipv4Address.Read(recorded.AsSpan(3 + 4 * i))).ToArray();
        Assert.Equal([A, RouterRight, B, RouterLeft], route);
        Assert.All(recorded[19..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void TTL_1_earns_time_exceeded_from_the_router_as_traceroute_needs_RFC1812_5_3_1()
    {
        var lab = new Lab();
        using var ping = new IcmpEchoSocket(lab.HostA, 1);
        ping.SendEcho(B, 9, Frames.Pattern(8), lab.Net.Now, ttl: 1);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.True(ping.TryReceive(out var r));
        Assert.Equal(IcmpEchoResultKind.Error, r.Kind);
        Assert.Equal(RouterLeft, r.From);
        Assert.Equal(9, r.Sequence);
        Assert.Equal(11, r.Error.Type);
        Assert.Equal(0, r.Error.Code);
        Assert.Equal(1, lab.Router.Statistics.Drops(DropReason.Ipv4TtlExpired));
    }

    [Fact]
    public void No_route_earns_net_unreachable_RFC1812_5_2_7_1()
    {
        var lab = new Lab();
        using var ping = new IcmpEchoSocket(lab.HostA, 1);
        ping.SendEcho(Ipv4Address.Parse("203.0.113.9"), 1, Frames.Pattern(8), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.True(ping.TryReceive(out var r));
        Assert.Equal(3, r.Error.Type);
        Assert.Equal((byte)Icmpv4UnreachableCode.NetUnreachable, r.Error.Code);
        Assert.Equal(1, lab.Router.Statistics.Drops(DropReason.Ipv4NoRoute));
    }

    [Fact]
    public void Too_big_with_DF_earns_fragmentation_needed_and_the_sender_learns_the_path_MTU_RFC1191()
    {
        var lab = new Lab(rightMtu: 1280);
        var udpA = new RecordingTransport();
        lab.HostA.RegisterTransport(IpProtocol.Udp, udpA);
        lab.HostA.Send(A, B, IpProtocol.Udp, new byte[1400], new IpSendOptions(dontFragment: true), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        var (error, _) = Assert.Single(udpA.Errors);
        Assert.Equal(3, error.Type);
        Assert.Equal((byte)Icmpv4UnreachableCode.FragmentationNeeded, error.Code);
        Assert.Equal(1280u, error.Parameter);
        Assert.Equal(1260, lab.HostA.MaxTransportPayload(B));
    }

    [Fact]
    public void An_8000_byte_ping_passes_a_router_onto_a_smaller_MTU_being_refragmented()
    {
        var lab = new Lab(rightMtu: 1000);
        using var ping = new IcmpEchoSocket(lab.HostA, 1);
        ping.SendEcho(B, 1, Frames.Pattern(8000), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        var buffer = new byte[9000];
        Assert.True(ping.TryReceive(out var r, buffer));
        Assert.Equal(IcmpEchoResultKind.Reply, r.Kind);
        Assert.Equal(8000, r.PayloadLength);
        Assert.Equal(Frames.Pattern(8000), buffer.AsSpan(0, 8000).ToArray());
        Assert.True(lab.Router.Statistics.FragmentsCreated > 0);
    }

    [Fact]
    public void Forwarded_header_keeps_a_valid_checksum_after_the_TTL_decrement_RFC1624()
    {
        var lab = new Lab();
        var udpB = new RecordingTransport();
        lab.HostB.RegisterTransport(IpProtocol.Udp, udpB);
        lab.HostA.Send(A, B, IpProtocol.Udp, new byte[100], new IpSendOptions(ttl: 17), lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.Equal(16, Assert.Single(udpB.Received).Info.Ttl);
        var forwarded = lab.Right.Log.Select(e => Frames.IpOf(e.Frame)).Single(p => p != null && p.Length == 120)!;
        Expect.Packet(forwarded).Ipv4(); // parses, header checksum valid
    }

    [Fact]
    public void Link_broadcast_frames_are_never_forwarded_RFC1812_5_3_4()
    {
        var lab = new Lab();
        var udpB = new RecordingTransport();
        lab.HostB.RegisterTransport(IpProtocol.Udp, udpB);
        var frame = Frames.Ethernet(MacAddress.Parse("02:00:00:00:0a:01"), MacAddress.Broadcast, EtherType.Ipv4,
            SingleHost.Udp(A, B, 20));
        lab.Router.Receive(lab.Router.Interfaces[0], frame, lab.Net.Now);
        lab.Net.Run(TimeSpan.FromSeconds(1));
        Assert.Empty(udpB.Received);
        Assert.Equal(1, lab.Router.Statistics.Drops(DropReason.Ipv4NotForUs));
    }

    [Fact]
    public void A_host_does_not_forward()
    {
        var lab = new Lab();
        var frame = Frames.Ethernet(MacAddress.Parse("02:00:00:00:0f:01"), MacAddress.Parse("02:00:00:00:0a:01"), EtherType.Ipv4,
            SingleHost.Udp(RouterLeft, B, 20));
        lab.HostA.Receive(lab.HostA.Interfaces[0], frame, lab.Net.Now);
        Assert.Equal(1, lab.HostA.Statistics.Drops(DropReason.Ipv4NotForUs));
        Assert.Equal(0, lab.HostA.Statistics.Ipv4PacketsForwarded);
    }
}
