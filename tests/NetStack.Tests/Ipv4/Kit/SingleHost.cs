using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;
using NetStack.Network.Ipv4;
using NetStack.Composition;
using NetStack.Simulation;

namespace NetStack.Tests.Ipv4.Kit;

/// <summary>A transport that records what the network layer hands it and answers with a fixed verdict.</summary>
public sealed class RecordingTransport(TransportVerdict verdict = TransportVerdict.Delivered) : ITransportHandler
{
    public List<(IpPacketInfo Info, byte[] Payload)> Received { get; } = [];
    public List<(IcmpErrorInfo Error, byte[] Quoted)> Errors { get; } = [];
    public TransportVerdict Verdict { get; set; } = verdict;

    public TransportVerdict Receive(in IpPacketInfo info, ReadOnlySpan<byte> payload, Instant now)
    {
        Received.Add((info, payload.ToArray()));
        return Verdict;
    }

    public void ReceiveIcmpError(in IcmpErrorInfo error, ReadOnlySpan<byte> quotedTransport, ReadOnlySpan<byte> icmpMessage, Instant now) =>
        Errors.Add((error, quotedTransport.ToArray()));
}

/// <summary>
/// Our stack on one Ethernet link in the library's <see cref="Simulator"/>, with the test playing the peer (gVisor-style)
/// through a <see cref="FrameTap"/> on the far end of the <see cref="InMemoryLink"/>: 192.0.2.1/24 at 02:00:00:00:00:01,
/// the peer 192.0.2.2 at 02:00:00:00:00:02, gateway 192.0.2.254. Virtual time starts at 1 s and only moves when the
/// test says so (<see cref="Advance"/>); the helpers return what the stack put on the link.
/// </summary>
public sealed class SingleHost
{
    public static readonly MacAddress OurMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:02");
    public static readonly Ipv4Address Us = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address Peer = Ipv4Address.Parse("192.0.2.2");
    public static readonly Ipv4Address Gateway = Ipv4Address.Parse("192.0.2.254");

    /// <param name="ipv4">IPv4 options; by default gratuitous ARP is off so tests see only the frames they cause.</param>
    /// <param name="mtu">The link's MTU (both ways).</param>
    /// <param name="forwarding">Whether the interface forwards (a router).</param>
    public SingleHost(Ipv4Settings? ipv4 = null, int mtu = 1500, bool forwarding = false)
    {
        Sim = new Simulator(7, Instant.FromSeconds(1));
        Link = InMemoryLink.Ethernet(OurMac, PeerMac, new LinkOptions { Mtu = mtu });
        Stack = new NetworkStack(new StackOptions { Ipv4 = ipv4 ?? new Ipv4Settings { GratuitousArpCount = 0 } }, new SeededRandom(7));
        Interface = Stack.AddInterface(Link.A, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")],
            Ipv4Gateway = Gateway,
            EnableIpv6 = false,
            Forwarding = forwarding,
        }, Now);
        Node = Sim.AddNode("host", Stack, Link.A);
        Wire = Sim.AddTap("peer", Link.B);
    }

    public Simulator Sim { get; }
    public InMemoryLink Link { get; }
    public NetworkStack Stack { get; }
    public NetworkInterface Interface { get; }
    public SimulatedNode Node { get; }

    /// <summary>The peer's end of the link: injects frames, captures what the stack sent.</summary>
    public FrameTap Wire { get; }

    public Instant Now => Sim.Now;

    /// <summary>Sends a frame from the peer and returns what the stack sent in response.</summary>
    public List<byte[]> Push(byte[] frame)
    {
        Wire.Inject(frame, Now);
        return TakeSent();
    }

    /// <summary>Pushes an IPv4 packet from the peer's MAC to ours.</summary>
    public List<byte[]> PushIp(byte[] packet, MacAddress? dstMac = null) =>
        Push(Frames.Ethernet(PeerMac, dstMac ?? OurMac, EtherType.Ipv4, packet));

    /// <summary>Makes the stack know the peer's MAC (an ARP request from it for us), and forgets the reply.</summary>
    public void Introduce(Ipv4Address? peer = null, MacAddress? mac = null)
    {
        var m = mac ?? PeerMac;
        Push(Frames.Ethernet(m, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(m, peer ?? Peer, Us))));
    }

    /// <summary>
    /// Polls the stack now (the test may have changed it from outside a poll, say with a socket call, and the simulator
    /// must learn its new deadline), lets what it sent reach the peer, and returns (and forgets) everything the stack sent so far.
    /// </summary>
    public List<byte[]> TakeSent()
    {
        Sim.Wake(Stack);
        Sim.RunUntil(Now);
        return Wire.Take();
    }

    /// <summary>Runs every event for <paramref name="by"/> of virtual time and returns what the stack sent meanwhile.</summary>
    public List<byte[]> Advance(TimeSpan by)
    {
        Sim.Wake(Stack);
        Sim.RunFor(by);
        return TakeSent();
    }

    public static byte[] Udp(Ipv4Address src, Ipv4Address dst, int payloadLength, byte ttl = 64, ushort id = 1, bool df = false) =>
        Frames.Ip(new Ipv4Repr(src, dst, IpProtocol.Udp, payloadLength, ttl, 0, id, df), Frames.Pattern(payloadLength));
}
