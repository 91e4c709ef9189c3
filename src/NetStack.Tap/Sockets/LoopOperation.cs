using System.Threading.Tasks.Sources;
using NetStack.Tap;

namespace NetStack.Sockets;

/// <summary>
/// One asynchronous socket call handed to the loop and completed there, reusable from call to call: the object is the
/// loop's work item (<see cref="WorkItem"/>, posted without allocation), the caller's <see cref="IValueTaskSource{TResult}"/>
/// (<see cref="ManualResetValueTaskSourceCore{TResult}"/>) and the thread-pool item that completes it
/// (<see cref="IThreadPoolWorkItem"/>), so that a call costs no allocation (issue 12 item 4).
/// <para>
/// Life of one use: the caller <see cref="Start"/>s it and posts it; on the loop, <see cref="TrySetResult"/> or
/// <see cref="TrySetException"/> (first one wins) records the outcome and queues the object to the thread pool, where the
/// caller's continuation runs. The caller's <see cref="GetResult"/> ends the use and hands the object back to its owner
/// (<see cref="Released"/>) for the next call.
/// </para>
/// <para>
/// With <c>continueOnLoop</c> (the owner's opt-in <c>RunContinuationsOnLoop</c>, as <see cref="AsyncUdpSocket"/>'s) the
/// outcome is signalled on the loop thread instead, once the current <c>Poll</c> has returned
/// (<see cref="IStackDispatcher.RunAfterPoll"/>: never from inside a layer's receive call), and the continuation runs there
/// without a thread-pool hop or a wake-up of the loop. A use started on the loop thread itself (<see cref="RunInline"/>)
/// that completes at once is signalled before the caller awaits, so the await does not suspend at all.
/// </para>
/// </summary>
internal abstract class LoopOperation<T> : WorkItem, IValueTaskSource<T>, IValueTaskSource, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<T> _core; // continuations inline: they run in Execute, on a pool thread
    private T _result = default!;
    private Exception? _error;
    private CancellationTokenRegistration _registration;
    private int _completed;
    private IStackDispatcher? _loop;  // the current use continues on this loop (null: on the thread pool)
    private bool _signalPending;      // queued with RunAfterPoll: Run signals the outcome instead of starting the use
    private bool _inline;             // inside RunInline: an outcome now is signalled at once

    /// <summary>The token of the current use.</summary>
    public CancellationToken Token { get; private set; }

    /// <summary>True once the current use has an outcome (loop thread, or inline once the loop has stopped).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The current use's token for <see cref="ValueTask"/>.</summary>
    public short Version => _core.Version;

    /// <summary>Begins a use (caller's thread); <paramref name="onCancel"/> (static) is registered on <paramref name="token"/> with this object.</summary>
    protected void Start(CancellationToken token, Action<object?> onCancel, IStackDispatcher? continueOnLoop)
    {
        _core.Reset();
        _loop = continueOnLoop;
        _signalPending = false;
        _result = default!;
        _error = null;
        Token = token;
        Volatile.Write(ref _completed, 0);
        _registration = token.CanBeCanceled ? token.UnsafeRegister(onCancel, this) : default;
    }

    public bool TrySetResult(T result)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0) return false;
        _result = result;
        Finish();
        return true;
    }

    public bool TrySetException(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0) return false;
        _error = error;
        Finish();
        return true;
    }

    public bool TrySetCanceled() => TrySetException(new OperationCanceledException(Token));

    private void Finish()
    {
        // Dispose waits for a cancellation callback running on another thread (it only posts to the loop), so that no
        // callback of this use can touch the object once it is reused; from within the callback itself it does not wait.
        _registration.Dispose();
        _registration = default;
        if (_loop is { } loop && loop.IsOnLoopThread)
        {
            if (_inline) { Signal(); return; } // the caller has not awaited yet: its await completes synchronously
            _signalPending = true;
            loop.RunAfterPoll(this);
            return;
        }
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    /// <summary>
    /// Loop thread only (a continuation running there): starts the use now instead of posting it, so that a read of data
    /// already received or a write that fits the send buffer completes before the caller awaits.
    /// </summary>
    public void RunInline()
    {
        _inline = true;
        try { Run(); }
        finally { _inline = false; }
    }

    /// <summary>As a posted work item, starts the use (<see cref="Begin"/>); as one deferred with RunAfterPoll, signals its outcome.</summary>
    public sealed override void Run()
    {
        if (_signalPending)
        {
            _signalPending = false;
            Signal();
            return;
        }
        Begin();
    }

    /// <summary>Starts the use on the loop.</summary>
    protected abstract void Begin();

    private void Signal()
    {
        // Last statement: the continuation runs inline here (on the loop thread) and may reuse this object at once.
        if (_error is { } e) _core.SetException(e);
        else _core.SetResult(_result);
    }

    void IThreadPoolWorkItem.Execute() => Signal();

    /// <summary>
    /// The loop stopped before the operation ran: it fails as every pending operation does then. One whose outcome was
    /// waiting to be signalled after the poll is signalled on the thread pool instead.
    /// </summary>
    public override void Cancel()
    {
        if (_signalPending)
        {
            _signalPending = false;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            return;
        }
        TrySetException(TcpErrors.Io(System.Net.Sockets.SocketError.OperationAborted));
    }

    /// <summary>The use is over (its result was read): the owner may hand the object out again.</summary>
    protected abstract void Released();

    public T GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Released();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
