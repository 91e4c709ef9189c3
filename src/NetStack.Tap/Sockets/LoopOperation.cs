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
/// caller's continuation runs (never on the loop thread: user code must not run there). The caller's
/// <see cref="GetResult"/> ends the use and hands the object back to its owner (<see cref="Released"/>) for the next call.
/// </para>
/// </summary>
internal abstract class LoopOperation<T> : WorkItem, IValueTaskSource<T>, IValueTaskSource, IThreadPoolWorkItem
{
    private ManualResetValueTaskSourceCore<T> _core; // continuations inline: they run in Execute, on a pool thread
    private T _result = default!;
    private Exception? _error;
    private CancellationTokenRegistration _registration;
    private int _completed;

    /// <summary>The token of the current use.</summary>
    public CancellationToken Token { get; private set; }

    /// <summary>True once the current use has an outcome (loop thread, or inline once the loop has stopped).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The current use's token for <see cref="ValueTask"/>.</summary>
    public short Version => _core.Version;

    /// <summary>Begins a use (caller's thread); <paramref name="onCancel"/> (static) is registered on <paramref name="token"/> with this object.</summary>
    protected void Start(CancellationToken token, Action<object?> onCancel)
    {
        _core.Reset();
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
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_error is { } e) _core.SetException(e);
        else _core.SetResult(_result);
    }

    /// <summary>The loop stopped before the operation ran: it fails as every pending operation does then.</summary>
    public override void Cancel() => TrySetException(TcpErrors.Io(System.Net.Sockets.SocketError.OperationAborted));

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
