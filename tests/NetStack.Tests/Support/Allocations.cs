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

    /// <summary>
    /// Runs rounds of <paramref name="calls"/> calls of <paramref name="body"/> on this thread (whose work runs on the loops
    /// of <paramref name="loops"/> too) until one passes, at most <paramref name="maxRounds"/>, and reads what this thread
    /// and each loop allocated in each round (<see cref="OnLoop"/>). A round passes when this thread allocated nothing and
    /// each loop fewer than <paramref name="bytesPerCallOnLoop"/> bytes per call. Returns the cheapest round of this thread
    /// and of each loop (each taken on its own) and every round's figures for a failure message. A per-call allocation
    /// (24 bytes or more) shows in every round; growth to a new high-water mark of a pool or queue, which a loaded machine
    /// causes now and then (the in-memory link's pool holding more frames while a loop was descheduled longer than ever
    /// before), in some only.
    /// </summary>
    public static LoopRounds CheapestRounds(Action body, int calls, IpStack[] loops, int bytesPerCallOnLoop = 8, int maxRounds = 10)
    {
        long callerBest = long.MaxValue;
        var loopBest = new long[loops.Length];
        Array.Fill(loopBest, long.MaxValue);
        var before = new long[loops.Length];
        var rounds = new List<string>();
        bool Passes() => callerBest == 0 && loopBest.All(b => b < (long)bytesPerCallOnLoop * calls);
        while (rounds.Count < maxRounds && !Passes())
        {
            for (int l = 0; l < loops.Length; l++) before[l] = OnLoop(loops[l]);
            long c0 = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) body();
            long c1 = GC.GetAllocatedBytesForCurrentThread();
            var line = $"this thread {c1 - c0} B";
            for (int l = 0; l < loops.Length; l++)
            {
                long bytes = OnLoop(loops[l]) - before[l];
                line += $", {loops[l].Name} {bytes} B";
                loopBest[l] = Math.Min(loopBest[l], bytes);
            }
            callerBest = Math.Min(callerBest, c1 - c0);
            rounds.Add(line);
        }
        return new LoopRounds(callerBest, loopBest, rounds.Count, string.Join("; ", rounds));
    }
}

/// <summary>What <see cref="Allocations.CheapestRounds"/> measured: the cheapest round of the calling thread and of each loop,
/// the rounds run, and each round's figures.</summary>
internal sealed record LoopRounds(long Caller, IReadOnlyList<long> Loops, int Count, string Rounds);
