using NetStack.Link;

namespace NetStack.Interop.Tests.Support;

/// <summary>A stand-in for the network stack: drains its devices on every Poll and records what arrived.</summary>
internal sealed class RecordingNode(params INetDevice[] devices) : IPollable
{
    private readonly byte[] _buffer = new byte[65536];
    private readonly List<byte[]> _frames = [];
    private readonly Lock _lock = new();

    /// <summary>Thrown from the next Poll when set (then cleared).</summary>
    public Exception? ThrowOnNextPoll { get; set; }

    /// <summary>When set, Poll asks to be polled again this long after now (a periodic timer); otherwise never.</summary>
    public TimeSpan? TimerPeriod { get; set; }

    public int Polls;
    public int PollThreadId;

    public Instant Poll(Instant now)
    {
        Interlocked.Increment(ref Polls);
        PollThreadId = Environment.CurrentManagedThreadId;
        if (ThrowOnNextPoll is { } ex) { ThrowOnNextPoll = null; throw ex; }
        foreach (var d in devices)
        {
            while (d.TryReceive(_buffer, now, out int n))
            {
                lock (_lock) _frames.Add(_buffer[..n]);
            }
        }
        return TimerPeriod is { } period ? now + period : Instant.MaxValue;
    }

    public byte[][] Frames
    {
        get { lock (_lock) return [.. _frames]; }
    }
}
