using System.Text.Json;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>One answer (or silence) to one probe, for --json.</summary>
public sealed record ProbeResult(int Ttl, int Query, string? Address, double? RttMs, string Annotation, string? Extension, int? FlowId);

/// <summary>A whole trace, for --json.</summary>
public sealed record TraceResult(string Target, string Address, string Method, int PacketLength, bool Reached,
    IReadOnlyList<ProbeResult> Probes, IReadOnlyList<MdaHop>? Multipath = null)
{
    public static TraceResult From(string name, IpAddress address, TracerouteOptions options, TracerouteEngine engine)
    {
        var probes = engine.PrintedProbes.Select(p => new ProbeResult(p.Ttl, p.Query, p.From?.ToString(),
            p.RoundTrip?.TotalMilliseconds, p.Annotation, p.Extension, options.Paris ? p.FlowId : null)).ToList();
        bool reached = engine.PrintedProbes.Any(p => p.From is { } a && a == address);
        return new TraceResult(name, address.ToString(), options.Method.ToString().ToLowerInvariant(), engine.PacketLength, reached, probes);
    }
}

/// <summary>One hop of a multipath (--mda) trace: every interface seen, with how many probes each answered.</summary>
public sealed record MdaHop(int Ttl, int ProbesSent, IReadOnlyList<(string Address, int Answers)> Interfaces, bool Final)
{
    /// <summary>Per interface, what its answers carried: extensions ("&lt;MPLS:...&gt;") and annotations ("!X"), space separated.</summary>
    public IReadOnlyDictionary<string, string> Notes { get; init; } = new Dictionary<string, string>();
}

/// <summary>Writes the results as JSON (one object with a "traces" array).</summary>
public static class JsonReport
{
    public static void Write(TextWriter output, IReadOnlyList<TraceResult> traces)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("traces");
            foreach (var t in traces)
            {
                w.WriteStartObject();
                w.WriteString("target", t.Target);
                w.WriteString("address", t.Address);
                w.WriteString("method", t.Method);
                w.WriteNumber("packet_length", t.PacketLength);
                w.WriteBoolean("reached", t.Reached);
                if (t.Multipath is { } hops)
                {
                    w.WriteNumber("confidence", 0.95);
                    w.WriteStartArray("hops");
                    foreach (var h in hops)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("ttl", h.Ttl);
                        w.WriteNumber("probes", h.ProbesSent);
                        w.WriteStartArray("interfaces");
                        foreach (var (a, n) in h.Interfaces)
                        {
                            w.WriteStartObject();
                            w.WriteString("address", a);
                            w.WriteNumber("answers", n);
                            if (h.Notes.TryGetValue(a, out var note) && note.Length > 0) w.WriteString("notes", note);
                            w.WriteEndObject();
                        }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteStartArray("probes");
                foreach (var p in t.Probes)
                {
                    w.WriteStartObject();
                    w.WriteNumber("ttl", p.Ttl);
                    w.WriteNumber("query", p.Query);
                    if (p.Address is null) w.WriteNull("address"); else w.WriteString("address", p.Address);
                    if (p.RttMs is { } rtt) w.WriteNumber("rtt_ms", Math.Round(rtt, 3)); else w.WriteNull("rtt_ms");
                    if (p.Annotation.Length > 0) w.WriteString("annotation", p.Annotation);
                    if (p.Extension is not null) w.WriteString("extension", p.Extension);
                    if (p.FlowId is { } f) w.WriteNumber("flow", f);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
