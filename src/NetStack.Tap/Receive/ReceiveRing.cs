using NetStack.Link;

namespace NetStack.Tap.Receive;

/// <summary>
/// A bounded single-producer single-consumer queue of received frames: one byte arena that frames are read into in
/// place (no copy between the device's <c>read()</c> and the queue) and a ring of slot descriptors (offset, length,
/// <see cref="FrameReceiveInfo"/>). One thread writes (<see cref="BeginWrite"/> then <see cref="Commit"/>), one reads
/// (<see cref="TryRead"/>); both may ask <see cref="Count"/>. Memory is fixed at construction: at most
/// <see cref="SlotCount"/> frames and <see cref="ArenaBytes"/> bytes, whatever arrives.
/// </summary>
public sealed class ReceiveRing
{
    private readonly byte[] _arena;
    private readonly int[] _offsets;
    private readonly int[] _lengths;
    private readonly FrameReceiveInfo[] _infos;
    private readonly int _mask;
    private readonly int _maxFrame;
    private readonly int _room; // _maxFrame rounded up to the 8-byte alignment of frames in the arena
    private long _head; // next slot to read: written by the consumer only
    private long _tail; // next slot to write: written by the producer only
    private int _write; // producer only: where the next frame goes in the arena
    private int _pending = -1; // producer only: the offset handed out by BeginWrite, -1 when none

    /// <summary>
    /// A ring of <paramref name="slots"/> (rounded up to a power of two) frames in an arena of
    /// <paramref name="arenaBytes"/> bytes, each frame at most <paramref name="maxFrame"/> bytes.
    /// </summary>
    public ReceiveRing(int slots, int arenaBytes, int maxFrame)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrame, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(arenaBytes, 2 * ((maxFrame + 7) & ~7));
        int n = 2;
        while (n < slots) n <<= 1;
        _offsets = new int[n];
        _lengths = new int[n];
        _infos = new FrameReceiveInfo[n];
        _mask = n - 1;
        _arena = new byte[arenaBytes];
        _maxFrame = maxFrame;
        _room = (maxFrame + 7) & ~7;
    }

    /// <summary>Frames the ring holds at most.</summary>
    public int SlotCount => _mask + 1;

    /// <summary>The arena's size in bytes.</summary>
    public int ArenaBytes => _arena.Length;

    /// <summary>The largest frame a slot takes (the span <see cref="BeginWrite"/> hands out).</summary>
    public int MaxFrameSize => _maxFrame;

    /// <summary>Frames written and not yet read (exact on either thread at the moment it reads the two indices).</summary>
    public int Count => (int)(Volatile.Read(ref _tail) - Volatile.Read(ref _head));

    /// <summary>
    /// Producer: room for one frame of up to <see cref="MaxFrameSize"/> bytes, contiguous in the arena, or an empty span
    /// when the ring is full (every slot taken, or no such room before the oldest unread frame).
    /// </summary>
    public Span<byte> BeginWrite()
    {
        long tail = _tail;
        long head = Volatile.Read(ref _head);
        if (tail - head > _mask) return default;
        int at;
        if (tail == head)
        {
            at = 0; // empty: the consumer holds no offset into the arena, start over at the front
        }
        else
        {
            int oldest = _offsets[(int)(head & _mask)];
            if (_write > oldest)
            {
                // Used: [oldest, _write). Free: the end of the arena, else its front up to the oldest frame.
                if (_arena.Length - _write >= _room) at = _write;
                else if (oldest >= _room) at = 0;
                else return default;
            }
            else if (_write < oldest && oldest - _write >= _room)
            {
                at = _write; // wrapped: used is [oldest, end) and [0, _write)
            }
            else
            {
                return default;
            }
        }
        _pending = at;
        return _arena.AsSpan(at, _maxFrame);
    }

    /// <summary>Producer: publishes the frame of <paramref name="length"/> bytes written into the last <see cref="BeginWrite"/> span.</summary>
    public void Commit(int length, in FrameReceiveInfo info)
    {
        if (_pending < 0) throw new InvalidOperationException("Commit without BeginWrite.");
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _maxFrame);
        int slot = (int)(_tail & _mask);
        _offsets[slot] = _pending;
        _lengths[slot] = length;
        _infos[slot] = info;
        _write = _pending + ((length + 7) & ~7); // 8-byte aligned; may equal the arena's length (then only the front is free)
        _pending = -1;
        Volatile.Write(ref _tail, _tail + 1); // publishes the slot and the bytes
    }

    /// <summary>Producer: forgets the last <see cref="BeginWrite"/> (the frame read there was dropped).</summary>
    public void Abandon() => _pending = -1;

    /// <summary>Consumer: copies the oldest frame into <paramref name="destination"/> and frees its room; false when empty.</summary>
    public bool TryRead(Span<byte> destination, out int length, out FrameReceiveInfo info)
    {
        long head = _head;
        if (Volatile.Read(ref _tail) == head)
        {
            length = 0;
            info = default;
            return false;
        }
        int slot = (int)(head & _mask);
        int n = _lengths[slot];
        info = _infos[slot];
        if (n > destination.Length)
        {
            // The stack's buffer is at least the device's MaxFrameSize; a shorter one gets the front, marked truncated.
            info = info with { Truncated = true };
            n = destination.Length;
        }
        _arena.AsSpan(_offsets[slot], n).CopyTo(destination);
        length = n;
        Volatile.Write(ref _head, head + 1); // the slot and its bytes are the producer's again
        return true;
    }
}
