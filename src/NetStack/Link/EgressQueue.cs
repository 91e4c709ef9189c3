using System.Buffers;

namespace NetStack.Link;

/// <summary>
/// The frames a stack produced while it was processing a received frame (its ingress pass), held until that pass has
/// returned and sent then, in the order they were produced (the egress pass). With it, nothing below the IP layers'
/// receive calls reaches a device re-entrantly: an echo reply, an ARP or NDP answer, a TCP RST for a closed port, an ICMP
/// error, a UDP reply an application sent from its receive callback, a forwarded packet all wait here until the receive
/// call stack has unwound. smoltcp's <c>Interface::poll</c> has the same shape (<c>socket_ingress</c> returns the reply as
/// a value and dispatches it before the next frame; <c>socket_egress</c> then lets the sockets send), and gVisor's
/// netstack queues what its receive path writes on the endpoint's queueing discipline.
/// <para>
/// Bounded in frames and bytes and allocation-free in steady state: frames are copied into one arena, rented from the
/// shared pool and kept (it grows, doubling, up to <see cref="MaxBytes"/>, and only while the stack warms up). A frame
/// that does not fit is a counted drop (<see cref="DropReason.EgressQueueFull"/>), never an exception. Single-threaded,
/// as the stack is.
/// </para>
/// </summary>
public sealed class EgressQueue
{
    private readonly Entry[] _entries;
    private byte[] _arena = [];
    private int _count;
    private int _used;
    private int _depth;
    private bool _flushing;

    /// <summary>A queue of at most <paramref name="maxFrames"/> frames and <paramref name="maxBytes"/> bytes.</summary>
    public EgressQueue(int maxFrames = 256, int maxBytes = 1 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrames, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 2048);
        _entries = new Entry[maxFrames];
        MaxBytes = maxBytes;
    }

    /// <summary>The most frames the queue holds.</summary>
    public int MaxFrames => _entries.Length;

    /// <summary>The most bytes the queue holds (frames as the device would get them, link header included).</summary>
    public int MaxBytes { get; private set; }

    /// <summary>Frames waiting for the egress pass.</summary>
    public int Count => _count;

    /// <summary>True during an ingress pass: transmissions are queued, not handed to the device.</summary>
    public bool Deferring => _depth > 0;

    /// <summary>Frames queued since the queue was made (for tests and statistics).</summary>
    public long FramesQueued { get; private set; }

    /// <summary>Starts an ingress pass (they nest: a device that loops a frame back into the stack).</summary>
    public void BeginIngress() => _depth++;

    /// <summary>Ends an ingress pass.</summary>
    public void EndIngress()
    {
        if (_depth > 0) _depth--;
    }

    /// <summary>Raises <see cref="MaxBytes"/> to at least <paramref name="bytes"/> (an interface whose frames are larger).</summary>
    public void EnsureRoomFor(int bytes)
    {
        if (bytes > MaxBytes) MaxBytes = bytes;
    }

    /// <summary>
    /// Copies <paramref name="frame"/> (with <paramref name="info"/> when <paramref name="offloaded"/>) to the end of the
    /// queue, for <paramref name="device"/>; false when it is full in frames or bytes (the caller counts the drop).
    /// </summary>
    public bool TryEnqueue(INetDevice device, ReadOnlySpan<byte> frame, in FrameTransmitInfo info, bool offloaded)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_count == _entries.Length || _used + frame.Length > MaxBytes) return false;
        if (_used + frame.Length > _arena.Length) Grow(_used + frame.Length);
        frame.CopyTo(_arena.AsSpan(_used));
        _entries[_count++] = new Entry(device, _used, frame.Length, info, offloaded);
        _used += frame.Length;
        FramesQueued++;
        return true;
    }

    private void Grow(int needed)
    {
        int size = Math.Max(16 * 1024, _arena.Length);
        while (size < needed) size *= 2;
        size = Math.Min(size, Math.Max(MaxBytes, needed));
        var bigger = ArrayPool<byte>.Shared.Rent(size);
        _arena.AsSpan(0, _used).CopyTo(bigger);
        // During a flush a device may still be reading the old arena (a frame being handed over): leave that one to the
        // collector rather than give it back to the pool. Growth happens only while the stack warms up.
        if (_arena.Length > 0 && !_flushing) ArrayPool<byte>.Shared.Return(_arena);
        _arena = bigger;
    }

    /// <summary>
    /// The egress pass: hands every queued frame to its device, in the order queued, and empties the queue. Returns the
    /// number of frames sent. A frame queued while the flush runs (a device that loops back into the stack) is sent by it too.
    /// </summary>
    public int Flush(Instant now)
    {
        if (_flushing || _count == 0) return 0;
        _flushing = true;
        int sent = 0;
        try
        {
            for (int i = 0; i < _count; i++)
            {
                var e = _entries[i];
                _entries[i] = default;
                var frame = new ReadOnlySpan<byte>(_arena, e.Offset, e.Length);
                if (e.Offloaded) e.Device!.Transmit(frame, now, e.Info);
                else e.Device!.Transmit(frame, now);
                sent++;
            }
        }
        finally
        {
            _flushing = false;
            Array.Clear(_entries, 0, _count);
            _count = 0;
            _used = 0;
        }
        return sent;
    }

    private readonly record struct Entry(INetDevice? Device, int Offset, int Length, FrameTransmitInfo Info, bool Offloaded);
}
