namespace NetStack.Tap;

/// <summary>Settings of a <see cref="StackHost"/>.</summary>
public sealed record StackHostOptions
{
    /// <summary>Name of the loop thread (seen in debuggers and <c>top -H</c>).</summary>
    public string ThreadName { get; init; } = "NetStack loop";

    /// <summary>
    /// How often devices without a pollable descriptor (in-memory links, pcap without a selectable fd)
    /// are polled when nothing else wakes the loop. Default 1 ms.
    /// </summary>
    public TimeSpan FallbackPollInterval { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// The loop thread's nice value (Linux, -20 to 19; null: inherited). The kernel's own receive path runs in softirq
    /// context ahead of every task; a user-space stack on a busy machine competes for the CPU with everything else, and
    /// while its loop waits for a CPU the TAP's queue fills and the kernel drops frames, legitimate ones among them (a SYN
    /// flood from the same machine is the extreme case). A negative value puts the loop ahead of ordinary tasks; it needs
    /// CAP_SYS_NICE (root). When it cannot be applied the loop runs as it is and a warning is logged.
    /// </summary>
    public int? LoopThreadNice { get; init; }

    /// <summary>Most queued work items run per loop turn before the stack is polled again (keeps frames flowing under a flood of work).</summary>
    public int MaxWorkItemsPerTurn { get; init; } = 1024;
}
