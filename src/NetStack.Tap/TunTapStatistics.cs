namespace NetStack.Tap;

/// <summary>Counters of one TAP/TUN device, updated by the thread that drives it (read from any thread).</summary>
public sealed class TunTapStatistics : NetStack.Link.IDeviceStatistics
{
    internal long _framesReceived, _bytesReceived, _framesTransmitted, _bytesTransmitted, _transmitDrops, _receiveErrors, _superFramesReceived, _superFramesTransmitted;

    /// <summary>Frames read from the device.</summary>
    public long FramesReceived => Volatile.Read(ref _framesReceived);
    /// <summary>Bytes read from the device.</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);
    /// <summary>Frames written to the device.</summary>
    public long FramesTransmitted => Volatile.Read(ref _framesTransmitted);
    /// <summary>Bytes written to the device.</summary>
    public long BytesTransmitted => Volatile.Read(ref _bytesTransmitted);
    /// <summary>Frames the kernel refused (interface down, queue full, too large): counted, not thrown.</summary>
    public long TransmitDrops => Volatile.Read(ref _transmitDrops);
    /// <summary>Frames the kernel handed over as super-frames (a virtio-net header with a gso_type: TSO/USO offloads at work).</summary>
    public long SuperFramesReceived => Volatile.Read(ref _superFramesReceived);
    /// <summary>Frames written as super-frames (TSO/USO: a virtio-net header with a gso_type the kernel segments if it must).</summary>
    public long SuperFramesTransmitted => Volatile.Read(ref _superFramesTransmitted);

    /// <summary>read() failures other than "nothing waiting".</summary>
    public long ReceiveErrors => Volatile.Read(ref _receiveErrors);

    /// <summary>The errno of the last failed read or write, 0 if none.</summary>
    public int LastErrno { get; internal set; }
}
