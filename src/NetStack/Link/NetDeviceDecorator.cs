using NetStack.Wire;

namespace NetStack.Link;

/// <summary>
/// The base of devices that wrap another (recorder, fault injector, a tracer): everything the inner device offers
/// is forwarded (frames, <see cref="INetDevice.Capabilities"/> with its offloads, wait handle and statistics, the
/// per-frame <see cref="FrameReceiveInfo"/>, and <see cref="ITimedDevice"/> timing) unless the decorator overrides
/// it, as gVisor's <c>link/nested</c> endpoint does. Transmitted offloaded frames are segmented in software before
/// <see cref="Transmit(ReadOnlySpan{byte}, Instant)"/> unless the decorator overrides the offloaded overload. <see cref="NetDevices.Find{T}"/> walks the chain.
/// </summary>
public abstract class NetDeviceDecorator : INetDevice, ITimedDevice
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected NetDeviceDecorator(INetDevice inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The wrapped device.</summary>
    public INetDevice Inner { get; }

    /// <inheritdoc/>
    public virtual Medium Medium => Inner.Medium;
    /// <inheritdoc/>
    public virtual int Mtu => Inner.Mtu;
    /// <inheritdoc/>
    public virtual int MaxFrameSize => Inner.MaxFrameSize;
    /// <inheritdoc/>
    public virtual MacAddress HardwareAddress => Inner.HardwareAddress;

    /// <summary>The inner device's capabilities, unchanged.</summary>
    public virtual DeviceCapabilities Capabilities => Inner.Capabilities;

    /// <summary>The inner device's next arrival (<see cref="Instant.MaxValue"/> when it is not timed).</summary>
    public virtual Instant NextArrival => Inner is ITimedDevice t ? t.NextArrival : Instant.MaxValue;

    /// <inheritdoc/>
    public virtual void Service(Instant now)
    {
        if (Inner is ITimedDevice t) t.Service(now);
    }

    /// <inheritdoc/>
    public bool TryReceive(Span<byte> buffer, Instant now, out int length) => TryReceive(buffer, now, out length, out _);

    /// <inheritdoc/>
    public virtual bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info) =>
        Inner.TryReceive(buffer, now, out length, out info);

    /// <inheritdoc/>
    public virtual void Transmit(ReadOnlySpan<byte> frame, Instant now) => Inner.Transmit(frame, now);

    /// <summary>
    /// An offloaded frame (partial checksum, TSO/USO super-frame; the inner device's capabilities offered it). The base
    /// class makes the wire frames in software (<see cref="SoftwareSegmentation"/>) and sends each through
    /// <see cref="Transmit(ReadOnlySpan{byte}, Instant)"/>, so a decorator that only overrides that one still sees every
    /// frame; a decorator that can pass a super-frame on whole (a recorder) overrides this one too and forwards it to
    /// <see cref="Inner"/> with its info, keeping the offload.
    /// </summary>
    public virtual void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info) =>
        SoftwareSegmentation.Transmit(this, frame, now, info);

    /// <summary>The decorator's type name around the inner device's.</summary>
    public override string ToString() => $"{GetType().Name}({Inner})";
}
