using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>
/// The kernel SYN filter (<see cref="SynShedFilter"/>) on one TAP, as its driver (<see cref="SynFilterDevice"/> on the
/// loop, or <see cref="ReceiveThreadDevice"/> on its thread) sets it: attached, replaced or detached at the level the
/// <see cref="SynFilterGovernor"/> chose, counted, and back to no filter when the kernel refuses one. One thread sets it;
/// the counters are read from any.
/// </summary>
internal sealed class KernelSynFilter(TunTapDevice tun, SynFilterGovernor governor)
{
    private int _level, _peakLevel;
    private long _updates, _failures;

    /// <summary>The level now: 0 none, else one unproven bare SYN in 2^level is kept.</summary>
    public int Level => Volatile.Read(ref _level);

    /// <summary>The highest level reached.</summary>
    public int PeakLevel => Volatile.Read(ref _peakLevel);

    /// <summary>Times the filter was attached, changed or detached.</summary>
    public long Updates => Interlocked.Read(ref _updates);

    /// <summary>Times the kernel refused the filter (see the device's <see cref="TunTapStatistics.LastErrno"/>).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>
    /// Sets the filter to <paramref name="level"/>, naming <paramref name="proven"/> (recently proven sources) as always
    /// passing; 0 detaches it. A refused filter leaves none, and the governor starts over from level 0.
    /// </summary>
    public void Apply(int level, IEnumerable<IpAddress> proven)
    {
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
    }

    /// <summary>Detaches the filter if it is on (the device stays open).</summary>
    public void Detach()
    {
        if (Level > 0) tun.DetachFilter();
        Volatile.Write(ref _level, 0);
    }
}
