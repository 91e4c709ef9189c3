using System.Diagnostics;

namespace NetStack.TestKit;

/// <summary>
/// Completes a pooled operation by spinning on it: no continuation is registered, so nothing is queued to the thread pool
/// and nothing is allocated, which lets an allocation measurement run around it. Bounded by a generous deadline (30 s).
/// </summary>
internal static class Spin
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Spins (yielding the processor) until <paramref name="pending"/> completes and returns its result.</summary>
    public static T Until<T>(ValueTask<T> pending)
    {
        long start = Stopwatch.GetTimestamp(); // not a Stopwatch object: this runs inside allocation measurements
        while (!pending.IsCompleted)
        {
            if (Stopwatch.GetElapsedTime(start) > Patience) throw new TimeoutException("the operation did not complete in 30 s");
            Thread.Yield();
        }
        return pending.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Spins until <paramref name="pending"/> completes and returns its result. Nothing awaits the task, so whichever thread
    /// completes it queues no continuation to the thread pool (which a <c>RunContinuationsAsynchronously</c> task would do).
    /// </summary>
    public static T Until<T>(Task<T> pending) => Until(new ValueTask<T>(pending));
}
