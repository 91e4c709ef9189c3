using NetStack.Link;

namespace NetStack.Simulation;

/// <summary>
/// A test point on one end of an <see cref="InMemoryLink"/> (or a <see cref="LearningSwitch"/> port): it plays the
/// peer of whatever is attached to the other end. <see cref="Inject"/> sends a raw frame onto the link, and every
/// frame that arrives at this end is captured with its arrival time. Register it with
/// <see cref="Simulator.AddTap"/> so that it is polled when frames reach it, in virtual time like every other node.
/// <para>
/// A test device: it keeps a copy of every captured frame (one allocation per frame), which no production device does.
/// </para>
/// </summary>
public sealed class FrameTap : IPollable
{
    private readonly List<CapturedFrame> _captured = [];
    private readonly byte[] _buffer;

    /// <summary>A tap on <paramref name="endpoint"/> (the end of the link the tap stands at).</summary>
    public FrameTap(LinkEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        Endpoint = endpoint;
        _buffer = new byte[endpoint.MaxFrameSize];
    }

    /// <summary>The link end the tap reads from and writes to.</summary>
    public LinkEndpoint Endpoint { get; }

    /// <summary>Frames captured and not yet taken, in arrival order, stamped with their arrival time.</summary>
    public IReadOnlyList<CapturedFrame> Captured => _captured;

    /// <summary>Frames captured since the tap was created (taken ones included).</summary>
    public long CapturedTotal { get; private set; }

    /// <summary>
    /// Sends <paramref name="frame"/> (a whole frame of the link's medium) onto the link at <paramref name="now"/>;
    /// it reaches the other end after the link's latency, like any transmitted frame (and is subject to its MTU and queue).
    /// </summary>
    public void Inject(ReadOnlySpan<byte> frame, Instant now) => Endpoint.Transmit(frame, now);

    /// <summary>Returns the captured frames' bytes and forgets them.</summary>
    public List<byte[]> Take()
    {
        var frames = new List<byte[]>(_captured.Count);
        foreach (var f in _captured) frames.Add(f.Data);
        _captured.Clear();
        return frames;
    }

    /// <summary>Forgets the captured frames.</summary>
    public void Clear() => _captured.Clear();

    /// <summary>Captures every frame that has arrived by <paramref name="now"/>; the tap has no timers of its own.</summary>
    public Instant Poll(Instant now)
    {
        while (Endpoint.TryReceive(_buffer, now, out int length))
        {
            _captured.Add(new CapturedFrame(now, _buffer.AsSpan(0, length).ToArray()));
            CapturedTotal++;
        }
        return Instant.MaxValue;
    }
}
