using System.Buffers;

namespace NetStack.Link;

/// <summary>
/// A bounded min-heap of frames ordered by due time then sequence, with buffers rented from a pool
/// (<see cref="ArrayPool{T}.Shared"/> unless given one) and returned on release: no allocation per frame in steady state.
/// <para>
/// A heap that holds many frames at once (an in-memory link with a 256 KB window in flight holds hundreds) needs a pool of
/// its own: the shared pool keeps only a few dozen arrays of a size per core, and allocates beyond them.
/// </para>
/// </summary>
internal sealed class FrameHeap
{
    private HeldFrame[] _items;
    private long _sequence;
    private readonly ArrayPool<byte> _pool;

    public FrameHeap(int limit, ArrayPool<byte>? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Limit = limit;
        _items = new HeldFrame[Math.Min(limit, 64)];
        _pool = pool ?? ArrayPool<byte>.Shared;
    }

    /// <summary>
    /// A pool for a heap that holds up to <paramref name="frames"/> frames of up to 128 KB at once (bounded at 1,024 per size:
    /// beyond that the pool allocates, as the shared one would).
    /// </summary>
    public static ArrayPool<byte> CreatePool(int frames) => ArrayPool<byte>.Create(128 * 1024, Math.Clamp(frames, 16, 1024));

    public int Limit { get; }
    public int Count { get; private set; }
    public bool IsFull => Count >= Limit;

    /// <summary>The due time of the earliest frame, or <see cref="Instant.MaxValue"/>.</summary>
    public Instant NextDue => Count == 0 ? Instant.MaxValue : _items[0].Due;

    /// <summary>Copies <paramref name="frame"/> into a pooled buffer and holds it (with <paramref name="info"/>) until <paramref name="due"/>; false when full.</summary>
    public bool TryAdd(ReadOnlySpan<byte> frame, Instant due, in FrameReceiveInfo info = default)
    {
        if (IsFull) return false;
        var buffer = _pool.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        AddOwned(buffer, frame.Length, due, info);
        return true;
    }

    /// <summary>Holds a buffer already rented from this heap's pool (ownership passes to the heap). Caller checked <see cref="IsFull"/>.</summary>
    public void AddOwned(byte[] buffer, int length, Instant due, FrameReceiveInfo info = default)
    {
        if (Count == _items.Length) Array.Resize(ref _items, Math.Min(_items.Length * 2, Limit));
        int i = Count++;
        var item = new HeldFrame { Buffer = buffer, Length = length, Due = due, Sequence = _sequence++, Info = info };
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Less(item, _items[parent])) break;
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = item;
    }

    /// <summary>Takes the earliest frame if it is due at <paramref name="now"/>. The caller returns its buffer with <see cref="Return"/>.</summary>
    public bool TryTakeDue(Instant now, out HeldFrame frame)
    {
        if (Count == 0 || _items[0].Due > now) { frame = default; return false; }
        frame = _items[0];
        var last = _items[--Count];
        _items[Count] = default;
        if (Count > 0)
        {
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= Count) break;
                if (child + 1 < Count && Less(_items[child + 1], _items[child])) child++;
                if (!Less(_items[child], last)) break;
                _items[i] = _items[child];
                i = child;
            }
            _items[i] = last;
        }
        return true;
    }

    /// <summary>Returns the buffer of a frame taken from a heap that uses the shared pool.</summary>
    public static void Return(in HeldFrame frame) => ArrayPool<byte>.Shared.Return(frame.Buffer);

    /// <summary>Returns the buffer of a frame taken from this heap to its pool.</summary>
    public void Release(in HeldFrame frame) => _pool.Return(frame.Buffer);

    /// <summary>Returns every held buffer to the pool.</summary>
    public void Clear()
    {
        for (int i = 0; i < Count; i++) { Release(_items[i]); _items[i] = default; }
        Count = 0;
    }

    private static bool Less(in HeldFrame a, in HeldFrame b) => a.Due < b.Due || (a.Due == b.Due && a.Sequence < b.Sequence);
}
