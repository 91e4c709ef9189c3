using System.Buffers;
using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// One interface of a stack: a device plus its link-level facts. Family-specific state (addresses,
/// neighbour caches, routes) lives in the IPv4 and IPv6 layers, keyed by <see cref="Index"/>; this
/// class is the link layer's half: it frames packets for the medium and hands them to the device.
/// </summary>
public sealed class NetworkInterface
{
    /// <summary>Bytes reserved before every packet a layer builds, so the link header is written in place.</summary>
    public const int Headroom = 64;

    private readonly StackStatistics _stats;
    private readonly EgressQueue? _egress;

    internal NetworkInterface(int index, string name, INetDevice device, MacAddress hardwareAddress, int mtu, StackStatistics stats,
        EgressQueue? egress = null)
    {
        _egress = egress;
        Index = index;
        Name = name;
        Device = device;
        HardwareAddress = hardwareAddress;
        Mtu = mtu;
        _stats = stats;
    }

    /// <summary>The interface's index in <see cref="Composition.NetworkStack.Interfaces"/>.</summary>
    public int Index { get; }
    /// <summary>The interface's name (for logs).</summary>
    public string Name { get; }
    /// <summary>The device the interface sends and receives through.</summary>
    public INetDevice Device { get; }
    /// <summary>The device's link type.</summary>
    public Medium Medium => Device.Medium;

    /// <summary>Our MAC on this link (may differ from the device's default when configured).</summary>
    public MacAddress HardwareAddress { get; }

    /// <summary>The link MTU for IP (may be lowered by DHCP option 26 or an RA MTU option).</summary>
    public int Mtu { get; internal set; }

    /// <summary>Link header length in front of IP packets on this medium.</summary>
    public int LinkHeaderLength => Medium == Medium.Ethernet ? EthernetFrame.HeaderLength : 0;

    /// <summary>
    /// Rents a buffer for building one outgoing packet at offset <see cref="Headroom"/>; return it with
    /// <see cref="ReturnBuffer"/>. Sized for the device's largest frame.
    /// </summary>
    public byte[] RentBuffer() => ArrayPool<byte>.Shared.Rent(Headroom + Math.Max(Device.MaxFrameSize, Mtu + 64));

    /// <summary>Rents a buffer for one outgoing packet of up to <paramref name="packetLength"/> bytes (a super-segment, say) at <see cref="Headroom"/>.</summary>
    public byte[] RentBuffer(int packetLength) =>
        ArrayPool<byte>.Shared.Rent(Headroom + Math.Max(packetLength, Math.Max(Device.MaxFrameSize, Mtu + 64)));

    private DeviceCapabilities? _capabilities;

    /// <summary>The device's capabilities, read once (a TAP's are fixed when it is opened).</summary>
    public DeviceCapabilities Capabilities => _capabilities ??= Device.Capabilities;

    /// <summary>Returns a frame buffer rented from the shared pool.</summary>
    public static void ReturnBuffer(byte[] buffer) => ArrayPool<byte>.Shared.Return(buffer);

    /// <summary>
    /// Frames and transmits the IP (or ARP) packet at <paramref name="buffer"/>[<paramref name="offset"/>..+<paramref name="length"/>].
    /// The bytes before <paramref name="offset"/> (at least 14) are overwritten with the link header.
    /// On a raw-IP medium the destination MAC and EtherType are ignored.
    /// </summary>
    public void Transmit(MacAddress destination, EtherType etherType, Span<byte> buffer, int offset, int length, Instant now)
    {
        Span<byte> frame;
        if (Medium == Medium.Ethernet)
        {
            int start = offset - EthernetFrame.HeaderLength;
            new EthernetRepr(HardwareAddress, destination, etherType).Write(buffer[start..]);
            frame = buffer.Slice(start, length + EthernetFrame.HeaderLength);
        }
        else
        {
            frame = buffer.Slice(offset, length);
        }
        Transmit(frame, now);
    }

    /// <summary>
    /// <see cref="Transmit(MacAddress, EtherType, Span{byte}, int, int, Instant)"/> of a packet with transmit offloads:
    /// <paramref name="offload"/> is a virtio-net header whose offsets (csum_start, hdr_len) count from the IP header. A
    /// device that offers them (<see cref="DeviceCapabilities.Offloads"/>: checksum, TSO4/TSO6/USO within
    /// <see cref="DeviceCapabilities.GsoMaxSize"/>) gets the frame whole with the header; any other gets the frames
    /// <see cref="SoftwareSegmentation"/> makes, one by one (Linux's GSO and <c>skb_checksum_help</c>, in
    /// <c>validate_xmit_skb</c>).
    /// </summary>
    public void Transmit(MacAddress destination, EtherType etherType, Span<byte> buffer, int offset, int length, Instant now, in VirtioNetHeader offload)
    {
        if (offload == default)
        {
            Transmit(destination, etherType, buffer, offset, length, now);
            return;
        }
        int link = LinkHeaderLength;
        int start = offset - link;
        if (link > 0) new EthernetRepr(HardwareAddress, destination, etherType).Write(buffer[start..]);
        var frame = buffer.Slice(start, length + link);
        var h = offload with
        {
            ChecksumStart = (ushort)(offload.ChecksumStart + link),
            HeaderLength = (ushort)(offload.HeaderLength + link),
        };
        var caps = Capabilities;
        bool gso = h.GsoType != VirtioGsoType.None;
        var needed = DeviceOffloads.None;
        if (h.NeedsChecksum) needed |= DeviceOffloads.TransmitChecksum;
        if (gso)
        {
            needed |= h.GsoType switch
            {
                VirtioGsoType.TcpV4 => DeviceOffloads.Tso4,
                VirtioGsoType.TcpV6 => DeviceOffloads.Tso6,
                _ => DeviceOffloads.Uso,
            };
        }
        if (caps.Has(needed) && frame.Length <= Device.MaxFrameSize && (!gso || length <= caps.GsoMaxSize))
        {
            if (!Emit(frame, now, new FrameTransmitInfo { Virtio = h }, offloaded: true)) return;
            _stats.FramesTransmitted++;
            _stats.BytesTransmitted += frame.Length;
            if (gso) _stats.SuperFramesTransmitted++;
            return;
        }
        int count = SoftwareSegmentation.SegmentCount(frame, link, h, out int headers);
        if (count == 0)
        {
            _stats.Drop(DropReason.LinkMalformed); // the layer above described its packet wrongly: counted, never sent
            return;
        }
        if (count == 1 && !gso)
        {
            SoftwareSegmentation.CompleteChecksum(frame, h); // in place: the buffer is ours
            Transmit(frame, now);
            return;
        }
        var scratch = ArrayPool<byte>.Shared.Rent(headers + h.GsoSize);
        try
        {
            for (int i = 0; i < count; i++)
            {
                int n = SoftwareSegmentation.WriteSegment(frame, link, h, i, scratch);
                _stats.SegmentsBuiltInSoftware++;
                Transmit(scratch.AsSpan(0, n), now);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private void Transmit(Span<byte> frame, Instant now)
    {
        if (frame.Length > Device.MaxFrameSize)
        {
            _stats.Drop(DropReason.LinkFrameTooLarge);
            return;
        }
        if (!Emit(frame, now, default, offloaded: false)) return;
        _stats.FramesTransmitted++;
        _stats.BytesTransmitted += frame.Length;
    }

    /// <summary>
    /// Hands a finished frame to the device, or, during an ingress pass (<see cref="EgressQueue.Deferring"/>), to the
    /// stack's egress queue, which sends it once the receive call that produced it has returned: a device is never called
    /// from inside the stack's receive path. False when the queue was full (counted, <see cref="DropReason.EgressQueueFull"/>).
    /// </summary>
    private bool Emit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info, bool offloaded)
    {
        if (_egress is { Deferring: true } queue)
        {
            if (queue.TryEnqueue(Device, frame, info, offloaded)) return true;
            _stats.Drop(DropReason.EgressQueueFull);
            return false;
        }
        if (offloaded) Device.Transmit(frame, now, info);
        else Device.Transmit(frame, now);
        return true;
    }

    /// <summary>Name, index, link type, hardware address and MTU.</summary>
    public override string ToString() => $"{Name} (#{Index}, {Medium}, {HardwareAddress}, mtu {Mtu})";
}
