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

    internal NetworkInterface(int index, string name, INetDevice device, MacAddress hardwareAddress, int mtu, StackStatistics stats)
    {
        Index = index;
        Name = name;
        Device = device;
        HardwareAddress = hardwareAddress;
        Mtu = mtu;
        _stats = stats;
    }

    public int Index { get; }
    public string Name { get; }
    public INetDevice Device { get; }
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
        if (frame.Length > Device.MaxFrameSize)
        {
            _stats.Drop(DropReason.LinkFrameTooLarge);
            return;
        }
        _stats.FramesTransmitted++;
        _stats.BytesTransmitted += frame.Length;
        Device.Transmit(frame, now);
    }

    public override string ToString() => $"{Name} (#{Index}, {Medium}, {HardwareAddress}, mtu {Mtu})";
}
