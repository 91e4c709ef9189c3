using System.Buffers;
using NetStack.Wire;

namespace NetStack.Link;

/// <summary>One direction of a <see cref="FaultInjector"/>: applies a <see cref="FaultProfile"/> and holds frames until due.</summary>
internal sealed class FaultPipe
{
    private readonly FaultProfile _profile;
    private readonly IRandomSource _random;
    private readonly Medium _medium;
    private readonly FrameHeap _held;
    private byte[]? _slot;          // the frame held back for reordering
    private int _slotLength;
    private FrameReceiveInfo _slotInfo;
    private Instant _slotDeadline = Instant.MaxValue;
    private double _tokens;         // bits
    private Instant _lastRefill;
    private bool _bucketStarted;

    public FaultPipe(FaultProfile profile, IRandomSource random, Medium medium, int holdLimit)
    {
        _profile = profile;
        _random = random;
        _medium = medium;
        _held = new FrameHeap(holdLimit);
    }

    public FaultStatistics Statistics { get; } = new();

    public bool IsFull => _held.IsFull;

    public Instant NextDue => Instant.Min(_held.NextDue, _slotDeadline);

    /// <summary>Puts a frame through the faults; what survives is held until its due time.</summary>
    public void Offer(ReadOnlySpan<byte> frame, Instant now, FrameReceiveInfo info = default)
    {
        var p = _profile;
        var s = Statistics;
        s.Frames++;
        if (p.Mtu > 0 && FrameLengths.IpPacketLength(_medium, frame) > p.Mtu) { s.MtuDropped++; return; }
        if (p.RateBitsPerSecond > 0 && !TakeTokens(frame.Length * 8L, now)) { s.RateLimited++; return; }
        if (p.DropRate > 0 && _random.NextDouble() < p.DropRate) { s.Dropped++; return; }
        bool corrupt = p.CorruptRate > 0 && _random.NextDouble() < p.CorruptRate;
        bool duplicate = p.DuplicateRate > 0 && _random.NextDouble() < p.DuplicateRate;
        bool reorder = p.ReorderRate > 0 && _slot is null && _random.NextDouble() < p.ReorderRate;
        var due = now;
        if (p.IsDelaying)
        {
            long jitter = p.Jitter > TimeSpan.Zero ? (long)(_random.NextDouble() * (p.Jitter.Ticks / 10 + 1)) : 0;
            due = now + p.Delay + TimeSpan.FromTicks(jitter * 10);
            s.Delayed++;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
        frame.CopyTo(buffer);
        if (corrupt)
        {
            s.Corrupted++;
            // The corruption happened "on the wire": no device would vouch for the checksum of these bytes.
            if (info.Virtio is { } v) info = info with { Virtio = v with { Flags = (byte)(v.Flags & ~(Wire.VirtioNetHeader.FlagDataValid | Wire.VirtioNetHeader.FlagNeedsChecksum)) } };
            for (int i = 0; i < p.CorruptBits && frame.Length > 0; i++)
            {
                int bit = _random.Next(frame.Length * 8);
                buffer[bit >> 3] ^= (byte)(1 << (bit & 7));
            }
        }

        byte[]? copy = null;
        if (duplicate)
        {
            s.Duplicated++;
            copy = ArrayPool<byte>.Shared.Rent(Math.Max(frame.Length, 1));
            buffer.AsSpan(0, frame.Length).CopyTo(copy);
        }

        if (reorder)
        {
            // Held back: released right after the next frame, or at the timeout.
            s.Reordered++;
            _slot = buffer;
            _slotLength = frame.Length;
            _slotInfo = info;
            _slotDeadline = due + p.ReorderTimeout;
        }
        else
        {
            Hold(buffer, frame.Length, due, info);
            if (_slot is not null)
            {
                Hold(_slot, _slotLength, due, _slotInfo);
                _slot = null;
                _slotDeadline = Instant.MaxValue;
            }
        }
        if (copy is not null) Hold(copy, frame.Length, due, info);
    }

    /// <summary>Takes the next frame due at <paramref name="now"/>; the caller returns its buffer with <see cref="FrameHeap.Return"/>.</summary>
    public bool TryTake(Instant now, out HeldFrame frame)
    {
        if (_slot is not null && _slotDeadline <= now)
        {
            Hold(_slot, _slotLength, _slotDeadline, _slotInfo);
            _slot = null;
            _slotDeadline = Instant.MaxValue;
        }
        if (!_held.TryTakeDue(now, out frame)) return false;
        Statistics.Delivered++;
        return true;
    }

    public void Clear()
    {
        _held.Clear();
        if (_slot is not null) ArrayPool<byte>.Shared.Return(_slot);
        _slot = null;
        _slotDeadline = Instant.MaxValue;
    }

    private void Hold(byte[] buffer, int length, Instant due, FrameReceiveInfo info)
    {
        if (_held.IsFull)
        {
            Statistics.Overflowed++;
            ArrayPool<byte>.Shared.Return(buffer);
            return;
        }
        _held.AddOwned(buffer, length, due, info);
    }

    private bool TakeTokens(long bits, Instant now)
    {
        double depth = _profile.BurstBytes * 8.0;
        if (!_bucketStarted) { _bucketStarted = true; _tokens = depth; _lastRefill = now; }
        if (now > _lastRefill)
        {
            _tokens = Math.Min(depth, _tokens + (now.Microseconds - _lastRefill.Microseconds) * (_profile.RateBitsPerSecond / 1e6));
            _lastRefill = now;
        }
        if (_tokens < bits) return false;
        _tokens -= bits;
        return true;
    }
}
