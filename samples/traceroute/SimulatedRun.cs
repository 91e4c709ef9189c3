using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>Traces across <see cref="SimulatedNetwork"/> in virtual time: IPv4 then IPv6 to the far host, or to the given host.</summary>
public static class SimulatedRun
{
    public static int Run(TracerouteOptions options, TextWriter output, ulong seed = 1)
    {
        var net = SimulatedNetwork.Build(seed);
        net.Settle();
        var targets = new List<(string Name, IpAddress Address)>();
        if (options.Host is null)
        {
            if (options.Family != 6) targets.Add((SimulatedNetwork.TargetName, SimulatedNetwork.TargetV4));
            if (options.Family != 4) targets.Add((SimulatedNetwork.TargetName, SimulatedNetwork.TargetV6));
        }
        else
        {
            targets.Add(Resolve(net, options));
        }
        var results = new List<TraceResult>();
        for (int i = 0; i < targets.Count; i++)
        {
            if (i > 0 && !options.Json) output.WriteLine();
            var (name, address) = targets[i];
            results.Add(Trace(net, options, name, address, options.Json ? null : output));
        }
        if (options.Json) JsonReport.Write(output, results);
        if (Environment.GetEnvironmentVariable("NETSTACK_SIM_STATS") == "1")
        {
            foreach (var (n, stack) in net.Nodes)
                Console.Error.WriteLine($"{n}: " + string.Join(", ", stack.Statistics.NonZeroDrops().Select(kv => $"{kv.Key}={kv.Value}")));
        }
        return 0;
    }

    /// <summary>A literal, or the name looked up as on a device: A / AAAA queries through the client stack's resolver.</summary>
    private static (string, IpAddress) Resolve(SimulatedNetwork net, TracerouteOptions options)
    {
        string host = options.Host!;
        if (System.Net.IPAddress.TryParse(host, out var ip)) return (host, IpAddress.FromIPAddress(ip));
        var resolver = net.Client.Resolver!;
        var lookup = new ForwardLookup(resolver, host, options.Family, net.Simulator.Now);
        IpAddress address = default;
        string? error = null;
        net.Simulator.Wake(net.Client);
        net.Simulator.RunUntil(() => lookup.TryGetResult(out address, out error), net.Simulator.Now + TimeSpan.FromMinutes(1));
        if (!lookup.TryGetResult(out address, out error)) error = "Temporary failure in name resolution";
        if (error is not null) throw new TracerouteException(options.HostError(error), 2);
        return (host, address);
    }

    private static TraceResult Trace(SimulatedNetwork net, TracerouteOptions options, string name, IpAddress target, TextWriter? output)
    {
        var node = net.Client;
        if (!node.Stack.TrySelectSource(target, out var source))
            throw new TracerouteException("connect: Network is unreachable");
        if (options.Source is not null) source = DeviceRun.CheckSource(options, target, node.Stack.IsLocalAddress, output);
        var random = new SeededRandom(net.Simulator.Seed ^ 0x7472);
        IRandomSource r = random;
        var sender = ProbeSenderFactory.Create(node.Stack, options, source, target, r);
        IHostNameSource? names = options.NoResolve ? null : node.Resolver;
        if (options.Mda)
        {
            var mda = new MdaTracer(options, sender, names, output);
            node.Sender = sender;
            mda.Run(node, net.Simulator, name, target);
            sender.Dispose();
            node.Sender = null;
            return mda.Result(name, target);
        }
        var engine = new TracerouteEngine(options, sender, ProbeSenderFactory.DataLength(options, sender), names, output);
        sender.Attach(engine);
        node.Sender = sender;
        node.Engine = engine;
        engine.WriteHeader(name, target);
        net.Simulator.Wake(node);
        net.Simulator.RunUntil(() => engine.IsComplete, net.Simulator.Now + TimeSpan.FromHours(1));
        node.Engine = null;
        node.Sender = null;
        sender.Dispose();
        return TraceResult.From(name, target, options, engine);
    }
}
