using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// What a device can do beyond moving frames (gVisor's <c>LinkEndpointCapabilities</c> and GSO fields, smoltcp's
/// <c>DeviceCapabilities</c>). Offloads are named from the stack's side: <em>receive</em> offloads are facts the device
/// may state about frames it hands over (<see cref="FrameReceiveInfo"/>), <em>transmit</em> offloads are work the device
/// would do on frames the stack gives it.
/// </summary>
[Flags]
public enum DeviceOffloads
{
    /// <summary>No offload.</summary>
    None = 0,

    /// <summary>Received frames may say their transport checksum was verified, or need not be (a virtio-net header's
    /// DATA_VALID / NEEDS_CSUM): the stack then skips its own check, as Linux does for CHECKSUM_UNNECESSARY/PARTIAL.</summary>
    ReceiveChecksum = 1 << 0,

    /// <summary>The device completes the transport checksum of a frame marked partial (virtio NEEDS_CSUM) on transmit.</summary>
    TransmitChecksum = 1 << 1,

    /// <summary>Received TCP/IPv4 super-frames (GRO/LRO, up to <see cref="DeviceCapabilities.GsoMaxSize"/>): one segment to TCP.</summary>
    ReceiveTcp4 = 1 << 2,

    /// <summary>Received TCP/IPv6 super-frames.</summary>
    ReceiveTcp6 = 1 << 3,

    /// <summary>Received UDP super-frames (UDP L4 GSO over IPv4): datagrams of gso_size, delivered one by one.</summary>
    ReceiveUdp4 = 1 << 4,

    /// <summary>Received UDP super-frames over IPv6.</summary>
    ReceiveUdp6 = 1 << 5,

    /// <summary>The device segments TCP/IPv4 super-frames the stack transmits (TSO4).</summary>
    Tso4 = 1 << 6,

    /// <summary>The device segments TCP/IPv6 super-frames (TSO6).</summary>
    Tso6 = 1 << 7,

    /// <summary>The device segments UDP super-frames (USO, IPv4 and IPv6).</summary>
    Uso = 1 << 8,
}

/// <summary>What a descriptor-style wait handle is, so that a runtime knows how to sleep on it.</summary>
public enum DeviceWaitKind
{
    /// <summary>No handle: the device is polled on an interval, or wakes its owner itself.</summary>
    None,

    /// <summary>A POSIX file descriptor that becomes readable (POLLIN) when a frame waits.</summary>
    FileDescriptor,
}

/// <summary>
/// An opaque handle a runtime can sleep on until the device has a frame. The sans-IO core never uses it: it only
/// carries it from the device, through any decorators, to the runtime (<c>StackHost</c> polls file descriptors).
/// </summary>
public readonly record struct DeviceWaitHandle(DeviceWaitKind Kind, long Value)
{
    /// <summary>No handle.</summary>
    public static DeviceWaitHandle None => default;

    /// <summary>A file descriptor (negative: none).</summary>
    public static DeviceWaitHandle FromFileDescriptor(int fd) => fd >= 0 ? new(DeviceWaitKind.FileDescriptor, fd) : default;

    /// <summary>The file descriptor, or -1 when this is not one.</summary>
    public int FileDescriptor => Kind == DeviceWaitKind.FileDescriptor ? (int)Value : -1;
}

/// <summary>Counters a device keeps of its own (frames the kernel refused, say), read from any thread.</summary>
public interface IDeviceStatistics
{
    /// <summary>Frames the device has received.</summary>
    long FramesReceived { get; }
    /// <summary>Bytes the device has received.</summary>
    long BytesReceived { get; }
    /// <summary>Frames the device has transmitted.</summary>
    long FramesTransmitted { get; }
    /// <summary>Bytes the device has transmitted.</summary>
    long BytesTransmitted { get; }

    /// <summary>Frames the device could not send (queue full, interface down): counted, not thrown.</summary>
    long TransmitDrops { get; }
}

/// <summary>
/// The explicit description of a device: medium, sizes, offloads, its wait handle and its statistics. Decorators
/// (<see cref="NetDeviceDecorator"/>) pass the inner device's description through unless they change it on purpose.
/// </summary>
public sealed record DeviceCapabilities
{
    /// <summary>Ethernet frames or bare IP packets.</summary>
    public Medium Medium { get; init; }

    /// <summary>The largest IP packet the link carries (1500 on Ethernet by default).</summary>
    public int Mtu { get; init; }

    /// <summary>The largest frame the device hands over or accepts, link header included (super-frames included).</summary>
    public int MaxFrameSize { get; init; }

    /// <summary>Checksum and segmentation offloads in force.</summary>
    public DeviceOffloads Offloads { get; init; }

    /// <summary>The largest super-frame (IP packet) the device hands over or accepts when it offers segmentation offloads; 0 without.</summary>
    public int GsoMaxSize { get; init; }

    /// <summary>Where a runtime sleeps until a frame is waiting (<see cref="DeviceWaitHandle.None"/>: it polls).</summary>
    public DeviceWaitHandle WaitHandle { get; init; }

    /// <summary>The device's own counters, when it keeps any.</summary>
    public IDeviceStatistics? Statistics { get; init; }

    /// <summary>True when every flag of <paramref name="offloads"/> is in force.</summary>
    public bool Has(DeviceOffloads offloads) => (Offloads & offloads) == offloads;

    /// <summary>The plain description of a device that offers nothing but frames.</summary>
    public static DeviceCapabilities Basic(INetDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return new DeviceCapabilities { Medium = device.Medium, Mtu = device.Mtu, MaxFrameSize = device.MaxFrameSize };
    }
}
