using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetStack.Link;
using NetStack.Tap.Native;

namespace NetStack.Tap;

/// <summary>
/// The runtime of a sans-IO stack: drives one <see cref="IPollable"/> (a network stack) over its
/// devices on ONE dedicated thread, the only thread that ever touches protocol state.
/// <code>
/// loop { now = monotonic clock; run queued work; deadline = node.Poll(now); run completions deferred during Poll;
///        poll() on every device descriptor + a wake-up eventfd until the deadline, a frame or a wake-up }
/// </code>
/// One request/response costs one wake-up: <see cref="Wake"/> from the loop thread itself is a flag (the loop polls again
/// before it sleeps), never a write to the eventfd, and the eventfd is written at most once until the loop has drained it.
/// Other threads talk to the stack through <see cref="Post"/> / <see cref="InvokeAsync{T}(Func{T}, CancellationToken)"/>
/// (whose tasks complete off the loop thread) and <see cref="Wake"/>. Exceptions from user work or from
/// <c>Poll</c> are logged and counted; they never end the loop.
/// The loop sleeps on each device's wait handle (<see cref="INetDevice.Capabilities"/>, which decorators such as
/// <see cref="PcapRecorder"/> and <see cref="FaultInjector"/> pass through from the device they wrap; or a legacy
/// <see cref="IWaitableDevice"/>). Devices without one are polled every <see cref="StackHostOptions.FallbackPollInterval"/>.
/// </summary>
public sealed partial class StackHost : IAsyncDisposable, IDisposable
{
    private readonly IPollable _node;
    private readonly INetDevice[] _devices;
    private readonly ILogger _logger;
    private readonly StackHostOptions _options;
    private readonly EventFd _wake = new();
    private readonly ConcurrentQueue<WorkItem> _work = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;
    private int _wakePending;
    private bool _pollAgain; // loop thread only: Wake() was called on the loop; poll the node once more before sleeping
    private readonly Queue<WorkItem> _afterPoll = new(); // loop thread only: see RunAfterPoll
    private volatile bool _stopRequested;
    private int _state; // 0 new, 1 started, 2 stopping/stopped
    private long _pollExceptions, _workExceptions, _turns;

    /// <summary>Creates the host of <paramref name="node"/> over <paramref name="devices"/>; nothing runs until <see cref="Start"/>.</summary>
    public StackHost(IPollable node, IEnumerable<INetDevice> devices, ILogger? logger = null, StackHostOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(devices);
        _node = node;
        _devices = devices.ToArray();
        _logger = logger ?? NullLogger.Instance;
        _options = options ?? new StackHostOptions();
        _deviceDescriptors = _devices.Select(WaitDescriptor).ToArray();
        _receiveThreads = _devices.Select(d => d.Find<Receive.ReceiveThreadDevice>()).OfType<Receive.ReceiveThreadDevice>().ToArray();
        _stack = node as Composition.NetworkStack;
        _synFilters = _devices.Select(d => d.Find<Receive.SynFilterDevice>()).OfType<Receive.SynFilterDevice>().ToArray();
    }

    private readonly Receive.SynFilterDevice[] _synFilters;

    /// <summary>True while a loop-driven kernel SYN filter is on: the loop then wakes at least every <see cref="Receive.SynFilterDevice.RelaxInterval"/> to relax it.</summary>
    private bool AnySynFilterOn()
    {
        foreach (var f in _synFilters) if (f.FilterLevel > 0) return true;
        return false;
    }

    private readonly Receive.ReceiveThreadDevice[] _receiveThreads;
    private readonly Composition.NetworkStack? _stack;

    /// <summary>
    /// Frames the kernel SYN filters of this host's TAPs dropped before the stack could see them (the sum of each
    /// <see cref="Receive.SynFilterDevice.FilterDrops"/> and <see cref="Receive.ReceiveThreadDevice.FilterDrops"/>): not in
    /// the stack's <c>StackStatistics</c>, which counts what reached it. Any thread.
    /// </summary>
    public long KernelSynFilterDrops
    {
        get
        {
            long n = 0;
            foreach (var f in _synFilters) n += f.FilterDrops;
            foreach (var r in _receiveThreads) n += r.FilterDrops;
            return n;
        }
    }
    private long _synsShedSeen; // loop thread only

    /// <summary>
    /// Before each <c>Poll</c>: what only the runtime sees goes to the stack (<see cref="Composition.NetworkStack.ReportReceiveBacklog"/>),
    /// so that it sheds SYNs (RFC 4987 §3) while a receive thread holds more frames than one poll takes, or had to shed
    /// SYNs itself since the last poll, or while a loop-driven kernel SYN filter is up (<see cref="Receive.SynFilterDevice.Backlog"/>).
    /// </summary>
    private void ReportReceiveBacklog()
    {
        if (_stack is null || (_receiveThreads.Length == 0 && _synFilters.Length == 0)) return;
        int filtered = 0;
        foreach (var f in _synFilters) filtered += f.Backlog;
        if (filtered > 0) _stack.ReportReceiveBacklog(filtered);
        if (_receiveThreads.Length == 0) return;
        int backlog = 0;
        long shed = 0;
        foreach (var r in _receiveThreads)
        {
            backlog += r.Backlog;
            shed += r.SynsShed;
        }
        long newlyShed = shed - _synsShedSeen;
        _synsShedSeen = shed;
        if (newlyShed > 0 || backlog >= _stack.Options.MaxFramesPerPoll)
            _stack.ReportReceiveBacklog((int)Math.Min(int.MaxValue, backlog + newlyShed));
    }

    private readonly int[] _deviceDescriptors;

    /// <summary>
    /// The file descriptor the loop sleeps on for <paramref name="device"/>: its wait handle, found through any chain of
    /// decorators (<see cref="DeviceCapabilities.WaitHandle"/>), or a legacy <see cref="IWaitableDevice"/>'s; -1 when none.
    /// </summary>
    public static int WaitDescriptor(INetDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        int fd = device.Capabilities.WaitHandle.FileDescriptor;
        if (fd < 0 && device.Find<IWaitableDevice>() is { } w) fd = w.FileDescriptor;
        return fd;
    }

    /// <summary>
    /// True when some device offers nothing to sleep on, so the loop wakes every <see cref="StackHostOptions.FallbackPollInterval"/>
    /// to poll it; false when every device is waited on by descriptor.
    /// </summary>
    public bool PollsOnInterval => _deviceDescriptors.Any(fd => fd < 0);

    /// <summary>The host's monotonic clock (Stopwatch based), the time every <c>Poll</c> is given. Readable from any thread.</summary>
    public static Instant Now => new(Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000));

    /// <summary>True on the loop thread (inside <c>Poll</c> or a work item).</summary>
    public bool IsOnLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Work items that threw (logged, loop continued).</summary>
    public long WorkItemExceptions => Interlocked.Read(ref _workExceptions);

    /// <summary><c>Poll</c> calls that threw (logged, loop continued).</summary>
    public long PollExceptions => Interlocked.Read(ref _pollExceptions);

    /// <summary>Loop turns so far (each is one <c>Poll</c>).</summary>
    public long Turns => Interlocked.Read(ref _turns);

    /// <summary>Completes when the loop thread has exited.</summary>
    public Task Completion => _stopped.Task;

    /// <summary>Starts the loop thread. Call once.</summary>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("StackHost was already started or stopped.");
        _thread = new Thread(Run) { IsBackground = true, Name = _options.ThreadName };
        _thread.Start();
    }

    /// <summary>
    /// Stops the loop promptly (it is woken through its eventfd, even when idle) and completes when the thread
    /// has exited. Work still queued is not run: <see cref="InvokeAsync{T}(Func{T}, CancellationToken)"/> tasks are cancelled.
    /// </summary>
    public Task StopAsync()
    {
        int previous = Interlocked.Exchange(ref _state, 2);
        _stopRequested = true;
        if (previous == 0) { CancelQueued(); _stopped.TrySetResult(); }
        else Wake();
        return _stopped.Task;
    }

    /// <summary>Queues <paramref name="work"/> to run on the loop thread before the next <c>Poll</c>. Exceptions are logged, not rethrown.</summary>
    public void Post(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Enqueue(new WorkItem.Posted(work));
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the loop thread; the task completes (off the loop thread) with its result or exception.
    /// Called from the loop thread itself, the work is queued behind the current turn: never block on that task there.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var item = new WorkItem.Invoked<T>(work, cancellationToken);
        if (cancellationToken.CanBeCanceled)
            item.Registration = cancellationToken.Register(static s => ((WorkItem.Invoked<T>)s!).Completion.TrySetCanceled(), item, useSynchronizationContext: false);
        Enqueue(item);
        return item.Completion.Task;
    }

    /// <summary>Runs <paramref name="work"/> on the loop thread; the task completes (off the loop thread) when it has run.</summary>
    public Task InvokeAsync(Action work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return InvokeAsync(() => { work(); return true; }, cancellationToken);
    }

    /// <summary>
    /// Makes the loop call <c>Poll</c> promptly (after state changed outside it, or a non-fd device got frames). Cheap and
    /// thread-safe: on the loop thread it only sets a flag (no system call); elsewhere it writes the eventfd once until the
    /// loop has woken.
    /// </summary>
    public void Wake()
    {
        if (Thread.CurrentThread == _thread) { _pollAgain = true; return; }
        if (Interlocked.Exchange(ref _wakePending, 1) == 0) _wake.Signal();
    }

    /// <summary>Queues an allocation-free work item (a pooled socket operation) for the loop thread, as <see cref="Post"/>.</summary>
    internal void PostItem(WorkItem work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Enqueue(work);
    }

    /// <summary>
    /// Loop thread only: runs <paramref name="work"/> as soon as the current <c>Poll</c> (or work item) has returned, before
    /// the loop sleeps, still on the loop thread. Socket completions signalled from inside the stack's receive path use it,
    /// so that a continuation run on the loop thread never re-enters the stack from inside a layer's receive call.
    /// </summary>
    internal void RunAfterPoll(WorkItem work)
    {
        Debug.Assert(IsOnLoopThread, "RunAfterPoll is for the loop thread");
        _afterPoll.Enqueue(work);
    }

    private void Enqueue(WorkItem item)
    {
        if (Volatile.Read(ref _state) == 2) { item.Cancel(); throw new ObjectDisposedException(nameof(StackHost), "StackHost is stopped."); }
        _work.Enqueue(item);
        Wake();
        if (Volatile.Read(ref _state) == 2 && _stopped.Task.IsCompleted) CancelQueued(); // lost the race with a stop: no orphaned task
    }

    private void Run()
    {
        LogStarted(_logger, _devices.Length);
        if (_options.LoopThreadNice is { } nice) ApplyNice(nice);
        var waitable = new List<int>();
        bool anyNonWaitable = false;
        foreach (int fd in _deviceDescriptors)
        {
            if (fd >= 0) waitable.Add(fd); else anyNonWaitable = true;
        }
        var fds = new LibC.PollFd[1 + waitable.Count];
        fds[0] = new LibC.PollFd { Fd = _wake.FileDescriptor, Events = LibC.POLLIN };
        for (int i = 0; i < waitable.Count; i++) fds[i + 1] = new LibC.PollFd { Fd = waitable[i], Events = LibC.POLLIN };

        try
        {
            while (!_stopRequested)
            {
                RunWork();
                if (_stopRequested) break;
                Instant now = Now;
                Instant deadline;
                _pollAgain = false; // a Wake() from the work just run is answered by this Poll
                try
                {
                    ReportReceiveBacklog();
                    deadline = _node.Poll(now);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _pollExceptions);
                    LogPollFailed(_logger, ex);
                    deadline = now + _options.FallbackPollInterval; // do not spin on a node that keeps throwing
                }
                RunAfterPollQueue();
                Interlocked.Increment(ref _turns);
                // Work queued by other threads, or state changed on this thread after Poll computed its deadline (a
                // continuation that sent a datagram): poll again before sleeping. Otherwise sleep.
                if (!_work.IsEmpty || _stopRequested || _pollAgain) continue;
                Wait(fds, deadline, anyNonWaitable);
            }
        }
        catch (Exception ex)
        {
            LogLoopCrashed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _state, 2);
            CancelQueued();
            LogStopped(_logger);
            _stopped.TrySetResult();
        }
    }

    /// <summary>Whether <see cref="StackHostOptions.LoopThreadNice"/> was applied to the loop thread.</summary>
    public bool LoopThreadNiceApplied { get; private set; }

    private void ApplyNice(int nice)
    {
        if (!OperatingSystem.IsLinux()) return;
        int tid = LibC.GetTid();
        if (LibC.SetPriority(LibC.PRIO_PROCESS, (uint)tid, Math.Clamp(nice, -20, 19)) == 0) { LoopThreadNiceApplied = true; return; }
        LogNiceFailed(_logger, nice, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
    }

    private void RunWork()
    {
        int budget = _options.MaxWorkItemsPerTurn;
        while (budget-- > 0 && !_stopRequested && _work.TryDequeue(out var item))
        {
            try { item.Run(); }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _workExceptions);
                LogWorkFailed(_logger, ex);
            }
        }
    }

    private void RunAfterPollQueue()
    {
        while (_afterPoll.TryDequeue(out var item))
        {
            try { item.Run(); }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _workExceptions);
                LogWorkFailed(_logger, ex);
            }
        }
    }

    private void Wait(LibC.PollFd[] fds, Instant deadline, bool anyNonWaitable)
    {
        Instant now = Now;
        TimeSpan? timeout = deadline == Instant.MaxValue ? null : Max(deadline - now, TimeSpan.Zero);
        if (anyNonWaitable && (timeout is null || timeout > _options.FallbackPollInterval)) timeout = _options.FallbackPollInterval;
        if (_synFilters.Length > 0 && (timeout is null || timeout > Receive.SynFilterDevice.RelaxInterval) && AnySynFilterOn()) timeout = Receive.SynFilterDevice.RelaxInterval;
        if (timeout == TimeSpan.Zero) return;

        for (int i = 0; i < fds.Length; i++) fds[i].Revents = 0;
        int r = LibC.Poll(fds, timeout);
        if (r < 0)
        {
            int e = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (e != Errno.EINTR) { LogWaitFailed(_logger, e); Thread.Sleep(1); }
            return;
        }
        if ((fds[0].Revents & LibC.POLLIN) != 0)
        {
            // Reset first, then clear the flag: a Wake() racing with this either sees the flag set (and its
            // work is drained below by RunWork) or signals again.
            _wake.Reset();
            Volatile.Write(ref _wakePending, 0);
        }
        for (int i = 1; i < fds.Length; i++)
        {
            if ((fds[i].Revents & (LibC.POLLERR | LibC.POLLHUP | LibC.POLLNVAL)) != 0)
            {
                // A device that went away (closed, interface deleted) would make poll() return at once forever.
                LogDeviceGone(_logger, fds[i].Fd, fds[i].Revents);
                fds[i].Fd = -1; // poll() ignores negative descriptors
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private void CancelQueued()
    {
        while (_work.TryDequeue(out var item)) item.Cancel();
        if (IsOnLoopThread) while (_afterPoll.TryDequeue(out var item)) item.Cancel();
    }

    /// <summary>Stops the loop (as <see cref="StopAsync"/>) and releases its wake-up eventfd.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _wake.Dispose();
    }

    /// <summary>Stops the loop (waiting for it) and releases the eventfd. Not from the loop thread (it would wait for itself).</summary>
    public void Dispose()
    {
        if (IsOnLoopThread) throw new InvalidOperationException("StackHost cannot be disposed synchronously from its own loop thread; use StopAsync.");
        DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [LoggerMessage(1, LogLevel.Debug, "StackHost loop started over {DeviceCount} device(s)")]
    private static partial void LogStarted(ILogger logger, int deviceCount);

    [LoggerMessage(2, LogLevel.Debug, "StackHost loop stopped")]
    private static partial void LogStopped(ILogger logger);

    [LoggerMessage(3, LogLevel.Error, "A work item posted to the StackHost threw; the loop continues")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Error, "Poll threw; counted, the loop continues")]
    private static partial void LogPollFailed(ILogger logger, Exception exception);

    [LoggerMessage(5, LogLevel.Critical, "The StackHost loop failed and stopped")]
    private static partial void LogLoopCrashed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "poll() failed with errno {Errno}")]
    private static partial void LogWaitFailed(ILogger logger, int errno);

    [LoggerMessage(8, LogLevel.Warning, "Could not set the loop thread's nice value to {Nice} (errno {Errno}); it runs as inherited")]
    private static partial void LogNiceFailed(ILogger logger, int nice, int errno);

    [LoggerMessage(7, LogLevel.Warning, "Device descriptor {Fd} reported poll events {Events:x}; no longer waited on")]
    private static partial void LogDeviceGone(ILogger logger, int fd, short events);
}
