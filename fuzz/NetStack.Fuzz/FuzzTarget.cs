namespace NetStack.Fuzz;

/// <summary>One input to a target (a span: the fuzzer's shared memory, a file, a seed).</summary>
public delegate void FuzzInput(ReadOnlySpan<byte> input);

/// <summary>Turns the captures of pcaps/ (each a list of Ethernet frames) into the seeds of a target.</summary>
public delegate IEnumerable<byte[]> SeedMaker(IReadOnlyList<byte[][]> captures);

/// <summary>
/// A fuzz target: a name for <c>scripts/fuzz.sh</c>, the code one input runs (any exception out of it is a finding:
/// a crash, or an invariant of the target that did not hold), and how its seeds are cut from captured frames.
/// </summary>
/// <param name="Name">The command-line name (lower case).</param>
/// <param name="Description">One line for <c>scripts/fuzz.sh list</c>.</param>
/// <param name="Run">Runs one input; throws <see cref="FuzzInvariantException"/> when an invariant fails.</param>
/// <param name="Seeds">Seeds cut from the captures (per frame for the parsers, runs of frames for the whole stack).</param>
public sealed record FuzzTarget(string Name, string Description, FuzzInput Run, SeedMaker Seeds);

/// <summary>An invariant a target checks did not hold (a finding, like an exception escaping the code under test).</summary>
public sealed class FuzzInvariantException : Exception
{
    public FuzzInvariantException() { }
    public FuzzInvariantException(string message) : base(message) { }
    public FuzzInvariantException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Throws when <paramref name="condition"/> is false.</summary>
    public static void Check(bool condition, string what)
    {
        if (!condition) throw new FuzzInvariantException(what);
    }
}
