using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>One probe slot: hop (ttl) and query number, what was sent, and what came back.</summary>
public sealed class Probe
{
    public Probe(int index, int ttl, int query)
    {
        Index = index;
        Ttl = ttl;
        Query = query;
    }

    public int Index { get; }
    public int Ttl { get; }
    public int Query { get; }

    public bool Sent => SendTime.HasValue;
    public Instant? SendTime { get; set; }
    /// <summary>Answered or expired: nothing more will change it.</summary>
    public bool Done { get; set; }
    /// <summary>The answer ends the trace at this hop (destination reached or an unreachable error).</summary>
    public bool Final { get; set; }
    /// <summary>Who answered (null when expired).</summary>
    public IpAddress? From { get; set; }
    public Instant? ReceiveTime { get; set; }
    /// <summary>TTL / hop limit of the answer as it arrived.</summary>
    public int ReceiveTtl { get; set; }
    /// <summary>The annotation after the time ("!H", "!F-1400", "F=1400"), empty when none.</summary>
    public string Annotation { get; set; } = "";
    /// <summary>ICMP extension text printed in angle brackets with -e ("MPLS:L=..."), or null.</summary>
    public string? Extension { get; set; }
    /// <summary>Method-specific identity of the probe on the wire (port, sequence, checksum...).</summary>
    public int WireId { get; set; }
    /// <summary>Source port used (TCP / Paris UDP), for matching.</summary>
    public int SourcePort { get; set; }
    /// <summary>The flow identifier this probe carried (MDA / Paris).</summary>
    public int FlowId { get; set; }

    public TimeSpan? RoundTrip => ReceiveTime is { } r && SendTime is { } s ? r - s : null;

    /// <summary>Clears the slot so that it is sent again (used by --mtu when a smaller MTU was learned).</summary>
    public void Reset()
    {
        SendTime = null;
        Done = false;
        Final = false;
        From = null;
        ReceiveTime = null;
        ReceiveTtl = 0;
        Annotation = "";
        Extension = null;
        WireId = 0;
    }

    /// <summary>Takes over another probe's answer (Linux traceroute's "replace by final" for hops that answered late).</summary>
    public void TakeAnswerOf(Probe other)
    {
        SendTime = other.SendTime;
        Done = other.Done;
        Final = other.Final;
        From = other.From;
        ReceiveTime = other.ReceiveTime;
        ReceiveTtl = other.ReceiveTtl;
        Annotation = other.Annotation;
        Extension = other.Extension;
    }
}
