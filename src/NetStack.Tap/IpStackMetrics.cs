using System.Diagnostics.Metrics;

namespace NetStack.Tap;

/// <summary>
/// The "NetStack" <see cref="Meter"/> of one <see cref="IpStack"/>: observable counters read from the stack's
/// <see cref="StackStatistics"/> when a listener collects (no cost per packet). Every measurement carries the tag
/// <c>netstack.stack</c> (the stack's name) so several stacks in one process stay apart.
/// <list type="bullet">
/// <item><c>netstack.frames</c>, <c>netstack.bytes</c> — link frames and bytes, tag <c>direction</c> = received / transmitted.</item>
/// <item><c>netstack.drops</c> — discarded frames and packets, tag <c>reason</c> = a <see cref="DropReason"/> name.</item>
/// <item><c>netstack.ip.packets</c> — tags <c>family</c> = ipv4 / ipv6, <c>direction</c> = received / sent / forwarded.</item>
/// <item><c>netstack.icmp.messages</c> — ICMP and ICMPv6, tags <c>family</c>, <c>direction</c> = received / sent.</item>
/// <item><c>netstack.udp.datagrams</c>, <c>netstack.tcp.segments</c> — tag <c>direction</c>; <c>netstack.tcp.retransmissions</c>.</item>
/// <item><c>netstack.ip.fragments</c> — tag <c>kind</c> = reassembled / created.</item>
/// </list>
/// </summary>
public sealed class IpStackMetrics : IDisposable
{
    /// <summary>The meter's name, for <c>MeterListener</c> / OpenTelemetry's <c>AddMeter("NetStack")</c>.</summary>
    public const string MeterName = "NetStack";

    private static readonly DropReason[] s_reasons = Enum.GetValues<DropReason>();
    private static readonly string[] s_reasonNames = s_reasons.Select(r => r.ToString()).ToArray();

    private readonly Meter _meter;
    private readonly StackStatistics _s;
    private readonly KeyValuePair<string, object?> _stack;

    /// <summary>Creates the instruments of the "NetStack" meter over <paramref name="statistics"/>, tagged with the stack's <paramref name="stackName"/>.</summary>
    public IpStackMetrics(string stackName, StackStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        _s = statistics;
        _stack = new("netstack.stack", stackName);
        _meter = new Meter(MeterName, typeof(IpStackMetrics).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableCounter("netstack.frames", () => Pair(_s.FramesReceived, "received", _s.FramesTransmitted, "transmitted"),
            "{frame}", "Link-layer frames received and transmitted");
        _meter.CreateObservableCounter("netstack.bytes", () => Pair(_s.BytesReceived, "received", _s.BytesTransmitted, "transmitted"),
            "By", "Link-layer bytes received and transmitted");
        _meter.CreateObservableCounter("netstack.drops", Drops, "{packet}", "Frames and packets discarded, by reason");
        _meter.CreateObservableCounter("netstack.ip.packets", IpPackets, "{packet}", "IP packets by family and direction");
        _meter.CreateObservableCounter("netstack.icmp.messages", IcmpMessages, "{message}", "ICMP and ICMPv6 messages by family and direction");
        _meter.CreateObservableCounter("netstack.udp.datagrams", () => Pair(_s.UdpReceived, "received", _s.UdpSent, "sent"),
            "{datagram}", "UDP datagrams received and sent");
        _meter.CreateObservableCounter("netstack.tcp.segments", () => Pair(_s.TcpSegmentsReceived, "received", _s.TcpSegmentsSent, "sent"),
            "{segment}", "TCP segments received and sent");
        _meter.CreateObservableCounter("netstack.tcp.retransmissions", () => new Measurement<long>(_s.TcpRetransmissions, _stack),
            "{segment}", "TCP segments retransmitted");
        _meter.CreateObservableCounter("netstack.ip.fragments", () => new[]
        {
            new Measurement<long>(_s.FragmentsReassembled, _stack, new("kind", "reassembled")),
            new Measurement<long>(_s.FragmentsCreated, _stack, new("kind", "created")),
        }, "{packet}", "IP datagrams reassembled and fragments created");
    }

    /// <summary>The meter (its instruments are published while the stack lives).</summary>
    public Meter Meter => _meter;

    private Measurement<long>[] Pair(long a, string aName, long b, string bName) =>
    [
        new(a, _stack, new("direction", aName)),
        new(b, _stack, new("direction", bName)),
    ];

    private IEnumerable<Measurement<long>> Drops()
    {
        // Every reason is reported (zeros included) so that each time series exists from the first collection on.
        for (int i = 0; i < s_reasons.Length; i++)
            yield return new Measurement<long>(_s.Drops(s_reasons[i]), _stack, new("reason", s_reasonNames[i]));
    }

    private Measurement<long>[] IpPackets() =>
    [
        new(_s.Ipv4PacketsReceived, _stack, new("family", "ipv4"), new("direction", "received")),
        new(_s.Ipv4PacketsSent, _stack, new("family", "ipv4"), new("direction", "sent")),
        new(_s.Ipv4PacketsForwarded, _stack, new("family", "ipv4"), new("direction", "forwarded")),
        new(_s.Ipv6PacketsReceived, _stack, new("family", "ipv6"), new("direction", "received")),
        new(_s.Ipv6PacketsSent, _stack, new("family", "ipv6"), new("direction", "sent")),
        new(_s.Ipv6PacketsForwarded, _stack, new("family", "ipv6"), new("direction", "forwarded")),
    ];

    private Measurement<long>[] IcmpMessages() =>
    [
        new(_s.IcmpReceived, _stack, new("family", "ipv4"), new("direction", "received")),
        new(_s.IcmpSent, _stack, new("family", "ipv4"), new("direction", "sent")),
        new(_s.Icmpv6Received, _stack, new("family", "ipv6"), new("direction", "received")),
        new(_s.Icmpv6Sent, _stack, new("family", "ipv6"), new("direction", "sent")),
    ];

    /// <summary>Disposes the meter (its instruments stop reporting).</summary>
    public void Dispose() => _meter.Dispose();
}
