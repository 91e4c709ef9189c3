using System.Globalization;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// --mda: the multipath detection algorithm (Veitch, Augustin et al., "Failure control in multipath route tracing").
/// Hop by hop, probes with different flow identifiers (Paris-style: the flow is held in the fields that load balancers
/// hash, the probe's identity elsewhere) are sent until enough have been sent that, at 95% confidence, no further
/// interface exists: with k interfaces seen, n(k) = ceil(ln(α / (k + 1)) / ln(k / (k + 1))) probes, α = 0.05
/// (6 for one interface, 11 for two, 16 for three...). This is the hop-by-hop variant ("MDA-Lite" assumption of
/// uniform per-flow balancing); it enumerates every interface of each hop.
/// </summary>
public sealed class MdaTracer(TracerouteOptions options, RawProbeSender sender, IHostNameSource? names, TextWriter? output)
{
    public const double Alpha = 0.05;
    private readonly List<MdaHop> _hops = [];
    private readonly List<ProbeResult> _probes = [];
    private readonly Dictionary<IpAddress, string?> _names = [];
    private bool _reached;

    /// <summary>Probes needed to rule out a (k+1)-th interface at confidence 1 - <see cref="Alpha"/>.</summary>
    public static int StoppingPoint(int k) =>
        (int)Math.Ceiling(Math.Log(Alpha / (k + 1)) / Math.Log(k / (double)(k + 1)));

    /// <summary>Traces hop by hop; <paramref name="runUntil"/> drives the network until its condition holds.</summary>
    public void Run(TracerouteNode node, Simulation.Simulator simulator, string name, IpAddress target) =>
        Run(node, cond => { simulator.Wake(node); simulator.RunUntil(cond, simulator.Now + TimeSpan.FromHours(1)); }, name, target);

    public void Run(TracerouteNode node, Action<Func<bool>> runUntil, string name, IpAddress target)
    {
        int packetLength = sender.HeaderLength + ProbeSenderFactory.DataLength(options, sender);
        output?.Write(string.Create(CultureInfo.InvariantCulture,
            $"traceroute to {name} ({target}), {options.MaxTtl} hops max, {packetLength} byte packets, multipath detection ({(1 - Alpha) * 100:F0}% confidence)"));
        int flowBase = 0;
        for (int ttl = options.FirstTtl; ttl <= options.MaxTtl && !_reached; ttl++)
        {
            var answers = new Dictionary<IpAddress, int>();
            var notes = new Dictionary<IpAddress, SortedSet<string>>();
            int sent = 0;
            bool final = false;
            while (true)
            {
                int need = StoppingPoint(Math.Max(1, answers.Count));
                if (sent >= need) break;
                int batch = need - sent;
                var hopOptions = new TracerouteOptions
                {
                    Method = options.Method, Mda = true, FirstTtl = ttl, MaxTtl = ttl, Queries = batch,
                    SimultaneousProbes = batch, WaitMax = options.WaitMax, WaitHere = options.WaitHere, WaitNear = options.WaitNear,
                    Port = options.Port, Tos = options.Tos, FlowLabel = options.FlowLabel, NoResolve = true,
                    PacketLength = options.PacketLength, DontFragment = options.DontFragment, Extensions = options.Extensions,
                    SourcePort = options.SourcePort, TcpInfo = options.TcpInfo,
                };
                int baseForBatch = flowBase;
                sender.FlowOf = p => baseForBatch + p.Query;
                var engine = new TracerouteEngine(hopOptions, sender, ProbeSenderFactory.DataLength(hopOptions, sender), null, null);
                sender.Attach(engine);
                node.Engine = engine;
                engine.WriteHeader(name, target);
                runUntil(() => engine.IsComplete);
                node.Engine = null;
                flowBase += batch;
                sent += batch;
                foreach (var p in engine.Probes.Where(p => p.Ttl == ttl))
                {
                    p.FlowId = baseForBatch + p.Query;
                    _probes.Add(new ProbeResult(p.Ttl, sent - batch + p.Query, p.From?.ToString(), p.RoundTrip?.TotalMilliseconds,
                        p.Annotation, p.Extension, p.FlowId));
                    if (p.From is { } a)
                    {
                        answers[a] = answers.GetValueOrDefault(a) + 1;
                        if (!notes.TryGetValue(a, out var set)) notes[a] = set = new SortedSet<string>(StringComparer.Ordinal);
                        if (p.Extension is not null) set.Add($"<{p.Extension}>");
                        if (p.Annotation.Length > 0) set.Add(p.Annotation);
                    }
                    if (p.Final) final = true;
                }
            }
            if (names is not null)
            {
                // Reverse names are looked up where the stack runs (runUntil's condition runs there), before the line.
                runUntil(() =>
                {
                    foreach (var a in answers.Keys)
                        if (!_names.ContainsKey(a) && names.TryGetName(a, out var n)) _names[a] = n;
                    return answers.Keys.All(_names.ContainsKey);
                });
            }
            var hop = new MdaHop(ttl, sent, answers.OrderBy(kv => kv.Key).Select(kv => (kv.Key.ToString(), kv.Value)).ToList(), final)
            {
                Notes = notes.ToDictionary(kv => kv.Key.ToString(), kv => string.Join(' ', kv.Value)),
            };
            _hops.Add(hop);
            Print(hop);
            if (final) _reached = true;
        }
        output?.Write('\n');
        output?.Flush();
    }

    private void Print(MdaHop hop)
    {
        if (output is null) return;
        output.Write(string.Create(CultureInfo.InvariantCulture, $"\n{hop.Ttl,2} "));
        if (hop.Interfaces.Count == 0)
        {
            output.Write(string.Create(CultureInfo.InvariantCulture, $" * ({hop.ProbesSent} probes)"));
        }
        foreach (var (address, n) in hop.Interfaces)
        {
            _names.TryGetValue(IpAddress.Parse(address), out var hostName);
            output.Write(names is null ? $" {address}" : $" {hostName ?? address} ({address})");
            output.Write(string.Create(CultureInfo.InvariantCulture, $" [{n}/{hop.ProbesSent}]"));
            // What the probes' answers said: ICMP extensions (-e) in angle brackets, annotations ("!X", "!H") as Linux prints them.
            if (hop.Notes.TryGetValue(address, out var note) && note.Length > 0) output.Write(' ' + note);
        }
        output.Flush();
    }

    public TraceResult Result(string name, IpAddress target) =>
        new(name, target.ToString(), options.Method.ToString().ToLowerInvariant(),
            sender.HeaderLength + ProbeSenderFactory.DataLength(options, sender), _reached, _probes, _hops);
}
