using NetStack.Fuzz;
using NetStack.Tests.Support;

namespace NetStack.Tests.Fuzz;

/// <summary>
/// The fuzz targets of fuzz/NetStack.Fuzz without the fuzzer (docs/fuzzing.md): every seed cut from pcaps/, the committed
/// corpus (fuzz/corpus/TARGET.bin) and every crash the fuzzer found (Fuzz/Crashes/TARGET/, each fixed in the core) run
/// through their target on every test run. A target throws when the code under test throws or one of its invariants
/// fails (a round trip, a bounded poll loop, bounded memory): hostile input is a counted drop (DESIGN principle 5).
/// </summary>
public sealed class FuzzRegressionTests
{
    private static readonly Lazy<IReadOnlyList<byte[][]>> s_captures = new(() => Seeds.ReadCaptures(CapturePaths.Directory));

    private static string RepositoryRoot => Path.GetDirectoryName(CapturePaths.Directory)!;

    public static TheoryData<string> TargetNames() => [.. Targets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Seeds_corpus_and_found_crashes_run_clean_through_the_target(string name)
    {
        var target = Targets.Find(name)!;
        var inputs = Seeds.For(target, s_captures.Value).Select(s => ("seed " + Seeds.NameOf(s), s)).ToList();
        Assert.NotEmpty(inputs); // every target is seeded from the captures
        var corpus = Path.Combine(RepositoryRoot, "fuzz", "corpus", name + ".bin");
        if (File.Exists(corpus)) inputs.AddRange(Corpus.Unpack(File.ReadAllBytes(corpus)).Select(c => ("corpus " + Seeds.NameOf(c), c)));
        var crashes = Path.Combine(RepositoryRoot, "tests", "NetStack.Tests", "Fuzz", "Crashes", name);
        if (Directory.Exists(crashes))
            inputs.AddRange(Directory.EnumerateFiles(crashes).Order(StringComparer.Ordinal).Select(f => ("crash " + Path.GetFileName(f), File.ReadAllBytes(f))));
        var failures = new List<string>();
        foreach (var (label, input) in inputs)
        {
            try { target.Run(input); }
            catch (Exception e) { failures.Add($"{label}: {e.GetType().Name}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {inputs.Count} inputs failed:\n" + string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Crash_folders_are_named_after_targets()
    {
        var crashes = Path.Combine(RepositoryRoot, "tests", "NetStack.Tests", "Fuzz", "Crashes");
        Assert.True(Directory.Exists(crashes), crashes);
        foreach (var dir in Directory.EnumerateDirectories(crashes))
            Assert.NotNull(Targets.Find(Path.GetFileName(dir)));
    }

    [Fact]
    public void The_whole_stack_harness_reaches_past_the_parsers()
    {
        // The answerable seeds (the stack's own addresses, valid checksums, sequence numbers that fit) must get answers:
        // TCP connections accepted, UDP datagrams echoed, frames sent. Without that the stack target would fuzz only the
        // first drop of every frame.
        long accepted = 0, echoed = 0, sent = 0;
        foreach (var seed in Seeds.StackRuns(s_captures.Value))
        {
            var s = StackHarness.Run(seed, virtio: false);
            accepted += s.TcpAccepted;
            echoed += s.UdpEchoed;
            sent += s.FramesSent;
        }
        Assert.True(accepted >= 2, $"{accepted} TCP connections accepted (the crafted seeds open one per family)");
        Assert.True(echoed > 0, "no UDP datagram echoed");
        Assert.True(sent > 0, "nothing sent");
    }

    [Fact]
    public void Whole_stack_inputs_replay_exactly()
    {
        // A fresh stack with a fixed seed per input: the same input gives the same run (a crash file reproduces).
        foreach (var seed in Seeds.StackRuns(s_captures.Value).Take(20))
        {
            var a = StackHarness.Run(seed, virtio: false);
            var b = StackHarness.Run(seed, virtio: false);
            Assert.Equal(a.FramesSent, b.FramesSent);
            Assert.Equal(a.Drops, b.Drops);
        }
    }

    [Fact]
    public void Every_byte_string_is_a_whole_stack_input()
    {
        // The record format cannot be malformed: a cut record keeps what is there.
        byte[] input = [0, 0x03, 5, 0xFF, 0xFF, 1, 2, 3];
        int records = 0, bytes = 0;
        foreach (var r in FrameInput.Records(input))
        {
            records++;
            bytes += r.Frame.Length;
        }
        Assert.Equal(1, records);
        Assert.Equal(3, bytes);
        StackHarness.Run(input, virtio: false);
        StackHarness.Run([], virtio: true);
    }
}
