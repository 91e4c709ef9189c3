using System.Runtime.InteropServices;
using NetStack.Link;
using NetStack.Tap.Native;
using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>Settings of a <see cref="ReceiveThreadDevice"/>.</summary>
public sealed record ReceiveThreadOptions
{
    /// <summary>Frames the ring between the receive thread and the loop holds at most (rounded up to a power of two).</summary>
    public int Slots { get; init; } = 8192;

    /// <summary>Bytes of the ring's arena (frames are read into it in place); at least two of the device's largest frames.</summary>
    public int ArenaBytes { get; init; } = 4 << 20;

    /// <summary>
    /// Frames waiting in the ring above which bare SYNs (<see cref="FramePriority.IsBareSyn"/>) from sources that have not
    /// completed a handshake lately are dropped as they are read, counted in <see cref="ReceiveThreadDevice.SynsShed"/>
    /// (RFC 4987 §3); everything else keeps the rest of the ring. Default: a quarter of <see cref="Slots"/>.
    /// </summary>
    public int? SynAdmitLimit { get; init; }

    /// <summary>Frames read before the loop is signalled (it is signalled at once when the device runs dry).</summary>
    public int Batch { get; init; } = 64;

    /// <summary>Entries of the table of proven sources (<see cref="ProvenSources"/>).</summary>
    public int ProvenSlots { get; init; } = 4096;

    /// <summary>How long a completed handshake vouches for its source here (as the TCP layer's <c>ProvenPeerLifetime</c>).</summary>
    public TimeSpan ProvenLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Under overload, also shed in the kernel (a TAP only): a <see cref="SynShedFilter"/> program attached to the TAP
    /// drops unproven bare SYNs before they are queued for the thread, keeping one in 2^level, the level raised while
    /// the thread cannot drain the TAP and lowered again once it can. On by default.
    /// </summary>
    public bool KernelSynFilter { get; init; } = true;

    /// <summary>The highest kernel filter level (one unproven SYN in 2^level kept; at most <see cref="SynShedFilter.MaxLevel"/>).</summary>
    public int MaxFilterLevel { get; init; } = 10;

    /// <summary>
    /// Unproven bare SYNs per second the thread must be reading, while it cannot keep up, before the kernel filter is
    /// raised a level: a backlog of other traffic (a bulk transfer) is not a flood, and new clients' SYNs are not sampled
    /// for it. Default 10,000.
    /// </summary>
    public int FilterMinSynRate { get; init; } = 10_000;

    /// <summary>How long the thread must have kept up before the kernel filter is relaxed by one level (one more level a second after).</summary>
    public TimeSpan FilterHold { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Name of the receive thread.</summary>
    public string ThreadName { get; init; } = "NetStack receive";
}

/// <summary>
/// A device whose frames are read by a thread of their own: the thread drains the wrapped device (a TAP, whose
/// <c>read()</c> is most of the per-frame cost of a flood: the tun driver's dequeue, the copy, freeing the buffer, the
/// system call) into a bounded <see cref="ReceiveRing"/>, in place, as fast as the kernel hands frames over, and the
/// stack's loop takes them from the ring. While the loop waits for a CPU or works through a burst, the kernel's queue
/// keeps draining, so the kernel does not drop frames blindly at a full queue; when the ring itself fills past
/// <see cref="ReceiveThreadOptions.SynAdmitLimit"/>, the frames dropped are bare SYNs from sources that have not
/// completed a handshake lately (counted), and ACKs, data, established flows and returning clients' SYNs go through
/// (RFC 4987 §3). The loop sleeps on an eventfd that the thread signals once per batch while the loop is not already
/// due to look.
/// <para>
/// Wrap the raw device (below a recorder or fault injector, which are not thread-safe): the thread calls only the inner
/// device's receive; transmits pass straight through from the loop thread, offloads included. The wrapped device must
/// offer a file descriptor to wait on (<see cref="DeviceCapabilities.WaitHandle"/>). <see cref="StackHost"/> reports the
/// ring's backlog and the SYNs shed to the stack (<c>NetworkStack.ReportReceiveBacklog</c>), so its own shedding runs
/// while the thread is behind; <c>IpStack</c> feeds <see cref="NoteProven"/> from the TCP layer's completed handshakes.
/// </para>
/// <para>
/// The cost is one hand-off between threads per wake-up (an eventfd write and read) and one copy of each frame out of
/// the ring: a few microseconds on a quiet request/response path. Dispose stops the thread; the inner device stays open
/// (its owner closes it).
/// </para>
/// </summary>
public sealed class ReceiveThreadDevice : NetDeviceDecorator, IDisposable
{
    private readonly ReceiveRing _ring;
    private readonly ProvenSources _proven;
    private readonly EventFd _ready = new();
    private readonly EventFd _stopFd = new();
    private readonly int _innerFd;
    private readonly int _synAdmitLimit;
    private readonly int _batch;
    private readonly Medium _medium;
    private readonly Thread _thread;
    private volatile bool _stop;
    private int _signalled; // 1 while the ready eventfd holds a signal the loop has not reset
    private long _framesQueued, _synsShed, _ringFullWaits, _peakBacklog;
    private int _disposed;

    // The kernel SYN filter (receive thread only, but for the proven list, which the loop fills under its lock).
    private readonly KernelSynFilter? _filter;
    private readonly SynFilterGovernor _governor;
    private readonly object _recentLock = new();
    private readonly NamedProvenSources _named;
    private bool _namedChanged;
    private long _windowStart, _windowShedMark;
    private bool _windowDry;
    private int _windowUnprovenSyns; // receive thread only: bare SYNs from unproven sources read in this window

    /// <summary>Wraps <paramref name="inner"/> and starts the receive thread.</summary>
    public ReceiveThreadDevice(INetDevice inner, ReceiveThreadOptions? options = null) : base(inner)
    {
        options ??= new ReceiveThreadOptions();
        _innerFd = StackHost.WaitDescriptor(inner);
        if (_innerFd < 0) throw new ArgumentException("The device offers no file descriptor to wait on; a receive thread needs one.", nameof(inner));
        _ring = new ReceiveRing(options.Slots, Math.Max(options.ArenaBytes, 2 * (inner.MaxFrameSize + 8)), inner.MaxFrameSize);
        _proven = new ProvenSources(options.ProvenSlots, options.ProvenLifetime);
        _named = new NamedProvenSources(options.ProvenLifetime);
        _synAdmitLimit = Math.Clamp(options.SynAdmitLimit ?? _ring.SlotCount / 4, 0, _ring.SlotCount);
        _batch = Math.Max(1, options.Batch);
        _medium = inner.Medium;
        _governor = new SynFilterGovernor(options.MaxFilterLevel, options.FilterMinSynRate, options.FilterHold);
        _filter = options.KernelSynFilter && inner is TunTapDevice { Medium: Medium.Ethernet } tun ? new KernelSynFilter(tun, _governor) : null;
        _thread = new Thread(Run) { IsBackground = true, Name = options.ThreadName };
        _thread.Start();
    }

    /// <summary>Frames the thread read and queued for the loop.</summary>
    public long FramesQueued => Interlocked.Read(ref _framesQueued);

    /// <summary>Bare SYNs from unproven sources dropped as they were read because the ring was past its SYN admit limit.</summary>
    public long SynsShed => Interlocked.Read(ref _synsShed);

    /// <summary>Times the thread found the ring full and waited for the loop (the kernel's queue held frames meanwhile).</summary>
    public long RingFullWaits => Interlocked.Read(ref _ringFullWaits);

    /// <summary>The most frames the ring held at once.</summary>
    public long PeakBacklog => Interlocked.Read(ref _peakBacklog);

    /// <summary>Frames waiting in the ring now.</summary>
    public int Backlog => _ring.Count;

    /// <summary>The ring's capacity in frames.</summary>
    public int Capacity => _ring.SlotCount;

    /// <summary>The kernel filter's level now: 0 none, else one unproven bare SYN in 2^level is kept (<see cref="SynShedFilter"/>).</summary>
    public int FilterLevel => _filter?.Level ?? 0;

    /// <summary>The highest level the kernel filter reached.</summary>
    public int PeakFilterLevel => _filter?.PeakLevel ?? 0;

    /// <summary>Times the kernel filter was attached, changed or detached.</summary>
    public long FilterUpdates => _filter?.Updates ?? 0;

    /// <summary>Times the kernel refused the filter (see the device's <see cref="TunTapStatistics.LastErrno"/>).</summary>
    public long FilterFailures => _filter?.Failures ?? 0;

    /// <summary>
    /// Frames the kernel dropped on the TAP while the filter was attached: the rise of the TAP's kernel TX "dropped"
    /// counter over those intervals, read on the receive thread before attaching, every 100 ms while attached and after
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
    /// Records that <paramref name="source"/> completed a handshake: its SYNs are not shed here, and the most recent
    /// <see cref="SynShedFilter.MaxAddressesPerFamily"/> such sources are named in the kernel filter (any thread).
    /// </summary>
    public void NoteProven(IpAddress source, Instant now)
    {
        _proven.Add(source, now);
        if (_filter is null) return;
        lock (_recentLock) _namedChanged |= _named.Note(source, now);
    }

    /// <summary>The inner device's capabilities, with the ring's eventfd as the handle to wait on.</summary>
    public override DeviceCapabilities Capabilities =>
        Inner.Capabilities with { WaitHandle = DeviceWaitHandle.FromFileDescriptor(_ready.FileDescriptor) };

    /// <summary>The oldest frame of the ring (loop thread).</summary>
    public override bool TryReceive(Span<byte> buffer, Instant now, out int length, out FrameReceiveInfo info)
    {
        if (_ring.TryRead(buffer, out length, out info)) return true;
        if (Volatile.Read(ref _signalled) != 0)
        {
            // Re-arm: clear the doorbell, then look once more (a frame committed before the flag was cleared saw it set
            // and did not ring; one committed after rings again). The exchange is a full fence between the two.
            _ready.Reset();
            Interlocked.Exchange(ref _signalled, 0);
            return _ring.TryRead(buffer, out length, out info);
        }
        return false;
    }

    /// <inheritdoc/>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now) => Inner.Transmit(frame, now);

    /// <summary>Passes the frame on with its offloads (the inner device offered them).</summary>
    public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info) => Inner.Transmit(frame, now, info);

    private void Run()
    {
        Span<LibC.PollFd> fds = stackalloc LibC.PollFd[2];
        while (!_stop)
        {
            Instant now = StackHost.Now;
            bool dry = false, full = false;
            int queued = 0;
            for (int i = 0; i < _batch; i++)
            {
                var room = _ring.BeginWrite();
                if (room.IsEmpty) { full = true; break; }
                if (!Inner.TryReceive(room, now, out int length, out var info)) { _ring.Abandon(); dry = true; break; }
                if (FramePriority.IsBareSyn(room[..length], _medium, out var source) && !_proven.Contains(source, now))
                {
                    _windowUnprovenSyns++;
                    if (_ring.Count >= _synAdmitLimit)
                    {
                        _ring.Abandon();
                        Interlocked.Increment(ref _synsShed);
                        continue;
                    }
                }
                _ring.Commit(length, info);
                queued++;
            }
            if (queued > 0)
            {
                Interlocked.Add(ref _framesQueued, queued);
                int backlog = _ring.Count;
                if (backlog > Interlocked.Read(ref _peakBacklog)) Interlocked.Exchange(ref _peakBacklog, backlog);
                if (Interlocked.Exchange(ref _signalled, 1) == 0) _ready.Signal();
            }
            _windowDry |= dry;
            if (_filter is not null && now.Microseconds - _windowStart >= SynFilterGovernor.WindowMicros) EvaluateFilter(now);
            if (full)
            {
                // The loop is a whole ring behind: the kernel's queue holds what arrives meanwhile.
                Interlocked.Increment(ref _ringFullWaits);
                Thread.Sleep(1);
            }
            else if (dry && !WaitForFrames(fds))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Every 100 ms of reading: a window in which the TAP never ran dry, or the ring had to shed SYNs, was overloaded; with
    /// at least <see cref="ReceiveThreadOptions.FilterMinSynRate"/> unproven bare SYNs read, it raises the kernel filter one
    /// level; after <see cref="ReceiveThreadOptions.FilterHold"/> without such a window it
    /// goes down one level a second, and off at level 0.
    /// </summary>
    private void EvaluateFilter(Instant now)
    {
        long t = now.Microseconds;
        long shed = Interlocked.Read(ref _synsShed);
        bool overloaded = !_windowDry || shed != _windowShedMark;
        int unproven = _windowUnprovenSyns;
        _windowStart = t;
        _windowDry = false;
        _windowShedMark = shed;
        _windowUnprovenSyns = 0;
        int level = _governor.EndWindow(t, overloaded, unproven);
        bool proofsChanged;
        lock (_recentLock) { proofsChanged = _namedChanged; _namedChanged = false; }
        _filter!.Sample();
        if (level == _filter.Level && !(level > 0 && proofsChanged)) return;
        IpAddress[] proven = [];
        if (level > 0) lock (_recentLock) proven = _named.ToArray();
        _filter.Apply(level, proven);
    }

    /// <summary>Sleeps until the inner device is readable or the thread is stopped; false when it should end.</summary>
    private bool WaitForFrames(Span<LibC.PollFd> fds)
    {
        fds[0] = new LibC.PollFd { Fd = _innerFd, Events = LibC.POLLIN };
        fds[1] = new LibC.PollFd { Fd = _stopFd.FileDescriptor, Events = LibC.POLLIN };
        // While the kernel filter is on, wake at least twice a second so that it is relaxed once the flood has passed.
        int r = LibC.Poll(fds, FilterLevel > 0 ? TimeSpan.FromMilliseconds(500) : null);
        if (_stop) return false;
        if (r < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EINTR) Thread.Sleep(1);
            return true;
        }
        if (r == 0)
        {
            _windowDry = true; // a timeout: nothing arrived at all
            return true;
        }
        // A device that went away (closed, interface deleted) would make poll() return at once forever.
        return (fds[0].Revents & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) == 0;
    }

    /// <summary>Stops the receive thread (waiting for it) and releases its eventfds; the inner device stays open.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop = true;
        _stopFd.Signal();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _filter?.Detach();
        _stopFd.Dispose();
        _ready.Dispose();
    }
}
