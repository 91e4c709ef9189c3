using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// The one device abstraction under the stack: a TAP or TUN, a pcap live device, a capture being
/// replayed, an in-memory link, or a decorator around any of these (recorder, fault injector).
/// <para>
/// The core pulls received frames with <see cref="TryReceive(Span{byte}, Instant, out int, out FrameReceiveInfo)"/> from its <c>Poll</c> and pushes
/// frames out with <see cref="Transmit(ReadOnlySpan{byte}, Instant)"/>, both on the caller's thread and without allocation:
/// the caller owns the buffers and the device copies what it keeps. Frames may exceed
/// <see cref="Mtu"/> + link header (offloaded super-frames, up to <see cref="MaxFrameSize"/>).
/// </para>
/// </summary>
public interface INetDevice
{
    /// <summary>The link type (Ethernet frames, or bare IP packets on a TUN-like device).</summary>
    Medium Medium { get; }

    /// <summary>The largest IP packet the link carries (1500 on Ethernet by default).</summary>
    int Mtu { get; }

    /// <summary>The largest frame this device will hand over or accept, link header included.</summary>
    int MaxFrameSize { get; }

    /// <summary>The interface's MAC address (<see cref="MacAddress.Zero"/> on a raw-IP medium).</summary>
    MacAddress HardwareAddress { get; }

    /// <summary>
    /// Copies the next waiting frame into <paramref name="buffer"/> (at least <see cref="MaxFrameSize"/>
    /// bytes) and returns its length; returns false when no frame is waiting at <paramref name="now"/>.
    /// </summary>
    bool TryReceive(Span<byte> buffer, Instant now, out int length);

    /// <summary>Sends one whole frame. The device copies it before returning; a full queue is a counted drop, not an error.</summary>
    void Transmit(ReadOnlySpan<byte> frame, Instant now);

    /// <summary>
    /// What this device offers: sizes, offloads, a wait handle for the runtime, statistics. The default describes a
    /// device of plain frames; devices with more (a TAP with offloads) override it, and decorators pass it through.
    /// </summary>
    DeviceCapabilities Capabilities => DeviceCapabilities.Basic(this);

    /// <summary>
    /// Sends one frame with transmit offloads asked of the device (<see cref="FrameTransmitInfo"/>: a partial checksum,
    /// a TSO/USO super-frame). The stack calls this only with what <see cref="Capabilities"/> offers; the default makes
    /// the frames in software (<see cref="SoftwareSegmentation"/>) and sends each with <see cref="Transmit(ReadOnlySpan{byte}, Instant)"/>.
    /// </summary>
    void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info) => SoftwareSegmentation.Transmit(this, frame, now, info);

    /// <summary>
    /// <see cref="TryReceive(Span{byte}, Instant, out int)"/> with what the device knows about the frame (its
    /// virtio-net header, say). The stack calls this one; the default knows nothing more.
    /// </summary>
    bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        info = default;
        return TryReceive(buffer, now, out length);
    }
}

/// <summary>Walks chains of decorators (<see cref="NetDeviceDecorator"/>) down to the device that does the work.</summary>
public static class NetDevices
{
    /// <summary>
    /// The first device of the chain starting at <paramref name="device"/> (itself first, then each
    /// <see cref="NetDeviceDecorator.Inner"/>) that is a <typeparamref name="T"/>; null when none is.
    /// </summary>
    public static T? Find<T>(this INetDevice device) where T : class
    {
        ArgumentNullException.ThrowIfNull(device);
        for (INetDevice? d = device; d is not null; d = (d as NetDeviceDecorator)?.Inner)
        {
            if (d is T t) return t;
        }
        return null;
    }
}
