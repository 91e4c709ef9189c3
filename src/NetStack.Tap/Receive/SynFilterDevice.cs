using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>Settings of a <see cref="SynFilterDevice"/>.</summary>
public sealed record SynFilterOptions
{
    /// <summary>The highest kernel filter level (one unproven SYN in 2^level kept; at most <see cref="SynShedFilter.MaxLevel"/>).</summary>
    public int MaxFilterLevel { get; init; } = 10;

    /// <summary>
    /// Unproven bare SYNs per second the loop must be reading, while it cannot keep up, before the kernel filter is raised
    /// a level (a backlog of other traffic is not a flood). Default 10,000.
    /// </summary>
    public int FilterMinSynRate { get; init; } = 10_000;

    /// <summary>How long the loop must have kept up before the kernel filter is relaxed by one level (one more level a second after).</summary>
    public TimeSpan FilterHold { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Frames the loop reads one after another without finding the TAP empty above which it was behind: on a loaded
    /// machine the loop drains the TAP quickly while it runs, but the queue fills while it waits for a CPU, and the kernel
    /// then drops frames blindly. Default 1,024 (a quarter of netstackd's default TAP queue).
    /// </summary>
    public int BacklogLimit { get; init; } = 1024;

    /// <summary>Entries of the table of proven sources (<see cref="ProvenSources"/>).</summary>
    public int ProvenSlots { get; init; } = 4096;

    /// <summary>How long a completed handshake vouches for its source here (as the TCP layer's <c>ProvenPeerLifetime</c>).</summary>
    public TimeSpan ProvenLifetime { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The kernel SYN filter (<see cref="SynShedFilter"/>) without a receive thread: the stack's loop reads the TAP itself
/// (no hand-off between threads on the quiet path), and this decorator watches what it reads in windows of 100 ms
/// (<see cref="SynFilterGovernor"/>). A window in which the loop never found the TAP empty, or read more than
/// <see cref="SynFilterOptions.BacklogLimit"/> frames in a row (it came back from waiting for a CPU to a full queue), with at least
/// <see cref="SynFilterOptions.FilterMinSynRate"/> bare SYNs from unproven sources read, raises the filter a level: the
/// kernel then drops unproven bare SYNs in the sender's context, before they are queued, so the queue holds ACKs, data and
/// returning clients' SYNs (RFC 4987 §3); 3 s of keeping up lower it a level a second, and 0 detaches it.
/// <para>
/// Wrap the raw TAP (below a recorder or fault injector). Loop thread only: <see cref="StackHost"/> wakes the loop at
/// least every <see cref="RelaxInterval"/> while the filter is on, so that it is relaxed after a flood even when nothing
/// else arrives; <c>IpStack</c> feeds <see cref="NoteProven"/> from the TCP layer's completed handshakes. Devices other
/// than an Ethernet TAP pass through unchanged. Dispose detaches the filter; the inner device stays open.
/// </para>
/// </summary>
public sealed class SynFilterDevice : NetDeviceDecorator, IDisposable
{
    /// <summary>How often the loop looks at the filter while it is on, whatever else happens.</summary>
    public static readonly TimeSpan RelaxInterval = TimeSpan.FromMilliseconds(500);

    private readonly KernelSynFilter? _filter;
    private readonly Medium _medium;
    private readonly ProvenSources _proven;
    private readonly SynFilterGovernor _governor;
    private readonly NamedProvenSources _named;
    private bool _namedChanged;
    private long _windowStart;
    private bool _windowOpen;
    private bool _windowDry;
    private int _windowUnprovenSyns;
    private int _run, _windowMaxRun;
    private readonly int _backlogLimit;
    private long _overloadedWindows;
    private bool _disposed;

    /// <summary>Wraps <paramref name="inner"/> (an Ethernet <see cref="TunTapDevice"/> for the filter to act).</summary>
    public SynFilterDevice(INetDevice inner, SynFilterOptions? options = null) : base(inner)
    {
        options ??= new SynFilterOptions();
        _medium = inner.Medium;
        _backlogLimit = Math.Max(1, options.BacklogLimit);
        _proven = new ProvenSources(options.ProvenSlots, options.ProvenLifetime);
        _named = new NamedProvenSources(options.ProvenLifetime);
        _governor = new SynFilterGovernor(options.MaxFilterLevel, options.FilterMinSynRate, options.FilterHold);
        _filter = inner is TunTapDevice { Medium: Medium.Ethernet } tun ? new KernelSynFilter(tun, _governor) : null;
    }

    /// <summary>The kernel filter's level now: 0 none, else one unproven bare SYN in 2^level is kept.</summary>
    public int FilterLevel => _filter?.Level ?? 0;

    /// <summary>The highest level the kernel filter reached.</summary>
    public int PeakFilterLevel => _filter?.PeakLevel ?? 0;

    /// <summary>Times the kernel filter was attached, changed or detached.</summary>
    public long FilterUpdates => _filter?.Updates ?? 0;

    /// <summary>Times the kernel refused the filter (see the device's <see cref="TunTapStatistics.LastErrno"/>).</summary>
    public long FilterFailures => _filter?.Failures ?? 0;

    /// <summary>
    /// Frames the kernel dropped on the TAP while the filter was attached: the rise of the TAP's kernel TX "dropped"
    /// counter over those intervals, read on the loop thread before attaching, every 100 ms while attached and after
    /// detaching (<see cref="FilterDropCounter"/>): the unproven SYNs the filter shed, and any frame that found the queue
    /// full meanwhile. 0 when the counter cannot be read.
    /// </summary>
    public long FilterDrops => _filter?.Drops ?? 0;

    /// <summary>
    /// Proven sources the filter could not name: pushed out of its <see cref="SynShedFilter.MaxAddressesPerFamily"/>
    /// (64) per family by more recently proven ones while still proven (<see cref="NamedProvenSources.Unnamed"/>).
    /// </summary>
    public long ProvenSourcesUnnamed => _named.Unnamed;

    /// <summary>
    /// What the loop's stack should hear as a receive backlog (<c>NetworkStack.ReportReceiveBacklog</c>, via <see cref="StackHost"/>):
    /// while the kernel filter is up, the loop fell behind a flood of unproven SYNs and the kernel is shedding them, so the
    /// stack sheds too (RFC 4987 §3), as it does while a receive thread sheds: the frames read in a row without finding the
    /// TAP empty (at least 1). 0 while the filter is down: a loop that takes a full batch notices that itself.
    /// </summary>
    public int Backlog => FilterLevel > 0 ? Math.Max(1, _run) : 0;

    /// <summary>Windows of 100 ms in which the loop never found the TAP empty or read more than the backlog limit in a row.</summary>
    public long OverloadedWindows => Interlocked.Read(ref _overloadedWindows);

    /// <summary>
    /// Records that <paramref name="source"/> completed a handshake: the most recent <see cref="SynShedFilter.MaxAddressesPerFamily"/>
    /// such sources of each family are named in the kernel filter, and their SYNs do not count towards a flood (loop thread).
    /// </summary>
    public void NoteProven(IpAddress source, Instant now)
    {
        if (_filter is null) return;
        _proven.Add(source, now);
        _namedChanged |= _named.Note(source, now);
    }

    /// <summary>The next frame of the TAP, read on the loop thread; every 100 ms, the filter level is re-evaluated first.</summary>
    public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        if (_filter is null || _disposed) return Inner.TryReceive(buffer, now, out length, out info);
        if (!_windowOpen) { _windowOpen = true; _windowStart = now.Microseconds; }
        else if (now.Microseconds - _windowStart >= SynFilterGovernor.WindowMicros) EndWindow(now);
        if (!Inner.TryReceive(buffer, now, out length, out info))
        {
            _windowDry = true;
            _run = 0;
            return false;
        }
        if (++_run > _windowMaxRun) _windowMaxRun = _run;
        if (!info.Truncated && FramePriority.IsBareSyn(buffer[..length], _medium, out var source) && !_proven.Contains(source, now))
            _windowUnprovenSyns++;
        return true;
    }

    /// <inheritdoc/>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now) => Inner.Transmit(frame, now);

    /// <summary>Passes the frame on with its offloads (the inner device offered them).</summary>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info) => Inner.Transmit(frame, now, info);

    private void EndWindow(Instant now)
    {
        long t = now.Microseconds;
        // A window the loop did not find the TAP empty in, or found a long queue in: it was behind.
        bool overloaded = !_windowDry || _windowMaxRun >= _backlogLimit;
        int unproven = _windowUnprovenSyns;
        _windowStart = t;
        _windowDry = false;
        _windowMaxRun = 0;
        _windowUnprovenSyns = 0;
        if (overloaded) Interlocked.Increment(ref _overloadedWindows);
        int level = _governor.EndWindow(t, overloaded, unproven);
        bool proofsChanged = _namedChanged;
        _namedChanged = false;
        _filter!.Sample();
        if (level == _filter.Level && !(level > 0 && proofsChanged)) return;
        _filter.Apply(level, _named.ToArray());
    }

    /// <summary>Detaches the kernel filter if it is on; the inner device stays open.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _filter?.Detach();
    }
}
