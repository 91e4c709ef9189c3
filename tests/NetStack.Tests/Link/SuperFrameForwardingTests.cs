using System.Buffers.Binary;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>
/// A router forwarding received super-frames (issue 12 item 2; Linux's <c>ip_forward</c> of a GRO packet): a TCP or UDP
/// super-frame whose segments fit the next hop leaves as the same super-frame to a device with TSO/USO, and as its
/// segments, made in software, to any other; the wire carries the same segments either way, TTL or hop limit decremented
/// and every checksum whole. Segments too large for the next hop earn the ICMP error the packet would.
/// </summary>
public sealed class SuperFrameForwardingTests
{
    private static readonly MacAddress AMac = MacAddress.Parse("02:00:00:00:0a:01");
    private static readonly MacAddress LeftMac = MacAddress.Parse("02:00:00:00:0f:01");
    private static readonly MacAddress RightMac = MacAddress.Parse("02:00:00:00:0f:02");
    private static readonly MacAddress BMac = MacAddress.Parse("02:00:00:00:0b:01");
    private static readonly IpAddress A4 = Ipv4Address.Parse("192.0.2.1");
    private static readonly IpAddress B4 = Ipv4Address.Parse("198.51.100.1");
    private static readonly IpAddress A6 = Ipv6Address.Parse("2001:db8:1::1");
    private static readonly IpAddress B6 = Ipv6Address.Parse("2001:db8:2::1");

    private sealed class Port(MacAddress mac, int mtu, DeviceOffloads offloads) : QueuePort(mac, mtu)
    {
        public List<byte[]> Wire { get; } = [];
        public List<FrameTransmitInfo> Offloaded { get; } = [];
        public override int MaxFrameSize => offloads == DeviceOffloads.None ? Mtu + EthernetFrame.HeaderLength : 65535 + EthernetFrame.HeaderLength;

        public override DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this) with
        {
            Offloads = offloads,
            GsoMaxSize = offloads == DeviceOffloads.None ? 0 : 65535,
        };

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            Wire.Add(frame.ToArray());
            base.Transmit(frame, now);
        }

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
        {
            Offloaded.Add(info);
            Assert.True(SoftwareSegmentation.Transmit(this, frame, now, info) > 0);
        }
    }

    private sealed class Lab : HandPolledStacks
    {
        public readonly NetworkStack Router;
        public readonly NetworkStack B;
        public readonly Port Left;
        public readonly Port Right;
        public readonly Port BPort;
        public readonly NetworkInterface LeftIface;

        public Lab(DeviceOffloads rightOffloads, int rightMtu = 1500)
            : this(new NetworkStack(null, new SeededRandom(3)), new NetworkStack(null, new SeededRandom(2)),
                new Port(LeftMac, 1500, DeviceOffloads.None), new Port(RightMac, rightMtu, rightOffloads), new Port(BMac, rightMtu, DeviceOffloads.None))
        {
        }

        private Lab(NetworkStack router, NetworkStack b, Port left, Port right, Port bPort) : base([router, b], [right, bPort, left])
        {
            (Router, B, Left, Right, BPort) = (router, b, left, right, bPort);
            QueuePort.Connect(Right, BPort);
            LeftIface = Router.AddInterface(Left, new InterfaceConfig
            {
                Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.254/24")], Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:1::fe/64")], Forwarding = true,
            }, Now);
            Router.AddInterface(Right, new InterfaceConfig
            {
                Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.254/24")], Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:2::fe/64")], Forwarding = true,
            }, Now);
            B.AddInterface(BPort, new InterfaceConfig
            {
                Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.1/24")], Ipv4Gateway = Ipv4Address.Parse("198.51.100.254"),
                Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8:2::1/64")], Ipv6Gateway = Ipv6Address.Parse("2001:db8:2::fe"),
            }, Now);
            Run(TimeSpan.FromSeconds(3));
        }

        /// <summary>Pushes a frame from A into the router's left interface, then lets everything settle.</summary>
        public void FromA(byte[] frame, FrameReceiveInfo info = default)
        {
            Router.Receive(LeftIface, frame, info, Now);
            Run(TimeSpan.FromMilliseconds(20));
        }
    }

    private static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 13 + 5);
        return b;
    }

    /// <summary>A TCP or UDP packet from A to B of <paramref name="payload"/>, its transport checksum the pseudo-header sum (NEEDS_CSUM) or whole.</summary>
    private static byte[] Packet(IpAddress src, IpAddress dst, IpProtocol protocol, byte[] payload, bool partial)
    {
        bool tcp = protocol == IpProtocol.Tcp;
        int thl = tcp ? 20 : 8;
        var t = new byte[thl + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(t, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), 5001);
        if (tcp)
        {
            BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), 1_000_000);
            BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(8), 77);
            t[12] = 5 << 4;
            t[13] = 0x18; // ACK, PSH
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 65535);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(4), (ushort)t.Length);
        }
        payload.CopyTo(t, thl);
        ulong pseudo = Checksum.PseudoHeader(src, dst, (byte)protocol, t.Length);
        ushort sum = partial ? Checksum.Fold(pseudo) : Checksum.Compute(t, pseudo);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(tcp ? 16 : 6), sum);
        byte[] ip;
        if (src.IsV4)
        {
            ip = new byte[20 + t.Length];
            new Ipv4Repr(src.V4, dst.V4, protocol, t.Length, Ttl: 64, DontFragment: true).Write(ip);
            t.CopyTo(ip, 20);
        }
        else
        {
            ip = new byte[40 + t.Length];
            new Ipv6Repr(src.V6, dst.V6, protocol, t.Length, 64).Write(ip);
            t.CopyTo(ip, 40);
        }
        var frame = new byte[14 + ip.Length];
        new EthernetRepr(AMac, LeftMac, src.IsV4 ? EtherType.Ipv4 : EtherType.Ipv6).Write(frame);
        ip.CopyTo(frame, 14);
        return frame;
    }

    private static FrameReceiveInfo Gso(IpAddress src, IpProtocol protocol, int gsoSize, bool partial = true)
    {
        bool tcp = protocol == IpProtocol.Tcp;
        int l4 = 14 + (src.IsV4 ? 20 : 40);
        var type = !tcp ? VirtioGsoType.UdpL4 : src.IsV4 ? VirtioGsoType.TcpV4 : VirtioGsoType.TcpV6;
        return new FrameReceiveInfo
        {
            Virtio = partial
                ? new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, type, (ushort)(l4 + (tcp ? 20 : 8)), (ushort)gsoSize, (ushort)l4, (ushort)(tcp ? 16 : 6))
                : new VirtioNetHeader(VirtioNetHeader.FlagDataValid, type, (ushort)(l4 + (tcp ? 20 : 8)), (ushort)gsoSize, 0, 0),
        };
    }

    /// <summary>Checks each frame the right link carried toward B as one segment of the super-frame; returns the payload bytes.</summary>
    private static byte[] CheckSegments(List<byte[]> wire, IpAddress src, IpAddress dst, IpProtocol protocol, int gsoSize, int expected)
    {
        var frames = wire.Where(f =>
        {
            if (!EthernetFrame.TryParse(f, out var eth, out _) || eth.Destination != BMac) return false;
            return eth.EtherType == (src.IsV4 ? EtherType.Ipv4 : EtherType.Ipv6) && f.Length > 200;
        }).ToList();
        Assert.Equal(expected, frames.Count);
        var payload = new List<byte>();
        for (int i = 0; i < frames.Count; i++)
        {
            var f = frames[i].AsSpan(14);
            ReadOnlySpan<byte> transport;
            if (src.IsV4)
            {
                Assert.True(Ipv4Packet.TryParse(f, out var ip, out _));
                Assert.True(Checksum.Verify(f[..ip.HeaderLength]));
                Assert.Equal(63, ip.Ttl);
                transport = ip.Payload;
            }
            else
            {
                Assert.True(Ipv6Packet.TryParse(f, out var ip, out _));
                Assert.Equal(63, ip.HopLimit);
                transport = ip.Payload;
            }
            if (protocol == IpProtocol.Tcp)
            {
                Assert.True(TcpSegment.TryParse(transport, out var seg, out _));
                Assert.True(seg.VerifyChecksum(src, dst), $"segment {i}: TCP checksum");
                Assert.Equal(1_000_000u + (uint)(i * gsoSize), seg.SequenceNumber.Value);
                payload.AddRange(seg.Payload.ToArray());
            }
            else
            {
                Assert.True(UdpDatagram.TryParse(transport, out var d, out _));
                Assert.True(d.VerifyChecksum(src, dst), $"datagram {i}: UDP checksum");
                Assert.True(d.Payload.Length == gsoSize || i == frames.Count - 1);
                payload.AddRange(d.Payload.ToArray());
            }
        }
        return [.. payload];
    }

    public static TheoryData<bool, IpProtocol, bool, bool> Cases()
    {
        var data = new TheoryData<bool, IpProtocol, bool, bool>();
        foreach (bool v6 in new[] { false, true })
            foreach (var protocol in new[] { IpProtocol.Tcp, IpProtocol.Udp })
                foreach (bool offloads in new[] { false, true })
                    foreach (bool partial in new[] { true, false })
                        data.Add(v6, protocol, offloads, partial);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_received_super_frame_is_forwarded_whole_to_a_device_with_the_offload_and_cut_in_software_otherwise(
        bool ipv6, IpProtocol protocol, bool offloads, bool partial)
    {
        var lab = new Lab(offloads ? DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6 | DeviceOffloads.Uso : DeviceOffloads.None);
        var (src, dst) = ipv6 ? (A6, B6) : (A4, B4);
        lab.FromA(Packet(src, dst, protocol, Pattern(100), partial: false));   // resolves B on the right
        lab.Right.Wire.Clear();
        lab.Right.Offloaded.Clear();

        const int gso = 1400;
        var payload = Pattern(gso * 4 + 321);
        lab.FromA(Packet(src, dst, protocol, payload, partial), Gso(src, protocol, gso, partial));

        Assert.Equal(payload, CheckSegments(lab.Right.Wire, src, dst, protocol, gso, 5));
        Assert.Equal(1, lab.Router.Statistics.SuperFramesForwarded);
        Assert.Equal(0, lab.Router.Statistics.Drops(DropReason.OffloadSuperFrameNotForwarded));
        if (offloads)
        {
            var info = Assert.Single(lab.Right.Offloaded);
            Assert.Equal(gso, info.Virtio.GsoSize);
            Assert.Equal(protocol == IpProtocol.Udp ? VirtioGsoType.UdpL4 : ipv6 ? VirtioGsoType.TcpV6 : VirtioGsoType.TcpV4, info.Virtio.GsoType);
            Assert.Equal(0, lab.Router.Statistics.SegmentsBuiltInSoftware);
        }
        else
        {
            Assert.Empty(lab.Right.Offloaded);
            Assert.Equal(5, lab.Router.Statistics.SegmentsBuiltInSoftware);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Segments_larger_than_the_next_hop_earn_the_ICMP_error_the_packet_would_RFC1191_RFC4443_3_2(bool ipv6)
    {
        var lab = new Lab(DeviceOffloads.None, rightMtu: 1280);
        var (src, dst) = ipv6 ? (A6, B6) : (A4, B4);
        lab.FromA(Packet(src, dst, IpProtocol.Tcp, Pattern(100), partial: false));
        lab.Right.Wire.Clear();
        lab.FromA(Packet(src, dst, IpProtocol.Tcp, Pattern(1400 * 3), partial: true), Gso(src, IpProtocol.Tcp, 1400));
        Assert.DoesNotContain(lab.Right.Wire, f => f.Length > 1000);
        Assert.Equal(0, lab.Router.Statistics.SuperFramesForwarded);
        Assert.Equal(1, lab.Router.Statistics.Drops(ipv6 ? DropReason.Ipv6PacketTooBig : DropReason.Ipv4FragmentNeededDf));
    }
}
