namespace NetStack.Sockets;

/// <summary>
/// The thread that owns a stack. The core is single-threaded: the async socket API hands every operation
/// to the dispatcher and completes tasks from it. The runtime's event loop (NetStack.Tap's StackHost) is one.
/// </summary>
internal interface IStackDispatcher
{
    /// <summary>True on the dispatcher's own thread.</summary>
    bool IsOnLoopThread { get; }

    /// <summary>The stack's clock.</summary>
    Instant Now { get; }

    /// <summary>Queues work for the loop; exceptions it throws are logged and never stop the loop.</summary>
    void Post(Action work);

    /// <summary>Runs <paramref name="work"/> on the loop; the task completes off the loop thread.</summary>
    Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default);

    /// <summary>Asks the loop to poll the stack now (after a change made outside a frame or timer).</summary>
    void Wake();

    /// <summary>Queues a reusable work item (a pooled socket operation) for the loop; the host does it without allocating.</summary>
    void PostItem(NetStack.Tap.WorkItem work) => Post(work.Run);

    /// <summary>
    /// On the loop thread: runs <paramref name="work"/> once the current <c>Poll</c> or work item has returned (outside the
    /// stack's receive path), before the loop sleeps. A dispatcher without that notion queues it as ordinary work.
    /// </summary>
    void RunAfterPoll(NetStack.Tap.WorkItem work) => Post(work.Run);
}

/// <summary>Helpers shared by the async sockets.</summary>
internal static class StackDispatcherExtensions
{
    /// <summary>
    /// Runs <paramref name="work"/> on the loop: now when already there, else queued; when the loop has stopped
    /// (nothing else can touch the stack any more) it runs inline.
    /// </summary>
    public static void RunOnLoop(this IStackDispatcher dispatcher, Action work)
    {
        if (dispatcher.IsOnLoopThread) { work(); return; }
        try
        {
            dispatcher.Post(work);
        }
        catch (ObjectDisposedException)
        {
            work();
        }
    }
}
