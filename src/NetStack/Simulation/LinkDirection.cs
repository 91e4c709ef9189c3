using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Simulation;

/// <summary>One direction of an <see cref="InMemoryLink"/>: serialization queue, propagation, delivery.</summary>
internal sealed class LinkDirection
{
    private readonly LinkOptions _options;
    private readonly Medium _medium;
    private readonly FrameHeap _inFlight;
    private readonly long[] _finishTimes;   // ring of serialization finish times of queued frames
    private int _head;
    private int _count;
    private Instant _busyUntil;

    public LinkDirection(LinkOptions options, Medium medium)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InFlightLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Mtu, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.BitsPerSecond);
        _options = options;
        _medium = medium;
        _inFlight = new FrameHeap(options.InFlightLimit, FrameHeap.CreatePool(options.InFlightLimit));
        _finishTimes = new long[options.QueueLimit];
    }

    public LinkOptions Options => _options;
    public LinkStatistics Statistics { get; } = new();
    public Instant NextArrival => _inFlight.NextDue;

    public void Send(ReadOnlySpan<byte> frame, Instant now)
    {
        Statistics.Sent++;
        if (FrameLengths.IpPacketLength(_medium, frame) > _options.Mtu) { Statistics.MtuDrops++; return; }
        var finish = now;
        if (_options.BitsPerSecond > 0)
        {
            // Frames whose last bit has left by now no longer occupy the queue.
            while (_count > 0 && _finishTimes[_head] <= now.Microseconds)
            {
                _head = (_head + 1) % _finishTimes.Length;
                _count--;
            }
            if (_count == _finishTimes.Length || _inFlight.IsFull) { Statistics.QueueDrops++; return; }
            var start = Instant.Max(now, _busyUntil);
            long bits = frame.Length * 8L;
            long micros = (bits * 1_000_000 + _options.BitsPerSecond - 1) / _options.BitsPerSecond; // rounded up
            finish = new Instant(start.Microseconds + micros);
            _busyUntil = finish;
            _finishTimes[(_head + _count) % _finishTimes.Length] = finish.Microseconds;
            _count++;
        }
        else if (_inFlight.IsFull) { Statistics.QueueDrops++; return; }
        _inFlight.TryAdd(frame, finish + _options.Latency);
    }

    public bool TryReceive(Span<byte> buffer, Instant now, out int length)
    {
        while (_inFlight.TryTakeDue(now, out var f))
        {
            if (f.Length > buffer.Length)
            {
                Statistics.BufferDrops++;
                _inFlight.Release(f);
                continue;
            }
            f.Span.CopyTo(buffer);
            length = f.Length;
            _inFlight.Release(f);
            Statistics.Delivered++;
            return true;
        }
        length = 0;
        return false;
    }

    public void Clear() => _inFlight.Clear();
}
