using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>
/// The kernel SYN filter (<see cref="SynShedFilter"/>) on one TAP, as its driver (<see cref="SynFilterDevice"/> on the
/// loop, or <see cref="ReceiveThreadDevice"/> on its thread) sets it: attached, replaced or detached at the level the
/// <see cref="SynFilterGovernor"/> chose, counted, and back to no filter when the kernel refuses one. What it drops is
/// counted from the TAP's kernel TX "dropped" counter while it is attached (<see cref="FilterDropCounter"/>, read by the
/// driver's thread at each change and every window). One thread sets it; the counters are read from any.
/// </summary>
internal sealed class KernelSynFilter(TunTapDevice tun, SynFilterGovernor governor)
{
    private int _level, _peakLevel;
    private long _updates, _failures;
    private readonly FilterDropCounter _drops = new();
    private LinkDropCounter? _link;
    private bool _linkTried;

    /// <summary>The level now: 0 none, else one unproven bare SYN in 2^level is kept.</summary>
    public int Level => Volatile.Read(ref _level);

    /// <summary>The highest level reached.</summary>
    public int PeakLevel => Volatile.Read(ref _peakLevel);

    /// <summary>Times the filter was attached, changed or detached.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>Times the kernel refused the filter (see the device's <see cref="TunTapStatistics.LastErrno"/>).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// Frames the kernel dropped on the TAP while the filter was attached (its TX "dropped" counter's rise then: the
    /// filter's verdicts, and any frame that found the queue full meanwhile); 0 when the counter cannot be read.
    /// </summary>
    public long Drops => _drops.Total;

    /// <summary>
    /// Sets the filter to <paramref name="level"/>, naming <paramref name="proven"/> (recently proven sources) as always
    /// passing; 0 detaches it. A refused filter leaves none, and the governor starts over from level 0.
    /// </summary>
    public void Apply(int level, IEnumerable<IpAddress> proven)
    {
        if (level > 0 && !_drops.Attached) _drops.Attach(ReadDropped()); // before: every drop after it counts
        bool ok = level == 0 ? tun.DetachFilter() : tun.AttachFilter(SynShedFilter.Build(level, proven));
        Interlocked.Increment(ref _updates);
        if (!ok && level > 0)
        {
            Interlocked.Increment(ref _failures);
            governor.Failed();
            level = 0;
        }
        Volatile.Write(ref _level, level);
        if (level > _peakLevel) Volatile.Write(ref _peakLevel, level);
        if (level == 0 && _drops.Attached) _drops.Detach(ReadDropped()); // after: every drop before it counted
    }

    /// <summary>While the filter is attached, brings <see cref="Drops"/> up to date (the driver calls it every window).</summary>
    public void Sample()
    {
        if (_drops.Attached) _drops.Sample(ReadDropped());
    }

    /// <summary>Detaches the filter if it is on (the device stays open) and closes the counter.</summary>
    public void Detach()
    {
        if (Level > 0) tun.DetachFilter();
        Volatile.Write(ref _level, 0);
        if (_drops.Attached) _drops.Detach(ReadDropped());
        _link?.Dispose();
        _link = null;
    }

    private long? ReadDropped()
    {
        if (!_linkTried)
        {
            _linkTried = true;
            _link = LinkDropCounter.Open(tun);
        }
        return _link?.Read();
    }
}
