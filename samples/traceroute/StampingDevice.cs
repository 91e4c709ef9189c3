using NetStack.Link;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>A frame was handed to the device at <paramref name="at"/>.</summary>
public delegate void FrameTransmitted(ReadOnlySpan<byte> frame, Instant at);

/// <summary>
/// A device as traceroute needs it for round-trip times: it reads the clock right before each frame goes to the device
/// (the probe's send time, as traceroute 2.1 stamps just before send()) and right after each frame is read off it (the
/// answer's receive time, where Linux has the kernel's SO_TIMESTAMP), so a time is the frame's own, not the time a
/// poll turn began. Everything else passes through (<see cref="NetDeviceDecorator"/>): capabilities, the wait handle,
/// and each frame's receive information (a TAP's virtio-net header: checksum already verified or still partial,
/// super-frames), without which a TAP opened with offloads hands the stack frames it cannot check.
/// </summary>
public sealed class StampingDevice(INetDevice inner, Func<Instant> clock) : NetDeviceDecorator(inner)
{
    /// <summary>When the frame last returned by <see cref="TryReceive"/> was read (the one the stack is handling now).</summary>
    public Instant? LastReceived { get; private set; }

    /// <summary>Raised after each frame was handed to the device, with the time read just before.</summary>
    public event FrameTransmitted? Transmitted;

    public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        if (!Inner.TryReceive(buffer, now, out length, out info)) return false;
        LastReceived = clock();
        return true;
    }

    public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        var at = clock();
        Inner.Transmit(frame, now);
        Transmitted?.Invoke(frame, at);
    }

    public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
    {
        var at = clock();
        Inner.Transmit(frame, now, info);
        Transmitted?.Invoke(frame, at);
    }
}
