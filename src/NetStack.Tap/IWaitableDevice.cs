namespace NetStack.Tap;

/// <summary>
/// A device the event loop can sleep on: <see cref="FileDescriptor"/> becomes readable (POLLIN)
/// whenever a frame is waiting for <c>INetDevice.TryReceive</c>.
/// Devices that do not implement this (in-memory links, capture replay) are polled on a short
/// interval by <see cref="StackHost"/>, or wake it themselves through <see cref="StackHost.Wake"/>.
/// </summary>
public interface IWaitableDevice
{
    /// <summary>A pollable file descriptor, or -1 when the device has none (then it is polled on an interval).</summary>
    int FileDescriptor { get; }
}
