using NetStack.Tap;

namespace NetStack.Tests.Support;

/// <summary>Measures what code under test allocates in steady state.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="rounds"/> rounds of <paramref name="iterations"/> calls of <paramref name="body"/> on this thread
    /// and returns the bytes allocated by the cheapest round. An allocation of the code under test shows in every round;
    /// a one-time allocation of the runtime on this thread (tiered JIT, on-stack replacement) in at most one.
    /// </summary>
    public static long SteadyState(Action body, int iterations = 100, int rounds = 5)
    {
        body(); // first call: JIT, static initialisers
        long best = long.MaxValue;
        for (int r = 0; r < rounds && best > 0; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++) body();
            best = Math.Min(best, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return best;
    }

    /// <summary>
    /// The bytes <paramref name="stack"/>'s loop thread has allocated so far (<see cref="GC.GetAllocatedBytesForCurrentThread"/>
    /// read on the loop). The reading is spun on, not awaited: an awaited <see cref="IpStack.InvokeAsync{T}"/> completes by
    /// queueing its continuation to the thread pool from the loop thread, after the counter was read, and that queueing can
    /// allocate on the loop (the pool's queue grows a segment when the pool is backed up, as under load), which a difference
    /// of two readings would count as the loop's own. Spun on, the reading adds only the loop's work of running it.
    /// </summary>
    public static long OnLoop(IpStack stack) => Spin.Until(stack.InvokeAsync(_ => GC.GetAllocatedBytesForCurrentThread()));
}
