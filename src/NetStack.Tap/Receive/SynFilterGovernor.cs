namespace NetStack.Tap.Receive;

/// <summary>
/// The levels of the kernel SYN filter (<see cref="SynShedFilter"/>) from what the reader of a TAP saw in each window of
/// reading (<see cref="WindowMicros"/>): a window in which the reader never found the TAP empty (or had to shed) was
/// overloaded; overloaded with at least the given number of unproven bare SYNs read, the level goes up one; overloaded
/// while filtering but with few SYNs getting through, it holds (the backlog is other traffic, the flood may still be
/// on); after <c>hold</c> without an overloaded window it goes down one level a second, to 0 (the filter detached).
/// Deterministic (time comes in); used by <see cref="ReceiveThreadDevice"/> (its thread) and <see cref="SynFilterDevice"/>
/// (the loop), one thread each.
/// </summary>
public sealed class SynFilterGovernor
{
    /// <summary>The length of a window of reading, in microseconds (100 ms).</summary>
    public const long WindowMicros = 100_000;

    private readonly int _maxLevel;
    private readonly int _minSynsPerWindow;
    private readonly long _holdMicros;
    private long _lastOverload, _lastStep;

    /// <summary>A governor raising the level up to <paramref name="maxLevel"/> (1 to <see cref="SynShedFilter.MaxLevel"/>).</summary>
    /// <param name="maxLevel">The highest level.</param>
    /// <param name="minSynRate">Unproven bare SYNs per second the reader must be reading, while behind, before the level is raised.</param>
    /// <param name="hold">How long the reader must have kept up before the level is lowered by one.</param>
    public SynFilterGovernor(int maxLevel, int minSynRate, TimeSpan hold)
    {
        _maxLevel = Math.Clamp(maxLevel, 1, SynShedFilter.MaxLevel);
        _minSynsPerWindow = (int)Math.Clamp(minSynRate / (1_000_000 / WindowMicros), 1, int.MaxValue);
        _holdMicros = Math.Max(0, hold.Ticks / 10);
    }

    /// <summary>The level now: 0 no filter, else one unproven bare SYN in 2^level is kept.</summary>
    public int Level { get; private set; }

    /// <summary>
    /// Ends a window at <paramref name="nowMicros"/>: <paramref name="overloaded"/> when the reader never ran dry in it (or
    /// shed frames), <paramref name="unprovenSyns"/> the bare SYNs from unproven sources read in it. Returns the new level.
    /// </summary>
    public int EndWindow(long nowMicros, bool overloaded, int unprovenSyns)
    {
        // Not scaled to the window's real length: a reader kept off the CPU for longer reads no more than the TAP's
        // queue held meanwhile (the kernel dropped the rest), and that is when the filter is needed most.
        bool synFlood = unprovenSyns >= _minSynsPerWindow;
        int level = Level;
        if (overloaded && (synFlood || level > 0))
        {
            _lastOverload = nowMicros;
            if (synFlood && level < _maxLevel) level++;
        }
        else if (level > 0 && nowMicros - _lastOverload >= _holdMicros && nowMicros - _lastStep >= 1_000_000)
        {
            level--;
        }
        if (level != Level)
        {
            _lastStep = nowMicros;
            Level = level;
        }
        return level;
    }

    /// <summary>The kernel refused the filter: back to level 0 (raised again by the next overloaded windows).</summary>
    public void Failed() => Level = 0;
}
