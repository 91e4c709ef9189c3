using NetStack.Link;
using NetStack.Simulation;
using NetStack.Wire;

namespace NetStack.Tap;

/// <summary>
/// An in-memory Ethernet link for two <see cref="IpStack"/>s in one process (tests, demos): the two ends of an
/// <see cref="InMemoryLink"/> made safe for two loop threads (one lock for the link) and a transmit that wakes the
/// receiving stack's loop at once. The simulator's links are single-threaded by design (virtual time); this is their
/// real-time, two-thread adapter.
/// </summary>
public sealed class IpStackLink : IDisposable
{
    private readonly InMemoryLink _link;
    private readonly Lock _lock = new();

    /// <summary>Creates the link with locally administered MAC addresses 02:00:00:00:00:0a (<see cref="A"/>) and
    /// 02:00:00:00:00:0b (<see cref="B"/>).</summary>
    public IpStackLink() : this(MacAddress.Parse("02:00:00:00:00:0a"), MacAddress.Parse("02:00:00:00:00:0b"))
    {
    }

    /// <summary>Creates the link; <paramref name="options"/> (latency, bandwidth, MTU) apply both ways.</summary>
    public IpStackLink(MacAddress macA, MacAddress macB, LinkOptions? options = null)
    {
        _link = InMemoryLink.Ethernet(macA, macB, options);
        var a = new Endpoint(_link.A, _lock);
        var b = new Endpoint(_link.B, _lock);
        a.Peer = b;
        b.Peer = a;
        A = a;
        B = b;
    }

    /// <summary>One end, for the first stack.</summary>
    public INetDevice A { get; }

    /// <summary>The other end, for the second stack.</summary>
    public INetDevice B { get; }

    /// <summary>Frames sent from A to B and from B to A.</summary>
    public (long AToB, long BToA) FramesSent
    {
        get
        {
            lock (_lock) return (_link.AToBStatistics.Sent, _link.BToAStatistics.Sent);
        }
    }

    /// <summary>Disposes both ends of the link.</summary>
    public void Dispose()
    {
        lock (_lock) _link.Dispose();
    }

    /// <summary>A link end that locks around the shared link and wakes its peer's loop when it sends.</summary>
    internal sealed class Endpoint(LinkEndpoint inner, Lock gate) : INetDevice, IHostWakeable
    {
        public Endpoint? Peer { get; set; }

        /// <summary>Set by the stack that owns this end: wakes its loop.</summary>
        public Action? WakeOwner { get; set; }

        public Medium Medium => inner.Medium;
        public int Mtu => inner.Mtu;
        public int MaxFrameSize => inner.MaxFrameSize;
        public MacAddress HardwareAddress => inner.HardwareAddress;

        public bool TryReceive(Span<byte> buffer, Instant now, out int length)
        {
            lock (gate) return inner.TryReceive(buffer, now, out length);
        }

        public void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            lock (gate) inner.Transmit(frame, now);
            Peer?.WakeOwner?.Invoke();
        }
    }
}

/// <summary>A device whose frames arrive without a file descriptor to wait on: its owner gives it a way to wake the loop.</summary>
internal interface IHostWakeable
{
    Action? WakeOwner { get; set; }
}
