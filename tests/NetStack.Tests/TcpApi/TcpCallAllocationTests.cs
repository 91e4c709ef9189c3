using System.Net;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Tests.Api.Support;
using NetStack.Tests.Tcp;
using Xunit.Abstractions;

namespace NetStack.Tests.TcpApi;

/// <summary>
/// Issue 12 item 4: <see cref="TcpConnectionStream.ReadAsync(Memory{byte}, CancellationToken)"/> and
/// <see cref="TcpConnectionStream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>, and the pipe over them, complete
/// through pooled value-task sources posted to the loop without allocation. Two whole <see cref="IpStack"/>s (Ethernet,
/// IPv4/IPv6, TCP) over an in-memory link, each on its loop thread, play ping-pong with 64-byte messages; what the whole
/// process allocates (loops, thread pool, the test's own awaits) is counted per call. The test runs alone
/// (<see cref="HeapMeasurement"/>): other tests' allocations would count too.
/// Before the pooled operations each call cost a closure, a work item, a <see cref="TaskCompletionSource"/> and an async
/// state machine: several hundred bytes.
/// </summary>
[Collection(nameof(HeapMeasurement))]
public sealed class TcpCallAllocationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private const int Message = 64;
    private const int RoundTrips = 2_000;

    /// <summary>An object (24 bytes at least) every sixth call exceeds it; runtime threads (timers, tiered JIT) may allocate now and then.</summary>
    private const double BytesPerCallLimit = 4;

    /// <summary>
    /// The cheapest of several rounds of <paramref name="round"/>, in bytes allocated by the process per call. Each round runs
    /// on the thread pool, outside the test framework's synchronization context (whose posts allocate, as any
    /// application's context would: the awaits inside use ConfigureAwait(false) as a library's do).
    /// </summary>
    private async Task<double> BytesPerCall(Func<Task> round, int callsPerRound)
    {
        for (int i = 0; i < 3; i++) await Task.Run(round).WaitAsync(Limit); // warm-up: JIT, pools, caches
        using (var sampler = new AllocationSampler())
        {
            for (int i = 0; i < 4; i++) await Task.Run(round).WaitAsync(Limit);
            output.WriteLine("sampled allocations: " + sampler.Report());
        }
        long best = long.MaxValue;
        for (int r = 0; r < 6 && best > 0; r++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            await Task.Run(round).WaitAsync(Limit);
            best = Math.Min(best, GC.GetTotalAllocatedBytes(precise: true) - before);
        }
        double perCall = (double)best / callsPerRound;
        output.WriteLine($"{best} bytes over {callsPerRound} calls: {perCall:0.00} bytes per call");
        return perCall;
    }

    [Theory]
    [InlineData("192.0.2.2")]
    [InlineData("2001:db8::2")]
    public async Task Stream_reads_and_writes_allocate_nothing_per_call(string server)
    {
        await using var pair = await StackPair.StartDualStackAsync();
        var (a, b) = (pair.A, pair.B);
        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.IPv6Any, 7));
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse(server), 7)).WaitAsync(Limit);
        await using var echo = await accepting.WaitAsync(Limit);
        client.NoDelay = true;
        echo.NoDelay = true;
        var ping = new byte[Message];
        var pong = new byte[Message];
        var relay = new byte[Message];

        // One async method for the whole round (a helper awaited per message would allocate its own state machine).
        async Task Round()
        {
            for (int i = 0; i < RoundTrips; i++)
            {
                await client.WriteAsync(ping).ConfigureAwait(false);
                for (int got = 0; got < Message;)
                {
                    int n = await echo.ReadAsync(relay.AsMemory(got)).ConfigureAwait(false);
                    if (n == 0) throw new EndOfStreamException();
                    got += n;
                }
                await echo.WriteAsync(relay).ConfigureAwait(false);
                for (int got = 0; got < Message;)
                {
                    int n = await client.ReadAsync(pong.AsMemory(got)).ConfigureAwait(false);
                    if (n == 0) throw new EndOfStreamException();
                    got += n;
                }
            }
        }

        // At least four calls per round trip (two writes, two reads; a read may take two calls).
        double perCall = await BytesPerCall(Round, 4 * RoundTrips);
        Assert.True(perCall < BytesPerCallLimit, $"{perCall:0.00} bytes allocated per call");
    }

    [Fact]
    public async Task Pipe_reads_and_writes_allocate_nothing_per_call()
    {
        await using var pair = await StackPair.StartDualStackAsync();
        var (a, b) = (pair.A, pair.B);
        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 7));
        var accepting = listener.AcceptAsync().AsTask();
        await using var client = await a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 7)).WaitAsync(Limit);
        await using var echo = await accepting.WaitAsync(Limit);
        client.NoDelay = true;
        echo.NoDelay = true;
        var ping = new byte[Message];

        System.IO.Pipelines.IDuplexPipe left = client, right = echo;
        async Task Round()
        {
            for (int i = 0; i < 2 * RoundTrips; i++)
            {
                var (from, to) = i % 2 == 0 ? (left, right) : (right, left);
                await from.Output.WriteAsync(ping).ConfigureAwait(false);
                for (long got = 0; got < Message;)
                {
                    var result = await to.Input.ReadAsync().ConfigureAwait(false);
                    got += result.Buffer.Length;
                    to.Input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted && got < Message) throw new EndOfStreamException();
                }
            }
        }

        double perCall = await BytesPerCall(Round, 4 * RoundTrips);
        Assert.True(perCall < BytesPerCallLimit, $"{perCall:0.00} bytes allocated per call");
    }

    /// <summary>The runtime's allocation samples (one per ~100 KB allocated), by type: says what allocates when the test fails.</summary>
    private sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
    {
        private readonly Dictionary<string, int> _types = [];
        private readonly Lock _lock = new();

        protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
                EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }

        protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
        {
            if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null) return;
            int i = e.PayloadNames.IndexOf("TypeName");
            if (i < 0 || e.Payload is null) return;
            var name = e.Payload[i]?.ToString() ?? "?";
            lock (_lock) _types[name] = _types.GetValueOrDefault(name) + 1;
        }

        public string Report()
        {
            lock (_lock) return string.Join(", ", _types.OrderByDescending(kv => kv.Value).Take(8).Select(kv => $"{Owner(kv.Key)}{kv.Key} x{kv.Value}"));
        }

        /// <summary>The type a compiler-generated closure class is nested in (its name alone says little).</summary>
        private static string Owner(string typeName)
        {
            if (!typeName.StartsWith('<')) return "";
            var owners = new List<string>();
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
            {
                var name = assembly.GetName().Name ?? "";
                if (!name.StartsWith("NetStack", StringComparison.Ordinal) && name != "System.Private.CoreLib" && name != "System.IO.Pipelines") continue;
                Type?[] types;
                try { types = assembly.GetTypes(); }
                catch (System.Reflection.ReflectionTypeLoadException e) { types = e.Types; }
                foreach (var t in types)
                    if (t is { DeclaringType: { } d } && t.Name == typeName) owners.Add(d.FullName ?? d.Name);
            }
            return owners.Count == 0 ? "" : string.Join("|", owners) + "+";
        }
    }
}
