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

    /// <summary>Most queued work items run per loop turn before the stack is polled again (keeps frames flowing under a flood of work).</summary>
    public int MaxWorkItemsPerTurn { get; init; } = 1024;
}
