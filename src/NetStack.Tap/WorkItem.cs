namespace NetStack.Tap;

/// <summary>A unit of user work queued to the loop thread: run there, or cancelled if the host stops first.</summary>
internal abstract class WorkItem
{
    public abstract void Run();
    public abstract void Cancel();

    /// <summary>Fire-and-forget work from <see cref="StackHost.Post"/>.</summary>
    internal sealed class Posted(Action action) : WorkItem
    {
        public override void Run() => action();
        public override void Cancel() { }
    }

    /// <summary>Work whose result (or exception) completes a task, with continuations kept off the loop thread.</summary>
    internal sealed class Invoked<T>(Func<T> func, CancellationToken token) : WorkItem
    {
        public readonly TaskCompletionSource<T> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The caller's cancellation hook, released once the item has run or was cancelled.</summary>
        public CancellationTokenRegistration Registration { get; set; }

        public override void Run()
        {
            Registration.Dispose();
            if (token.IsCancellationRequested) { Completion.TrySetCanceled(token); return; }
            try { Completion.TrySetResult(func()); }
            catch (Exception ex) { Completion.TrySetException(ex); }
        }

        public override void Cancel()
        {
            Registration.Dispose();
            Completion.TrySetCanceled(token.IsCancellationRequested ? token : CancellationToken.None);
        }
    }
}
