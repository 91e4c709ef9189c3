namespace NetStack.Storage;

/// <summary>
/// A fixed-capacity byte ring (FIFO) for TCP send and receive buffers. Allocates once, at construction.
/// Besides enqueue/dequeue it can read at an offset from the head without consuming (the send side
/// retransmits from there) and write past the tail without committing (the receive side stores
/// out-of-order data there until the gap fills).
/// </summary>
public sealed class RingBuffer
{
    private readonly byte[] _storage;
    private int _head;

    public RingBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _storage = new byte[capacity];
    }

    public int Capacity => _storage.Length;
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
        CopyOut((_head + offset) % Capacity, destination[..n]);
        return n;
    }

    /// <summary>Drops up to <paramref name="count"/> bytes from the head; returns the count dropped.</summary>
    public int Discard(int count)
    {
        int n = Math.Clamp(count, 0, Length);
        _head = (_head + n) % Capacity;
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
        int start = (_head + Length + offset) % Capacity;
        int first = Math.Min(n, Capacity - start);
        data[..first].CopyTo(_storage.AsSpan(start));
        data[first..n].CopyTo(_storage);
        return n;
    }

    /// <summary>Commits <paramref name="count"/> bytes already written past the tail.</summary>
    public int CommitUnallocated(int count)
    {
        int n = Math.Clamp(count, 0, Free);
        Length += n;
        return n;
    }

    public void Clear()
    {
        _head = 0;
        Length = 0;
    }

    private void CopyOut(int start, Span<byte> destination)
    {
        int first = Math.Min(destination.Length, Capacity - start);
        _storage.AsSpan(start, first).CopyTo(destination);
        _storage.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
    }
}
