using System.Runtime.InteropServices;

namespace NetStack.Fuzz;

/// <summary>
/// Edge coverage of a set of inputs, read the way the fuzzer reads it: SharpFuzz's instrumentation of NetStack.dll
/// counts each edge (AFL style: previous block ^ this block) in a 64 KiB map; this runs the inputs with a map of its own
/// and counts the entries hit. libFuzzer prints its own coverage as "ft" (features: an edge counts once per hit-count
/// bucket) and "cov" (the native driver's edges only, 2-3 here), so this number is the one to compare across runs.
/// Runs only in the instrumented build (scripts/fuzz.sh); an uninstrumented NetStack.dll reaches 0 edges.
/// </summary>
public static class Coverage
{
    public const int MapSize = 1 << 16;

    public static unsafe int Edges(FuzzTarget target, IEnumerable<byte[]> inputs)
    {
        var map = (byte*)NativeMemory.AllocZeroed(MapSize);
        try
        {
            SharpFuzz.Common.Trace.SharedMem = map;
            foreach (var input in inputs)
            {
                SharpFuzz.Common.Trace.PrevLocation = 0;
                try { target.Run(input); }
                catch (Exception e) when (e is not OutOfMemoryException) { } // a crash's edges count too
            }
            int edges = 0;
            for (int i = 0; i < MapSize; i++) if (map[i] != 0) edges++;
            return edges;
        }
        finally
        {
            SharpFuzz.Common.Trace.SharedMem = null;
            NativeMemory.Free(map);
        }
    }
}
