using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Tests.Ipv4.Kit;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>
/// Software segmentation (issue 12 item 2, Linux's GSO): a TCP super-frame with a partial checksum becomes exactly the
/// frames TCP would have sent one MSS at a time (built here independently with the wire writers): IPv4 total length,
/// Identification and header checksum, IPv6 payload length, sequence numbers, PSH/FIN only on the last segment, CWR only
/// on the first, whole TCP checksums. UDP (USO) likewise. Headers that lie yield nothing.
/// </summary>
public class SoftwareSegmentationTests
{
    private static readonly MacAddress MacA = SimLan.Mac(1), MacB = SimLan.Mac(2);
    private const int Eth = EthernetFrame.HeaderLength;

    private static IpAddress Src(bool v6) => v6 ? Families.V6A : Families.V4A;
    private static IpAddress Dst(bool v6) => v6 ? Families.V6B : Families.V4B;

    private static TcpRepr Tcp(uint seq, TcpFlags flags) => new()
    {
        SourcePort = 40000,
        DestinationPort = 5001,
        SequenceNumber = new SeqNumber(seq),
        AckNumber = new SeqNumber(777),
        Flags = flags,
        Window = 512,
        Timestamps = new TcpTimestamps(1234, 5678),
    };

    /// <summary>An Ethernet frame with IPv4 or IPv6 and the TCP segment (seq, flags, payload), checksum whole or partial.</summary>
    private static byte[] Frame(bool v6, uint seq, TcpFlags flags, ReadOnlySpan<byte> payload, ushort id, bool partial) =>
        OffloadFrames.Tcp(MacA, MacB, Src(v6), Dst(v6), Tcp(seq, flags), payload, id, partial);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_TCP_super_frame_becomes_the_segments_TCP_would_have_sent_one_by_one(bool v6)
    {
        const int mss = 1000;
        var payload = Frames.Pattern(3 * mss + 517);
        var all = TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin | TcpFlags.Cwr;
        var super = Frame(v6, 1_000_000, all, payload, id: 0xFFFE, partial: true);
        int headers = Eth + (v6 ? 40 : 20) + Tcp(0, all).HeaderLength;
        var h = OffloadFrames.Tso(v6, headers, mss);

        Assert.Equal(4, SoftwareSegmentation.SegmentCount(super, Eth, h, out int hdr));
        Assert.Equal(headers, hdr);
        var buffer = new byte[2000];
        for (int i = 0; i < 4; i++)
        {
            int len = SoftwareSegmentation.WriteSegment(super, Eth, h, i, buffer);
            var flags = TcpFlags.Ack;
            if (i == 0) flags |= TcpFlags.Cwr;       // CWR only on the first
            if (i == 3) flags |= TcpFlags.Psh | TcpFlags.Fin; // PSH and FIN only on the last
            int size = Math.Min(mss, payload.Length - i * mss);
            // IPv4 Identification advances per segment (and wraps), as the kernel's TSO does.
            var expected = Frame(v6, (uint)(1_000_000 + i * mss), flags, payload.AsSpan(i * mss, size), (ushort)(0xFFFE + i), partial: false);
            Assert.Equal(expected, buffer.AsSpan(0, len).ToArray());
            Assert.True(len - Eth <= (v6 ? 40 : 20) + 32 + mss);
            // The segment checks out as a receiver checks it (the kit checks the IPv4 header and TCP checksums).
            Expect.Frame(buffer.AsSpan(0, len)).Ip(src: Src(v6), dst: Dst(v6)).Tcp();
        }
        Assert.Equal(0, SoftwareSegmentation.WriteSegment(super, Eth, h, 4, buffer));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_partial_checksum_is_completed_to_the_whole_checksum(bool v6)
    {
        var payload = Frames.Pattern(777, seed: 3);
        var partial = Frame(v6, 42, TcpFlags.Ack | TcpFlags.Psh, payload, id: 9, partial: true);
        var whole = Frame(v6, 42, TcpFlags.Ack | TcpFlags.Psh, payload, id: 9, partial: false);
        Assert.NotEqual(whole, partial);
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.None, 0, 0, (ushort)(Eth + (v6 ? 40 : 20)), 16);
        Assert.Equal(1, SoftwareSegmentation.SegmentCount(partial, Eth, h, out _));
        var out1 = new byte[partial.Length];
        Assert.Equal(partial.Length, SoftwareSegmentation.WriteSegment(partial, Eth, h, 0, out1));
        Assert.Equal(whole, out1);
        SoftwareSegmentation.CompleteChecksum(partial, h);
        Assert.Equal(whole, partial);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_UDP_super_frame_becomes_datagrams_of_gso_size_with_lengths_and_checksums(bool v6)
    {
        var payload = Frames.Pattern(2 * 300 + 10, seed: 5);
        int ipHeader = v6 ? 40 : 20;
        int udpLen = 8 + payload.Length;
        var frame = new byte[Eth + ipHeader + udpLen];
        new EthernetRepr(MacA, MacB, v6 ? EtherType.Ipv6 : EtherType.Ipv4).Write(frame);
        IpAddress s = Src(v6), d = Dst(v6);
        if (v6) new Ipv6Repr(s.V6, d.V6, IpProtocol.Udp, udpLen, 64).Write(frame.AsSpan(Eth));
        else new Ipv4Repr(s.V4, d.V4, IpProtocol.Udp, udpLen, Identification: 100).Write(frame.AsSpan(Eth));
        var udp = frame.AsSpan(Eth + ipHeader);
        BinaryPrimitives.WriteUInt16BigEndian(udp, 1000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], 2000);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udpLen);
        payload.CopyTo(udp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], Checksum.Fold(Checksum.PseudoHeader(s, d, (byte)IpProtocol.Udp, udpLen)));
        var h = new VirtioNetHeader(VirtioNetHeader.FlagNeedsChecksum, VirtioGsoType.UdpL4, (ushort)(Eth + ipHeader + 8), 300,
            (ushort)(Eth + ipHeader), 6);

        Assert.Equal(3, SoftwareSegmentation.SegmentCount(frame, Eth, h, out _));
        var buffer = new byte[1000];
        for (int i = 0; i < 3; i++)
        {
            int len = SoftwareSegmentation.WriteSegment(frame, Eth, h, i, buffer);
            int size = i < 2 ? 300 : 10;
            Assert.Equal(Eth + ipHeader + 8 + size, len);
            // The kit checks the IPv4 header checksum and the UDP checksum (over s -> d).
            var seg = Expect.Frame(buffer.AsSpan(0, len)).Ip(src: s, dst: d).Udp().PayloadIs(payload.AsSpan(i * 300, size));
            if (!v6) Assert.Equal((ushort)(100 + i), seg.Ipv4Identification);
            Assert.Equal(8 + size, BinaryPrimitives.ReadUInt16BigEndian(seg.Transport.AsSpan(4)));
        }
    }

    [Fact]
    public void Headers_that_do_not_describe_the_frame_yield_no_segment()
    {
        var payload = Frames.Pattern(3000);
        var super = Frame(false, 1, TcpFlags.Ack, payload, 1, partial: true);
        int headers = Eth + 20 + 32;
        var buffer = new byte[70000];
        VirtioNetHeader[] lies =
        [
            OffloadFrames.Tso(false, headers, 0),                                               // gso_size 0
            OffloadFrames.Tso(true, headers, 1000),                                             // TCPv6 on an IPv4 packet
            OffloadFrames.Tso(false, headers, 1000) with { ChecksumOffset = 6 },                // not TCP's checksum field
            OffloadFrames.Tso(false, headers, 1000) with { ChecksumStart = 60000 },             // csum_start past the end
            OffloadFrames.Tso(false, headers, 1000) with { ChecksumStart = 2 },                 // csum_start inside the link header
            OffloadFrames.Tso(false, headers, 1000) with { Flags = 0 },                         // segmentation without NEEDS_CSUM
            OffloadFrames.Tso(false, headers, 1000) with { GsoType = (VirtioGsoType)9 },        // unknown gso_type
        ];
        foreach (var h in lies)
        {
            Assert.Equal(0, SoftwareSegmentation.SegmentCount(super, Eth, h, out _));
            Assert.Equal(0, SoftwareSegmentation.WriteSegment(super, Eth, h, 0, buffer));
        }
        // A truncated frame: headers only.
        Assert.Equal(0, SoftwareSegmentation.SegmentCount(super.AsSpan(0, headers), Eth, OffloadFrames.Tso(false, headers, 1000), out _));
        Assert.Equal(0, SoftwareSegmentation.SegmentCount(super.AsSpan(0, 30), Eth, OffloadFrames.Tso(false, headers, 1000), out _));
        // A destination too small is refused, not overrun.
        Assert.Equal(0, SoftwareSegmentation.WriteSegment(super, Eth, OffloadFrames.Tso(false, headers, 1000), 0, new byte[100]));
    }

    [Fact]
    public void A_device_without_offloads_gets_the_segments_one_by_one()
    {
        var payload = Frames.Pattern(2500);
        var super = Frame(false, 7, TcpFlags.Ack | TcpFlags.Psh, payload, 1, partial: true);
        var device = new RecordingDevice();
        int n = SoftwareSegmentation.Transmit(device, super, Instant.Zero, new FrameTransmitInfo { Virtio = OffloadFrames.Tso(false, Eth + 52, 1000) });
        Assert.Equal(3, n);
        Assert.Equal([Eth + 52 + 1000, Eth + 52 + 1000, Eth + 52 + 500], device.Frames.Select(f => f.Length));
        // Through the interface's default method too.
        var plainDevice = new RecordingDevice();
        ((INetDevice)plainDevice).Transmit(super, Instant.Zero, new FrameTransmitInfo { Virtio = OffloadFrames.Tso(false, Eth + 52, 1000) });
        Assert.Equal(device.Frames.Select(f => f.ToArray()), plainDevice.Frames.Select(f => f.ToArray()));
    }

    [Fact]
    public void Decorators_keep_the_offload_capabilities_the_recorder_passes_super_frames_and_the_fault_injector_segments_them()
    {
        var payload = Frames.Pattern(2500);
        var super = Frame(false, 7, TcpFlags.Ack | TcpFlags.Psh, payload, 1, partial: true);
        var info = new FrameTransmitInfo { Virtio = OffloadFrames.Tso(false, Eth + 52, 1000) };

        // A TSO device straight behind a recorder: the super-frame is recorded and handed on whole, with its header.
        var tso = new TsoRecordingDevice();
        using (var recorder = new PcapRecorder(tso, new MemoryStream()))
        {
            Assert.Equal(tso.Capabilities.Offloads, ((INetDevice)recorder).Capabilities.Offloads);
            ((INetDevice)recorder).Transmit(super, Instant.Zero, info);
            Assert.Equal(1, recorder.FramesRecorded);
        }
        Assert.Equal([super.Length], tso.Frames.Select(f => f.Length));
        Assert.Equal([info.Virtio], tso.Headers);

        // Behind a fault injector the capabilities still pass, but the frame reaches the device as its wire segments.
        var inner = new TsoRecordingDevice();
        using (var faults = new FaultInjector(inner, new SeededRandom(1)))
        {
            Assert.Equal(inner.Capabilities.Offloads, ((INetDevice)faults).Capabilities.Offloads);
            ((INetDevice)faults).Transmit(super, Instant.Zero, info);
            Assert.Equal(3, faults.TransmitStatistics.Frames);
        }
        Assert.Equal([Eth + 52 + 1000, Eth + 52 + 1000, Eth + 52 + 500], inner.Frames.Select(f => f.Length));
        Assert.All(inner.Headers, h => Assert.Equal(default, h));
    }

    private sealed class TsoRecordingDevice : INetDevice
    {
        public List<byte[]> Frames { get; } = [];
        public List<VirtioNetHeader> Headers { get; } = [];
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 65550;
        public MacAddress HardwareAddress => MacA;
        public DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this) with
        {
            Offloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6,
            GsoMaxSize = 65536,
        };
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Transmit(frame, now, default);
        public void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
        {
            Frames.Add(frame.ToArray());
            Headers.Add(info.Virtio);
        }
    }

    private sealed class RecordingDevice : INetDevice
    {
        public List<byte[]> Frames { get; } = [];
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 1514;
        public MacAddress HardwareAddress => MacA;
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Frames.Add(frame.ToArray());
    }
}
