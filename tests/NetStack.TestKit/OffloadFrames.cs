using NetStack.Link;
using NetStack.Wire;

namespace NetStack.TestKit;

/// <summary>
/// Builds TCP frames the way a device with offloads exchanges them (Linux's virtio-net header, as a vnet-header TAP or a
/// veth carries it): Ethernet, IPv4 (DF, no options) or IPv6 (hop limit 64), then the TCP segment with its checksum whole
/// or partial (the pseudo-header sum only: NEEDS_CSUM), and the header that describes a super-frame as TSO segments.
/// Independent of the core's segmentation: the wire Reprs write every field.
/// </summary>
internal static class OffloadFrames
{
    private const int Eth = EthernetFrame.HeaderLength;

    /// <summary>
    /// An Ethernet frame from <paramref name="srcMac"/>/<paramref name="src"/> to <paramref name="dstMac"/>/<paramref name="dst"/>
    /// (the family is the addresses') carrying <paramref name="tcp"/> and <paramref name="payload"/>; IPv4 has
    /// <paramref name="identification"/> and DF. With <paramref name="partialChecksum"/> the TCP checksum field holds the
    /// pseudo-header sum a device completes (NEEDS_CSUM), otherwise the whole checksum.
    /// </summary>
    public static byte[] Tcp(MacAddress srcMac, MacAddress dstMac, IpAddress src, IpAddress dst, in TcpRepr tcp,
        ReadOnlySpan<byte> payload, ushort identification = 0, bool partialChecksum = false)
    {
        if (src.Version != dst.Version) throw new ArgumentException("source and destination of different families", nameof(dst));
        bool v6 = src.IsV6;
        int tcpLen = tcp.HeaderLength + payload.Length;
        int ipHeader = Families.IpHeaderLength(src.Version);
        var frame = new byte[Eth + ipHeader + tcpLen];
        new EthernetRepr(srcMac, dstMac, v6 ? EtherType.Ipv6 : EtherType.Ipv4).Write(frame);
        if (v6) new Ipv6Repr(src.V6, dst.V6, IpProtocol.Tcp, tcpLen, 64).Write(frame.AsSpan(Eth));
        else new Ipv4Repr(src.V4, dst.V4, IpProtocol.Tcp, tcpLen, Identification: identification, DontFragment: true).Write(frame.AsSpan(Eth));
        tcp.Write(frame.AsSpan(Eth + ipHeader), payload, Checksum.PseudoHeader(src, dst, (byte)IpProtocol.Tcp, tcpLen), partialChecksum);
        return frame;
    }

    /// <summary>
    /// The virtio-net header of a TCP super-frame to be cut into segments of <paramref name="gsoSize"/> payload bytes:
    /// NEEDS_CSUM from the TCP header (csum_start after IP, csum_offset 16), gso_type TCPv4/TCPv6, hdr_len
    /// <paramref name="headerLength"/> (Ethernet, IP and TCP headers).
    /// </summary>
    public static VirtioNetHeader Tso(bool v6, int headerLength, int gsoSize) =>
        new(VirtioNetHeader.FlagNeedsChecksum, v6 ? VirtioGsoType.TcpV6 : VirtioGsoType.TcpV4, (ushort)headerLength,
            (ushort)gsoSize, (ushort)(Eth + Families.IpHeaderLength(v6 ? IpVersion.V6 : IpVersion.V4)), 16);

    /// <summary>
    /// A TCP super-frame (<see cref="Tcp"/> with a partial checksum) and the <see cref="Tso"/> header that describes it as
    /// segments of <paramref name="mss"/>: what the kernel writes to a vnet-header TAP, or TCP hands a device with TSO.
    /// </summary>
    public static (byte[] Frame, VirtioNetHeader Virtio) TcpSuper(MacAddress srcMac, MacAddress dstMac, IpAddress src, IpAddress dst,
        in TcpRepr tcp, ReadOnlySpan<byte> payload, int mss, ushort identification = 0)
    {
        var frame = Tcp(srcMac, dstMac, src, dst, tcp, payload, identification, partialChecksum: true);
        return (frame, Tso(src.IsV6, Eth + Families.IpHeaderLength(src.Version) + tcp.HeaderLength, mss));
    }

    /// <summary>The wire frames a device with TSO sends for <paramref name="frame"/> (the core's <see cref="SoftwareSegmentation"/>).</summary>
    public static List<byte[]> WireFrames(byte[] frame, in VirtioNetHeader virtio)
    {
        int count = SoftwareSegmentation.SegmentCount(frame, Eth, virtio, out _);
        var frames = new List<byte[]>(count);
        var buffer = new byte[frame.Length];
        for (int i = 0; i < count; i++) frames.Add(buffer.AsSpan(0, SoftwareSegmentation.WriteSegment(frame, Eth, virtio, i, buffer)).ToArray());
        return frames;
    }
}

/// <summary>
/// An Ethernet device that hands out queued frames with the receive info they were queued with (a vnet-header TAP giving
/// GSO super-frames and partial checksums) and records what is sent to it. A subclass may offer offloads
/// (<see cref="Capabilities"/>). The frame size bound defaults to a 64 KB GSO frame with its Ethernet header.
/// </summary>
internal class ReceiveInfoDevice(MacAddress mac, int maxFrameSize = 65_550) : INetDevice
{
    private readonly Queue<(byte[] Frame, FrameReceiveInfo Info)> _incoming = new();
    public List<byte[]> Sent { get; } = [];
    public Medium Medium => Medium.Ethernet;
    public int Mtu => 1500;
    public int MaxFrameSize { get; } = maxFrameSize;
    public MacAddress HardwareAddress { get; } = mac;
    public virtual DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this);

    /// <summary>Queues a frame to be received with <paramref name="info"/>.</summary>
    public void Enqueue(byte[] frame, FrameReceiveInfo info) => _incoming.Enqueue((frame, info));

    public bool TryReceive(Span<byte> buffer, Instant now, out int length) => TryReceive(buffer, now, out length, out _);

    public bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        length = 0;
        info = default;
        if (!_incoming.TryDequeue(out var f)) return false;
        f.Frame.CopyTo(buffer);
        length = f.Frame.Length;
        info = f.Info;
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Sent.Add(frame.ToArray());
}
