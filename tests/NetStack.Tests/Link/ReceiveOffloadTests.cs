using System.Buffers.Binary;
using CsCheck;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Transport.Udp;
using NetStack.Wire;
using static NetStack.Tests.Ipv4.Kit.SingleHost;

namespace NetStack.Tests.Link;

/// <summary>
/// Receive offloads (issue 12 item 1): what a TAP's virtio-net header says about a frame is checked against the frame
/// before anything trusts it. A header that lies is a counted drop (DropReason.Offload*), never an exception and never a
/// read past the frame; one that holds tells the transports to skip the checksum (DATA_VALID / NEEDS_CSUM) and that the
/// packet is a super-frame (gso_size).
/// </summary>
public class ReceiveOffloadTests
{
    private const int TcpPort = 5001;

    private static (SingleHost Host, RecordingTransport Tcp, RecordingTransport Udp) Host()
    {
        var h = new SingleHost();
        var tcp = new RecordingTransport();
        var udp = new RecordingTransport();
        h.Stack.RegisterTransport(IpProtocol.Tcp, tcp);
        h.Stack.RegisterTransport(IpProtocol.Udp, udp);
        return (h, tcp, udp);
    }

    /// <summary>An Ethernet frame peer -> us carrying IPv4 + a 20-byte TCP header (ACK) + <paramref name="payload"/> bytes,
    /// its TCP checksum left as the pseudo-header sum (what a NEEDS_CSUM frame from the kernel holds).</summary>
    private static byte[] TcpFrame(int payload, bool moreFragments = false)
    {
        var tcp = new byte[20 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), TcpPort);
        tcp[12] = 5 << 4;
        tcp[13] = 0x10;
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(14), 65535);
        Frames.Pattern(payload).CopyTo(tcp, 20);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(16),
            (ushort)~Checksum.Compute([], Checksum.PseudoHeaderV4(Peer, Us, (byte)IpProtocol.Tcp, tcp.Length)));
        var ip = Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Tcp, tcp.Length, MoreFragments: moreFragments), tcp);
        return Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4, ip);
    }

    /// <summary>IPv4 + UDP from the peer's port 40000 to <paramref name="port"/>, checksum zeroed (not verified on IPv4 when 0).</summary>
    private static byte[] UdpFrame(int payload, ushort port, bool badChecksum = false)
    {
        var udp = new byte[8 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), port);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        Frames.Pattern(payload).CopyTo(udp, 8);
        if (badChecksum) BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), 0x1234);
        return Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4, Frames.Ip(new Ipv4Repr(Peer, Us, IpProtocol.Udp, udp.Length), udp));
    }

    private const int L3 = 14, L4 = 14 + 20;

    private static FrameReceiveInfo Partial(VirtioGsoType gso = VirtioGsoType.None, ushort gsoSize = 0, ushort csumOffset = 16) =>
        new() { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, gso, L4 + 20, gsoSize, L4, csumOffset) };

    [Fact]
    public void A_partially_checksummed_TCP_frame_is_delivered_with_its_checksum_trusted()
    {
        var (h, tcp, _) = Host();
        h.Stack.Receive(h.Interface, TcpFrame(100), Partial(), h.Now);
        var (info, _) = Assert.Single(tcp.Received);
        Assert.True(info.ChecksumTrusted);
        Assert.Equal(0, info.GsoSize);
        Assert.Equal(1, h.Stack.Statistics.ChecksumOffloadedFrames);
    }

    [Fact]
    public void A_frame_without_a_virtio_header_is_not_trusted()
    {
        var (h, tcp, _) = Host();
        h.Stack.Receive(h.Interface, TcpFrame(100), h.Now);
        Assert.False(Assert.Single(tcp.Received).Info.ChecksumTrusted);
    }

    [Fact]
    public void A_TCPv4_super_frame_longer_than_the_MTU_reaches_TCP_as_one_packet_with_its_gso_size()
    {
        var (h, tcp, _) = Host();
        var frame = TcpFrame(60_000);
        Assert.True(frame.Length > h.Interface.Mtu + 14);
        h.Stack.Receive(h.Interface, frame, Partial(VirtioGsoType.TcpV4, 1448), h.Now);
        var (info, payload) = Assert.Single(tcp.Received);
        Assert.Equal(1448, info.GsoSize);
        Assert.Equal(60_020, payload.Length);
        Assert.Equal(1, h.Stack.Statistics.SuperFramesReceived);
    }

    [Fact]
    public void Data_valid_is_honoured_and_needs_no_checksum_range()
    {
        var (h, tcp, _) = Host();
        h.Stack.Receive(h.Interface, TcpFrame(10), new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagDataValid, VirtioGsoType.None, 0, 0, 0, 0) }, h.Now);
        Assert.True(Assert.Single(tcp.Received).Info.ChecksumTrusted);
    }

    [Fact]
    public void Needs_csum_pointing_elsewhere_than_the_transport_header_is_not_trusted()
    {
        var (h, tcp, _) = Host();
        h.Stack.Receive(h.Interface, TcpFrame(100), new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, L4 + 4, 12) }, h.Now);
        Assert.False(Assert.Single(tcp.Received).Info.ChecksumTrusted);
    }

    [Fact]
    public void A_fragment_is_never_trusted()
    {
        var (h, tcp, _) = Host();
        h.Stack.Receive(h.Interface, TcpFrame(100, moreFragments: true), Partial(), h.Now);
        Assert.Empty(tcp.Received); // held for reassembly; the claim was not carried
        Assert.Equal(0, h.Stack.Statistics.ChecksumOffloadedFrames);
    }

    public static TheoryData<string, DropReason> Lies => new()
    {
        { "gso_size 0", DropReason.OffloadBadGsoSize },
        { "gso_size larger than the payload", DropReason.OffloadBadGsoSize },
        { "csum_start past the end", DropReason.OffloadBadChecksumRange },
        { "csum_offset past the end", DropReason.OffloadBadChecksumRange },
        { "csum_start inside the link header", DropReason.OffloadBadChecksumRange },
        { "gso_type UFO", DropReason.OffloadUnknownGsoType },
        { "gso_type 2", DropReason.OffloadUnknownGsoType },
        { "gso_type 0x7f", DropReason.OffloadUnknownGsoType },
        { "TCPv6 on an IPv4 packet", DropReason.OffloadGsoMismatch },
        { "UDP L4 on a TCP packet", DropReason.OffloadGsoMismatch },
        { "TCPv4 on a fragment", DropReason.OffloadGsoMismatch },
        { "TCPv4 on an ARP frame", DropReason.OffloadGsoMismatch },
        { "longer than the receive buffer", DropReason.OffloadFrameTooLong },
    };

    [Theory]
    [MemberData(nameof(Lies))]
    public void A_virtio_header_that_lies_is_a_counted_drop(string lie, DropReason expected)
    {
        var (h, tcp, udp) = Host();
        var frame = TcpFrame(1000);
        var info = lie switch
        {
            "gso_size 0" => Partial(VirtioGsoType.TcpV4, 0),
            "gso_size larger than the payload" => Partial(VirtioGsoType.TcpV4, 1001),
            "csum_start past the end" => new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, (ushort)frame.Length, 0) },
            "csum_offset past the end" => Partial(csumOffset: (ushort)(frame.Length - L4 - 1)),
            "csum_start inside the link header" => new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, 4, 0) },
            "gso_type UFO" => Partial(VirtioGsoType.Udp, 500),
            "gso_type 2" => Partial((VirtioGsoType)2, 500),
            "gso_type 0x7f" => Partial((VirtioGsoType)0x7f, 500),
            "TCPv6 on an IPv4 packet" => Partial(VirtioGsoType.TcpV6, 500),
            "UDP L4 on a TCP packet" => Partial(VirtioGsoType.UdpL4, 500),
            "TCPv4 on a fragment" => Partial(VirtioGsoType.TcpV4, 500),
            "TCPv4 on an ARP frame" => new FrameReceiveInfo { Virtio = new VirtioNetHeader(0, VirtioGsoType.TcpV4, 0, 500, 0, 0) },
            "longer than the receive buffer" => new FrameReceiveInfo { Truncated = true },
            _ => throw new ArgumentOutOfRangeException(nameof(lie)),
        };
        if (lie == "TCPv4 on a fragment") frame = TcpFrame(1000, moreFragments: true);
        if (lie == "TCPv4 on an ARP frame") frame = Frames.Ethernet(PeerMac, MacAddress.Broadcast, EtherType.Arp, Frames.Arp(ArpRepr.Request(PeerMac, Peer, Us)));
        h.Stack.Receive(h.Interface, frame, info, h.Now);
        Assert.Equal(1, h.Stack.Statistics.Drops(expected));
        Assert.Empty(tcp.Received);
        Assert.Empty(udp.Received);
    }

    [Fact]
    public void A_super_frame_on_a_raw_IP_medium_is_checked_from_the_IP_header()
    {
        var stack = new NetworkStack(new StackOptions(), new SeededRandom(1));
        var tun = new RecordingDevice(Medium.Ip);
        var iface = stack.AddInterface(tun, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false });
        var tcp = new RecordingTransport();
        stack.RegisterTransport(IpProtocol.Tcp, tcp);
        var packet = TcpFrame(3000)[14..];
        stack.Receive(iface, packet, new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.TcpV4, 40, 1000, 20, 16) }, Instant.FromSeconds(1));
        var (info, _) = Assert.Single(tcp.Received);
        Assert.True(info.ChecksumTrusted);
        Assert.Equal(1000, info.GsoSize);
    }

    [Fact]
    public void A_UDP_super_frame_is_delivered_as_one_datagram_per_gso_size()
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        using var socket = udp.Bind(new IpEndpoint(Us, 7000));
        h.Introduce();
        var frame = UdpFrame(250, 7000, badChecksum: true);
        h.Stack.Receive(h.Interface, frame, new FrameReceiveInfo
        {
            Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.UdpL4, L4 + 8, 100, L4, 6),
        }, h.Now);
        var buffer = new byte[2000];
        var sizes = new List<int>();
        var all = new List<byte>();
        while (socket.TryReceive(buffer, out _, out int n))
        {
            sizes.Add(n);
            all.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        Assert.Equal([100, 100, 50], sizes);
        Assert.Equal(Frames.Pattern(250), all.ToArray());
    }

    [Fact]
    public void Without_the_header_the_same_bad_UDP_checksum_is_a_drop()
    {
        var h = new SingleHost();
        var udp = new UdpLayer(h.Stack);
        using var socket = udp.Bind(new IpEndpoint(Us, 7000));
        h.Stack.Receive(h.Interface, UdpFrame(250, 7000, badChecksum: true), h.Now);
        Assert.False(socket.TryReceive(new byte[2000], out _, out _));
        Assert.Equal(1, h.Stack.Statistics.Drops(DropReason.UdpBadChecksum));
    }

    [Fact]
    public void A_router_completes_a_partial_checksum_before_forwarding()
    {
        var h = new SingleHost(forwarding: true);
        var thirdMac = MacAddress.Parse("02:00:00:00:00:03");
        var third = Ipv4Address.Parse("192.0.2.3");
        h.Introduce(third, thirdMac);

        var udp = new byte[8 + 300];
        BinaryPrimitives.WriteUInt16BigEndian(udp, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), 33434);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        Frames.Pattern(300).CopyTo(udp, 8);
        // NEEDS_CSUM: the field holds the folded pseudo-header sum only.
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), (ushort)~Checksum.Compute([], Checksum.PseudoHeaderV4(Peer, third, (byte)IpProtocol.Udp, udp.Length)));
        var frame = Frames.Ethernet(PeerMac, OurMac, EtherType.Ipv4, Frames.Ip(new Ipv4Repr(Peer, third, IpProtocol.Udp, udp.Length), udp));
        h.Stack.Receive(h.Interface, frame, new FrameReceiveInfo { Virtio = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, L4, 6) }, h.Now);

        var forwarded = Assert.Single(h.TakeSent(), f => Frames.IpOf(f) is { } p && p[9] == (byte)IpProtocol.Udp);
        Assert.True(Ipv4Packet.TryParse(Frames.IpOf(forwarded)!, out var ip, out _));
        Assert.True(UdpDatagram.TryParse(ip.Payload, out var d, out _));
        Assert.True(d.VerifyChecksum(Peer, third));
        Assert.Equal(1, h.Stack.Statistics.Ipv4PacketsForwarded);
    }

    [Fact]
    public void Random_virtio_headers_over_random_and_real_frames_never_throw() =>
        Gen.Select(Gen.Byte.Array[VirtioNetHeader.Length], Gen.Int[0, 3000], Gen.Int[0, 4], Gen.Bool).Sample((header, size, kind, truncated) =>
        {
            var (h, _, _) = Host();
            var udp = new UdpLayer(h.Stack);
            using var socket = udp.Bind(new IpEndpoint(Us, 7000));
            var frame = kind switch
            {
                0 => TcpFrame(size),
                1 => UdpFrame(size, 7000),
                2 => TcpFrame(size)[..Math.Min(14 + 20 + size, 40)],
                3 => Frames.Pattern(size),
                _ => TcpFrame(size, moreFragments: true),
            };
            Assert.True(VirtioNetHeader.TryRead(header, out var v));
            h.Stack.Receive(h.Interface, frame, new FrameReceiveInfo { Virtio = v, Truncated = truncated }, h.Now);
            return true;
        });

    [Fact]
    public void The_header_reads_and_writes_little_endian_with_the_ECN_bit_apart()
    {
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.TcpV6, 74, 1428, 54, 16, Ecn: true);
        var bytes = new byte[VirtioNetHeader.MergeableLength];
        h.Write(bytes);
        Assert.Equal(new byte[] { 1, 0x84, 74, 0, 0x94, 0x05, 54, 0, 16, 0, 0, 0 }, bytes);
        Assert.True(VirtioNetHeader.TryRead(bytes, out var back));
        Assert.Equal(h, back);
        Assert.False(VirtioNetHeader.TryRead(bytes.AsSpan(0, 9), out _));
    }
}
