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
/// poll turn began. Everything else passes through; it stays waitable when the device is.
/// </summary>
public sealed class StampingDevice(INetDevice inner, Func<Instant> clock) : INetDevice, IWaitableDevice
{
    public INetDevice Inner { get; } = inner;
    public Medium Medium => Inner.Medium;
    public int Mtu => Inner.Mtu;
    public int MaxFrameSize => Inner.MaxFrameSize;
    public MacAddress HardwareAddress => Inner.HardwareAddress;
    public int FileDescriptor => Inner is IWaitableDevice w ? w.FileDescriptor : -1;

    /// <summary>When the frame last returned by <see cref="TryReceive"/> was read (the one the stack is handling now).</summary>
    public Instant? LastReceived { get; private set; }

    /// <summary>Raised after each frame was handed to the device, with the time read just before.</summary>
    public event FrameTransmitted? Transmitted;

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        if (!Inner.TryReceive(buffer, now, out length)) return false;
        LastReceived = clock();
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now)
    {
        var at = clock();
        Inner.Transmit(frame, now);
        Transmitted?.Invoke(frame, at);
    }
}
