using NetStack.Sockets;

namespace NetStack.Tap;

/// <summary>The host is the dispatcher the core's async sockets hand their work to (additive: no change to the loop).</summary>
public sealed partial class StackHost : IStackDispatcher
{
    Instant IStackDispatcher.Now => Now;

    void IStackDispatcher.PostItem(WorkItem work) => PostItem(work);

    void IStackDispatcher.RunAfterPoll(WorkItem work) => RunAfterPoll(work);
}
