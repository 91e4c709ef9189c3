using System.Buffers;
using System.Numerics;

namespace NetStack.Storage;

/// <summary>
/// A byte ring (FIFO) of bounded capacity for TCP send and receive buffers. Memory is taken on demand: an empty ring
/// holds no storage; the first byte written rents a small array from <see cref="ArrayPool{T}.Shared"/>, which doubles (up
/// to <see cref="Capacity"/>) as the data needs, and <see cref="Release"/> returns it once the ring is empty, so an idle
/// connection costs no buffer memory (as Linux and gVisor allocate socket buffers per segment and on demand).
/// Besides enqueue/dequeue it can read at an offset from the head without consuming (the send side retransmits from
/// there) and write past the tail without committing (the receive side stores out-of-order data there until the gap
/// fills).
/// </summary>
internal sealed class RingBuffer
{
    /// <summary>The smallest storage rented (or the capacity, if smaller).</summary>
    public const int MinimumAllocation = 4096;
    private byte[] _storage = [];
    private int _size;   // the ring's modulus: at most the storage length and Capacity; 0 without storage
    private int _head;
    private int _lastSize;

    public RingBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
    }

    /// <summary>
    /// The bound: the most bytes the ring holds (committed plus written past the tail). It can be raised
    /// (<see cref="Grow"/>, receive-buffer auto-tuning), never lowered.
    /// </summary>
    public int Capacity { get; private set; }

    /// <summary>
    /// Raises <see cref="Capacity"/> to <paramref name="capacity"/> (no change when it is not larger). No memory is taken
    /// here: storage still grows only as data needs it, so a raised bound costs nothing until it is used.
    /// </summary>
    public void Grow(int capacity)
    {
        if (capacity > Capacity) Capacity = capacity;
    }
    /// <summary>Bytes of storage held now (0 when released).</summary>
    public int AllocatedBytes => _storage.Length;
    /// <summary>Committed bytes between head and tail.</summary>
    public int Length { get; private set; }
    public int Free => Capacity - Length;
    public bool IsEmpty => Length == 0;
    public bool IsFull => Length == Capacity;

    /// <summary>Appends as much of <paramref name="data"/> as fits; returns the count appended.</summary>
    public int Enqueue(ReadOnlySpan<byte> data)
    {
        int n = WriteUnallocated(0, data);
        Length += n;
        return n;
    }

    /// <summary>Removes up to <paramref name="destination"/>.Length bytes from the head into it.</summary>
    public int Dequeue(Span<byte> destination)
    {
        int n = Peek(0, destination);
        Discard(n);
        return n;
    }

    /// <summary>Copies bytes starting <paramref name="offset"/> after the head without consuming them.</summary>
    public int Peek(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset >= Length) return 0;
        int n = Math.Min(destination.Length, Length - offset);
        CopyOut((_head + offset) % _size, destination[..n]);
        return n;
    }

    /// <summary>Drops up to <paramref name="count"/> bytes from the head; returns the count dropped.</summary>
    public int Discard(int count)
    {
        int n = Math.Clamp(count, 0, Length);
        if (n == 0) return 0;
        _head = (_head + n) % _size;
        Length -= n;
        return n;
    }

    /// <summary>
    /// Writes <paramref name="data"/> <paramref name="offset"/> bytes past the tail without committing it
    /// (clipped to the free space); returns the count written.
    /// </summary>
    public int WriteUnallocated(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset >= Free) return 0;
        int n = Math.Min(data.Length, Free - offset);
        if (n == 0) return 0;
        Reserve(Length + offset + n);
        int start = (_head + Length + offset) % _size;
        int first = Math.Min(n, _size - start);
        data[..first].CopyTo(_storage.AsSpan(start));
        data[first..n].CopyTo(_storage);
        return n;
    }

    /// <summary>Commits <paramref name="count"/> bytes already written past the tail.</summary>
    public int CommitUnallocated(int count)
    {
        int n = Math.Clamp(count, 0, Math.Min(Free, _size - Length));
        Length += n;
        return n;
    }

    public void Clear()
    {
        _head = 0;
        Length = 0;
    }

    /// <summary>
    /// Returns the storage to the pool if the ring is empty (the caller knows nothing waits past the tail: data written
    /// with <see cref="WriteUnallocated"/> and not committed is lost). Returns whether storage was released.
    /// </summary>
    public bool Release()
    {
        if (Length != 0 || _size == 0) return false;
        _lastSize = _size;
        ArrayPool<byte>.Shared.Return(_storage);
        _storage = [];
        _size = 0;
        _head = 0;
        return true;
    }

    /// <summary>Makes the ring at least <paramref name="needed"/> bytes long (at most <see cref="Capacity"/>), keeping its content.</summary>
    private void Reserve(int needed)
    {
        if (needed <= _size) return;
        // Grow by doubling (amortized O(1) per byte); start from what the last allocation grew to, so that a connection
        // that releases between bursts does not grow through every size again.
        int target = Math.Max(Math.Max(needed, MinimumAllocation), Math.Max(_size * 2, _lastSize));
        target = (int)Math.Min(Capacity, BitOperations.RoundUpToPowerOf2((uint)target));
        var next = ArrayPool<byte>.Shared.Rent(target);
        if (_size > 0)
        {
            // Linearize the whole old ring from the head: committed bytes and any written past the tail keep their offsets.
            _storage.AsSpan(_head, _size - _head).CopyTo(next);
            _storage.AsSpan(0, _head).CopyTo(next.AsSpan(_size - _head));
            ArrayPool<byte>.Shared.Return(_storage);
        }
        _storage = next;
        _size = Math.Min(next.Length, Capacity);
        _head = 0;
    }

    private void CopyOut(int start, Span<byte> destination)
    {
        int first = Math.Min(destination.Length, _size - start);
        _storage.AsSpan(start, first).CopyTo(destination);
        _storage.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }
}
