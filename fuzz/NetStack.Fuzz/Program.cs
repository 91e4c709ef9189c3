using System.Buffers.Binary;
using NetStack.Fuzz;

// The fuzz driver (docs/fuzzing.md). scripts/fuzz.sh is the usual way in.
//   NetStack.Fuzz TARGET                       libFuzzer mode (run by libfuzzer-dotnet: --target_arg=TARGET)
//   NetStack.Fuzz list                         the targets
//   NetStack.Fuzz seeds TARGET DIR PCAPS       writes the seed corpus cut from the captures under PCAPS into DIR
//   NetStack.Fuzz replay TARGET PATH...        runs files (or every file of directories) through TARGET, no fuzzer
//   NetStack.Fuzz pack DIR FILE / unpack FILE DIR   a corpus directory to one file of length-prefixed inputs and back
//   NetStack.Fuzz edges TARGET PATH...         (instrumented build only) edges of NetStack.dll the inputs reach
//   NetStack.Fuzz explain stack|virtio PATH... what whole-stack inputs did: frames sent, connections, drops
//   NetStack.Fuzz time TARGET PATH...          mean time of one input (uninstrumented build)
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: NetStack.Fuzz TARGET | list | seeds TARGET DIR PCAPS | replay TARGET PATH... | pack DIR FILE | unpack FILE DIR");
    return 2;
}
switch (args[0])
{
    case "list":
        foreach (var t in Targets.All) Console.WriteLine($"{t.Name,-10} {t.Description}");
        return 0;
    case "seeds" when args.Length == 4:
    {
        var target = Require(args[1]);
        Directory.CreateDirectory(args[2]);
        var seeds = Seeds.For(target, Seeds.ReadCaptures(args[3]));
        foreach (var s in seeds) File.WriteAllBytes(Path.Combine(args[2], Seeds.NameOf(s)), s);
        Console.WriteLine($"{target.Name}: {seeds.Count} seeds from {args[3]}");
        return 0;
    }
    case "replay" when args.Length >= 3:
    {
        var target = Require(args[1]);
        int runs = 0, failures = 0;
        foreach (var file in args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]))
        {
            runs++;
            try { target.Run(File.ReadAllBytes(file)); }
            catch (Exception e)
            {
                failures++;
                Console.WriteLine($"FAIL {file}: {e}");
            }
        }
        Console.WriteLine($"{target.Name}: {runs} inputs, {failures} failed");
        return failures == 0 ? 0 : 1;
    }
    case "explain" when args.Length >= 3 && args[1] is "stack" or "virtio":
    {
        var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToArray();
        long frames = 0, sent = 0, accepted = 0, established = 0, echoed = 0, maxAllocated = 0;
        var drops = new Dictionary<NetStack.DropReason, long>();
        foreach (var file in files)
        {
            var s = StackHarness.Run(File.ReadAllBytes(file), virtio: args[1] == "virtio");
            frames += s.FramesIn; sent += s.FramesSent; accepted += s.TcpAccepted; established += s.TcpEstablished; echoed += s.UdpEchoed;
            maxAllocated = Math.Max(maxAllocated, s.AllocatedBytes);
            foreach (var (reason, count) in s.Drops) drops[reason] = drops.GetValueOrDefault(reason) + count;
        }
        Console.WriteLine($"{files.Length} inputs: {frames} frames in, {sent} frames sent, {accepted} TCP accepted, {established} established (max per input, summed), {echoed} UDP echoed, at most {maxAllocated:N0} bytes allocated by one input");
        foreach (var (reason, count) in drops.OrderByDescending(d => d.Value)) Console.WriteLine($"  drop {reason}: {count}");
        return 0;
    }
    case "time" when args.Length >= 3:
    {
        // Mean time of one run of each input (uninstrumented), to see where a target's executions go.
        var target = Require(args[1]);
        var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToArray();
        var inputs = files.Select(File.ReadAllBytes).ToArray();
        foreach (var i in inputs) target.Run(i); // warm up
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var i in inputs) target.Run(i);
        Console.WriteLine($"{target.Name}: {inputs.Length} inputs, {clock.Elapsed.TotalMilliseconds / Math.Max(1, inputs.Length):F3} ms each");
        return 0;
    }
    case "edges" when args.Length >= 3:
    {
        var target = Require(args[1]);
        var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToArray();
        int edges = Coverage.Edges(target, files.Select(File.ReadAllBytes));
        Console.WriteLine($"{target.Name}: {edges} edges of NetStack.dll reached by {files.Length} inputs");
        return edges > 0 ? 0 : 1;
    }
    case "pack" when args.Length == 3:
    {
        using var output = File.Create(args[2]);
        var files = Directory.EnumerateFiles(args[1]).Order(StringComparer.Ordinal).ToArray();
        Span<byte> length = stackalloc byte[4];
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            output.Write(length);
            output.Write(bytes);
        }
        Console.WriteLine($"packed {files.Length} inputs into {args[2]}");
        return 0;
    }
    case "unpack" when args.Length == 3:
    {
        Directory.CreateDirectory(args[2]);
        var inputs = Corpus.Unpack(File.ReadAllBytes(args[1]));
        foreach (var i in inputs) File.WriteAllBytes(Path.Combine(args[2], Seeds.NameOf(i)), i);
        Console.WriteLine($"unpacked {inputs.Count} inputs into {args[2]}");
        return 0;
    }
    default:
    {
        var target = Targets.Find(args[0]);
        if (target is null || args.Length != 1)
        {
            Console.Error.WriteLine($"unknown command or target '{args[0]}' (NetStack.Fuzz list)");
            return 2;
        }
        SharpFuzz.Fuzzer.LibFuzzer.Run(span => target.Run(span));
        return 0;
    }
}

static FuzzTarget Require(string name) =>
    Targets.Find(name) ?? throw new ArgumentException($"unknown target '{name}' (NetStack.Fuzz list)");
