using System.Collections.Concurrent;
using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Interop.Tests.Support;

/// <summary>An in-memory device with no file descriptor: frames are injected from any thread.</summary>
internal sealed class QueueDevice : INetDevice
{
    private readonly ConcurrentQueue<byte[]> _inbound = new();

    public Medium Medium => Medium.Ethernet;
    public int Mtu => 1500;
    public int MaxFrameSize => 1522;
    public MacAddress HardwareAddress => MacAddress.Parse("02:00:5e:00:53:09");

    public void Inject(byte[] frame) => _inbound.Enqueue(frame);

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        length = 0;
        if (!_inbound.TryDequeue(out var f)) return false;
        f.CopyTo(buffer);
        length = f.Length;
        return true;
    }

    public void Transmit(ReadOnlySpan<byte> frame, Instant now) { }
}
