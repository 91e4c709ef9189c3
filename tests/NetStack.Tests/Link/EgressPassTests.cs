using System.Diagnostics;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>
/// The poll cycle (docs/architecture.md): what a received frame makes the stack send (echo replies, ARP and NDP answers,
/// TCP ACKs, data and RSTs, ICMP errors, UDP replies sent from a receive callback) leaves in the egress pass, after the
/// receive call has returned; no device is ever called while the stack's receive path is on the call stack.
/// </summary>
public sealed class EgressPassTests
{
    private static readonly Ipv4Address A4 = Ipv4Address.Parse("192.0.2.10");
    private static readonly Ipv4Address B4 = Ipv4Address.Parse("192.0.2.11");
    private static readonly Ipv6Address A6 = Ipv6Address.Parse("2001:db8::a");
    private static readonly Ipv6Address B6 = Ipv6Address.Parse("2001:db8::b");

    /// <summary>
    /// A device that records every transmission made while a receive of the stack is on the call stack (found by walking
    /// the frames: the stack's frame dispatch, the IP layers' and transports' receive methods), and carries frames to its
    /// peer's inbound queue otherwise.
    /// </summary>
    private sealed class ReentryGuardDevice(MacAddress mac) : QueuePort(mac)
    {
        private static readonly HashSet<(string Type, string Method)> ReceivePath =
        [
            ("NetworkStack", "HandleFrame"), ("NetworkStack", "DeliverLocal"), ("NetworkStack", "DeliverIcmpError"),
            ("Ipv4Layer", "Receive"), ("Ipv4Layer", "ReceiveIp"), ("Ipv4Layer", "ReceiveArp"), ("Ipv4Layer", "ReceiveIcmp"),
            ("Ipv6Layer", "Receive"), ("Ipv6Layer", "ProcessPacket"),
            ("TransportDemultiplexer", "Deliver"), ("TransportDemultiplexer", "DeliverIcmpError"),
            ("TcpLayer", "Receive"), ("TcpLayer", "ReceiveIcmpError"), ("UdpLayer", "Receive"), ("UdpLayer", "ReceiveIcmpError"),
        ];

        public List<string> Violations { get; } = [];
        public int Transmitted { get; private set; }
        public override int MaxFrameSize => 1518;

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            Transmitted++;
            var trace = new StackTrace(false);
            foreach (var f in trace.GetFrames())
            {
                var m = f.GetMethod();
                if (m?.DeclaringType is { } t && ReceivePath.Contains((t.Name, m.Name)))
                {
                    Violations.Add($"frame of {frame.Length} bytes sent from inside {t.Name}.{m.Name}:\n{trace}");
                    break;
                }
            }
            base.Transmit(frame, now);
        }
    }

    private sealed class Pair : TwoStacks<ReentryGuardDevice>
    {
        public Pair() : base(new ReentryGuardDevice(MacAddress.Parse("02:00:00:00:00:0a")), new ReentryGuardDevice(MacAddress.Parse("02:00:00:00:00:0b")), 1, 2) =>
            Settle(); // duplicate address detection

        public void AssertNoReentry()
        {
            Assert.True(PortA.Transmitted > 0 && PortB.Transmitted > 0);
            Assert.Empty(PortA.Violations);
            Assert.Empty(PortB.Violations);
        }
    }

    [Fact]
    public void Echo_replies_and_address_resolution_answers_leave_after_the_receive_call_IPv4_and_IPv6()
    {
        var p = new Pair();
        using var ping4 = new IcmpEchoSocket(p.A, 77);
        using var ping6 = p.A.OpenIcmpv6Echo(78);
        Assert.Equal(IpSendResult.Sent, ping4.SendEcho(B4, 1, new byte[56], p.Now));   // ARP request, then the echo
        Assert.Equal(IpSendResult.Sent, ping6.SendEcho(B6, 1, new byte[56], p.Now));       // NS, then the echo
        p.Run(TimeSpan.FromMilliseconds(50));
        Assert.True(ping4.TryReceive(out var r4));
        Assert.Equal(IcmpEchoResultKind.Reply, r4.Kind);
        Assert.True(ping6.TryReceive(out _));
        p.AssertNoReentry();
        Assert.True(p.B.EgressQueue.FramesQueued >= 4, $"{p.B.EgressQueue.FramesQueued}"); // ARP reply, NA, two echo replies
        Assert.Equal(0, p.B.EgressQueue.Count);
    }

    [Fact]
    public void Icmp_errors_for_closed_UDP_ports_leave_after_the_receive_call_IPv4_and_IPv6()
    {
        var p = new Pair();
        var udpA = new UdpLayer(p.A);
        _ = new UdpLayer(p.B);
        using var s4 = udpA.Bind(new IpEndpoint(A4, 5000));
        using var s6 = udpA.Bind(new IpEndpoint(A6, 5000));
        s4.Send(new byte[10], new IpEndpoint(B4, 9), IpSendOptions.Default, p.Now);
        s6.Send(new byte[10], new IpEndpoint(B6, 9), IpSendOptions.Default, p.Now);
        p.Run(TimeSpan.FromMilliseconds(50));
        Assert.True(s4.TryReceiveError(out var e4));
        Assert.Equal(3, e4.Icmp.Type);  // destination unreachable, port (RFC 1122 §4.1.3.1)
        Assert.True(s6.TryReceiveError(out var e6));
        Assert.Equal(1, e6.Icmp.Type);  // RFC 4443 §3.1, code 4
        p.AssertNoReentry();
    }

    [Fact]
    public void A_UDP_reply_sent_from_the_receive_callback_waits_for_the_egress_pass_and_arrives_in_the_same_poll()
    {
        var p = new Pair();
        var udpA = new UdpLayer(p.A);
        var udpB = new UdpLayer(p.B);
        foreach (var (a, b) in new (IpAddress, IpAddress)[] { (A4, B4), (A6, B6) })
        {
            using var client = udpA.Bind(new IpEndpoint(a, 6000));
            using var server = udpB.Bind(new IpEndpoint(b, 7));
            var buffer = new byte[2048];
            server.Readable += s =>
            {
                // The application answers synchronously, from inside the stack's delivery of the request.
                while (s.TryReceive(buffer, out var info, out int n)) s.Send(buffer.AsSpan(0, n), info.Remote, IpSendOptions.Default, p.Now);
            };
            client.Send(new byte[64], new IpEndpoint(b, 7), IpSendOptions.Default, p.Now);
            p.Run(TimeSpan.FromMilliseconds(50));                   // resolution happens here
            client.Send(new byte[64], new IpEndpoint(b, 7), IpSendOptions.Default, p.Now);
            p.A.Poll(p.Now);                                        // the request goes out
            long before = p.PortB.Transmitted;
            p.B.Poll(p.Now);                                        // one poll of the server: request in, reply out
            Assert.Equal(before + 1, p.PortB.Transmitted);
            p.A.Poll(p.Now);
            Assert.True(client.TryReceive(buffer, out _, out int got) && got == 64);
            Assert.True(client.TryReceive(buffer, out _, out got) && got == 64);
        }
        p.AssertNoReentry();
    }

    [Fact]
    public void TCP_handshake_data_ACKs_and_RSTs_for_closed_ports_leave_after_the_receive_call_IPv4_and_IPv6()
    {
        var p = new Pair();
        var tcpA = new TcpLayer(p.A, p.A.Random);
        var tcpB = new TcpLayer(p.B, p.B.Random);
        p.A.RegisterTransport(IpProtocol.Tcp, tcpA);
        p.B.RegisterTransport(IpProtocol.Tcp, tcpB);
        var listener = tcpB.Listen(new IpEndpoint(Ipv6Address.Unspecified, 80), 8);
        foreach (var b in new IpAddress[] { B4, B6 })
        {
            var client = tcpA.Connect(new IpEndpoint(b, 80), p.Now);
            p.Run(TimeSpan.FromMilliseconds(50));
            Assert.Equal(TcpState.Established, client.State);
            Assert.True(TcpLayer.TryAccept(listener, out var server));
            var data = new byte[200_000];
            int sent = 0, received = 0;
            var sink = new byte[65536];
            for (int round = 0; round < 400 && received < data.Length; round++)
            {
                sent += client.Send(data.AsSpan(sent));
                p.Run(TimeSpan.FromMilliseconds(5));
                int n;
                while ((n = server.Receive(sink)) > 0) received += n;
            }
            Assert.Equal(data.Length, received);

            var refused = tcpA.Connect(new IpEndpoint(b, 81), p.Now);   // a closed port: RST,ACK (RFC 9293 §3.10.7.1)
            p.Run(TimeSpan.FromMilliseconds(50));
            Assert.Equal(TcpState.Closed, refused.State);
        }
        Assert.True(tcpB.Stats.ResetsSent >= 2);
        p.AssertNoReentry();
    }
}
