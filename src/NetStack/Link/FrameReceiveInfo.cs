using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// What a device knows about one received frame beyond its bytes; <c>default</c> for devices that know nothing more.
/// Today: the virtio-net header of an offloading TAP/TUN (checksum state, super-frame segmentation), and whether the
/// frame was longer than the buffer it was read into. The stack validates it (a header that lies is a counted drop).
/// Decorators that hold frames keep it with the frame.
/// </summary>
public readonly record struct FrameReceiveInfo
{
    /// <summary>The frame's virtio-net header, as the device read it (null: none).</summary>
    public VirtioNetHeader? Virtio { get; init; }

    /// <summary>
    /// The frame was longer than the receive buffer (a super-frame beyond the negotiated maximum): the bytes handed
    /// over are only its beginning. The stack drops it, counted (<see cref="DropReason.OffloadFrameTooLong"/>).
    /// </summary>
    public bool Truncated { get; init; }
}
