using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;
using NetStack.Network.Ipv4;
using NetStack.Composition;

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
/// Our stack on one Ethernet device, with the test playing the peer (gVisor-style): 192.0.2.1/24 at 02:00:00:00:00:01,
/// the peer 192.0.2.2 at 02:00:00:00:00:02, gateway 192.0.2.254.
/// </summary>
public sealed class SingleHost
{
    public static readonly MacAddress OurMac = MacAddress.Parse("02:00:00:00:00:01");
    public static readonly MacAddress PeerMac = MacAddress.Parse("02:00:00:00:00:02");
    public static readonly Ipv4Address Us = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv4Address Peer = Ipv4Address.Parse("192.0.2.2");
    public static readonly Ipv4Address Gateway = Ipv4Address.Parse("192.0.2.254");

    /// <param name="ipv4">IPv4 options; by default gratuitous ARP is off so tests see only the frames they cause.</param>
    public SingleHost(Ipv4Settings? ipv4 = null, int mtu = 1500)
    {
        Stack = new NetworkStack(new StackOptions { Ipv4 = ipv4 ?? new Ipv4Settings { GratuitousArpCount = 0 } }, new SeededRandom(7));
        Device = new ChannelDevice(OurMac, mtu);
        Interface = Stack.AddInterface(Device, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")],
            Ipv4Gateway = Gateway,
            EnableIpv6 = false,
        }, Now);
    }

    public NetworkStack Stack { get; }
    public ChannelDevice Device { get; }
    public NetworkInterface Interface { get; }
    public Instant Now { get; set; } = Instant.FromSeconds(1);

    /// <summary>Pushes a frame into the stack and returns what it sent in response.</summary>
    public List<byte[]> Push(byte[] frame)
    {
        Stack.Receive(Interface, frame, Now);
        return Device.TakeSent();
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

    public List<byte[]> Advance(TimeSpan by)
    {
        Now += by;
        Stack.Poll(Now);
        return Device.TakeSent();
    }

    public static byte[] Udp(Ipv4Address src, Ipv4Address dst, int payloadLength, byte ttl = 64, ushort id = 1, bool df = false) =>
        Frames.Ip(new Ipv4Repr(src, dst, IpProtocol.Udp, payloadLength, ttl, 0, id, df), Frames.Pattern(payloadLength));
}
