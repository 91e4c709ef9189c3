using System.Diagnostics.Metrics;
using NetStack.Transport.Tcp;

namespace NetStack.Tap;

/// <summary>
/// The "NetStack" <see cref="Meter"/> of one <see cref="IpStack"/>: observable instruments read from the stack's
/// <see cref="StackStatistics"/> and the TCP layer's <see cref="TcpStatistics"/> when a listener collects (no cost per
/// packet). Names, units and attributes follow the OpenTelemetry semantic conventions (lowercase dot-separated names in
/// the <c>netstack.</c> namespace, counters of countable things pluralized with a <c>{curly}</c> unit, no <c>total</c>
/// suffix, an UpDownCounter named <c>.count</c>; the general attributes <c>network.type</c> = <c>ipv4</c> / <c>ipv6</c>,
/// <c>network.transport</c> = <c>tcp</c> / <c>udp</c>, <c>network.io.direction</c> = <c>receive</c> / <c>transmit</c>;
/// attributes of our own under <c>netstack.</c>). Every measurement carries <c>netstack.stack.name</c> (the stack's
/// name) so several stacks in one process stay apart. See docs/observability.md.
/// <list type="bullet">
/// <item><c>netstack.link.frames</c> <c>{frame}</c>, <c>netstack.link.io</c> <c>By</c>: link frames and bytes (<c>network.io.direction</c>).</item>
/// <item><c>netstack.packet.dropped</c> <c>{packet}</c>: discards by <c>netstack.drop.reason</c> (a <see cref="DropReason"/> name), only reasons that occurred.</item>
/// <item><c>netstack.ip.packets</c> <c>{packet}</c>: IP packets (<c>network.type</c>, <c>network.io.direction</c>); <c>netstack.ip.forwarded</c> <c>{packet}</c> (<c>network.type</c>).</item>
/// <item><c>netstack.ip.fragments</c> <c>{packet}</c>: <c>netstack.fragment.operation</c> = <c>reassemble</c> / <c>create</c>.</item>
/// <item><c>netstack.icmp.messages</c> <c>{message}</c>: ICMP and ICMPv6 (<c>network.type</c>, <c>network.io.direction</c>).</item>
/// <item><c>netstack.udp.datagrams</c> <c>{datagram}</c>: (<c>network.transport</c> = udp, <c>network.io.direction</c>).</item>
/// <item><c>netstack.tcp.segments</c> <c>{segment}</c>: (<c>network.transport</c> = tcp, <c>network.type</c>, <c>network.io.direction</c>).</item>
/// <item><c>netstack.tcp.retransmissions</c> <c>{segment}</c>, <c>netstack.tcp.timeouts</c> <c>{timeout}</c> (retransmission timer expirations with data in flight).</item>
/// <item><c>netstack.tcp.opens</c> <c>{connection}</c>: <c>netstack.tcp.open</c> = <c>active</c> / <c>passive</c>.</item>
/// <item><c>netstack.tcp.connection.count</c> <c>{connection}</c> (UpDownCounter): connections in the table, TIME-WAIT included.</item>
/// </list>
/// </summary>
public sealed class IpStackMetrics : IDisposable
{
    /// <summary>The meter's name, for <c>MeterListener</c> / OpenTelemetry's <c>AddMeter("NetStack")</c> / <c>dotnet-counters --counters NetStack</c>.</summary>
    public const string MeterName = "NetStack";

    private static readonly DropReason[] s_reasons = Enum.GetValues<DropReason>();
    private static readonly string[] s_reasonNames = s_reasons.Select(r => r.ToString()).ToArray();

    private static readonly KeyValuePair<string, object?> Receive = new("network.io.direction", "receive");
    private static readonly KeyValuePair<string, object?> Transmit = new("network.io.direction", "transmit");
    private static readonly KeyValuePair<string, object?> V4 = new("network.type", "ipv4");
    private static readonly KeyValuePair<string, object?> V6 = new("network.type", "ipv6");
    private static readonly KeyValuePair<string, object?> Tcp = new("network.transport", "tcp");
    private static readonly KeyValuePair<string, object?> Udp = new("network.transport", "udp");

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly StackStatistics _s;
    private readonly TcpStatistics? _tcp;
    private readonly Func<int>? _tcpConnections;
    private readonly KeyValuePair<string, object?> _stack;
    private volatile bool _disposed;

    /// <summary>
    /// Creates the instruments of the "NetStack" meter over <paramref name="statistics"/> (and the TCP layer's
    /// <paramref name="tcp"/> counters; without them no TCP instrument is published), tagged with <paramref name="stackName"/>.
    /// With a <paramref name="meterFactory"/> (dependency injection's <see cref="IMeterFactory"/>) the meter comes from it
    /// and the factory disposes it; otherwise this object owns its meter.
    /// </summary>
    public IpStackMetrics(string stackName, StackStatistics statistics, TcpStatistics? tcp = null, IMeterFactory? meterFactory = null)
        : this(stackName, statistics, tcp, null, meterFactory)
    {
    }

    internal IpStackMetrics(string stackName, StackStatistics statistics, TcpStatistics? tcp, Func<int>? tcpConnections, IMeterFactory? meterFactory)
    {
        ArgumentNullException.ThrowIfNull(statistics);
        _s = statistics;
        _tcp = tcp;
        _tcpConnections = tcpConnections;
        _stack = new("netstack.stack.name", stackName);
        string? version = typeof(IpStackMetrics).Assembly.GetName().Version?.ToString();
        if (meterFactory is not null) _meter = meterFactory.Create(new MeterOptions(MeterName) { Version = version });
        else
        {
            _meter = new Meter(MeterName, version);
            _ownsMeter = true;
        }
        _meter.CreateObservableCounter("netstack.link.frames", () => Two(_s.FramesReceived, Receive, _s.FramesTransmitted, Transmit),
            "{frame}", "Link-layer frames received and transmitted");
        _meter.CreateObservableCounter("netstack.link.io", () => Two(_s.BytesReceived, Receive, _s.BytesTransmitted, Transmit),
            "By", "Link-layer bytes received and transmitted");
        _meter.CreateObservableCounter("netstack.packet.dropped", Drops, "{packet}",
            "Frames and packets discarded, by reason (only reasons that occurred are reported)");
        _meter.CreateObservableCounter("netstack.ip.packets", IpPackets, "{packet}", "IP packets received and sent, by family");
        _meter.CreateObservableCounter("netstack.ip.forwarded", () => Gate(
        [
            new(_s.Ipv4PacketsForwarded, _stack, V4),
            new(_s.Ipv6PacketsForwarded, _stack, V6),
        ]), "{packet}", "IP packets forwarded, by family");
        _meter.CreateObservableCounter("netstack.ip.fragments", () => Gate(
        [
            new(_s.FragmentsReassembled, _stack, new("netstack.fragment.operation", "reassemble")),
            new(_s.FragmentsCreated, _stack, new("netstack.fragment.operation", "create")),
        ]), "{packet}", "IP datagrams reassembled from fragments, and fragments created");
        _meter.CreateObservableCounter("netstack.icmp.messages", IcmpMessages, "{message}", "ICMP and ICMPv6 messages received and sent");
        _meter.CreateObservableCounter("netstack.udp.datagrams", () => Gate(
        [
            new(_s.UdpReceived, _stack, Udp, Receive),
            new(_s.UdpSent, _stack, Udp, Transmit),
        ]), "{datagram}", "UDP datagrams received and sent");
        if (tcp is null) return;
        _meter.CreateObservableCounter("netstack.tcp.segments", TcpSegments, "{segment}",
            "TCP segments received and sent, by family (a super-segment counts once)");
        _meter.CreateObservableCounter("netstack.tcp.retransmissions", () => Gate([new(tcp.Retransmissions, _stack, Tcp)]),
            "{segment}", "TCP segments retransmitted (timeout, fast retransmit, RACK, tail loss probe, SYN retries)");
        _meter.CreateObservableCounter("netstack.tcp.timeouts", () => Gate([new(tcp.Timeouts, _stack, Tcp)]),
            "{timeout}", "TCP retransmission timer expirations with data in flight (RFC 6298 §5.4)");
        _meter.CreateObservableCounter("netstack.tcp.opens", () => Gate(
        [
            new(tcp.ActiveOpens, _stack, Tcp, new("netstack.tcp.open", "active")),
            new(tcp.PassiveOpens, _stack, Tcp, new("netstack.tcp.open", "passive")),
        ]), "{connection}", "TCP connections opened: active (SYN sent) and passive (SYN received by a listener)");
        if (tcpConnections is not null)
            _meter.CreateObservableUpDownCounter("netstack.tcp.connection.count", () => Gate([new((long)tcpConnections(), _stack, Tcp)]),
                "{connection}", "TCP connections in the connection table (TIME-WAIT included)");
    }

    /// <summary>The meter (its instruments are published while the stack lives).</summary>
    public Meter Meter => _meter;

    /// <summary>Nothing once disposed: a meter shared through an <see cref="IMeterFactory"/> outlives the stack.</summary>
    private Measurement<long>[] Gate(Measurement<long>[] m) => _disposed ? [] : m;

    private Measurement<long>[] Two(long a, KeyValuePair<string, object?> aTag, long b, KeyValuePair<string, object?> bTag) =>
        Gate([new(a, _stack, aTag), new(b, _stack, bTag)]);

    private IEnumerable<Measurement<long>> Drops()
    {
        if (_disposed) yield break;
        // Only reasons that occurred (76 zero series on every collection would drown the few that matter); a reason's
        // series starts with its first drop, which exporters treat as a new cumulative series starting from 0.
        for (int i = 0; i < s_reasons.Length; i++)
        {
            long n = _s.Drops(s_reasons[i]);
            if (n != 0) yield return new Measurement<long>(n, _stack, new("netstack.drop.reason", s_reasonNames[i]));
        }
    }

    private Measurement<long>[] IpPackets() => Gate(
    [
        new(_s.Ipv4PacketsReceived, _stack, V4, Receive),
        new(_s.Ipv4PacketsSent, _stack, V4, Transmit),
        new(_s.Ipv6PacketsReceived, _stack, V6, Receive),
        new(_s.Ipv6PacketsSent, _stack, V6, Transmit),
    ]);

    private Measurement<long>[] IcmpMessages() => Gate(
    [
        new(_s.IcmpReceived, _stack, V4, Receive),
        new(_s.IcmpSent, _stack, V4, Transmit),
        new(_s.Icmpv6Received, _stack, V6, Receive),
        new(_s.Icmpv6Sent, _stack, V6, Transmit),
    ]);

    private Measurement<long>[] TcpSegments()
    {
        var t = _tcp!;
        return Gate(
        [
            new(t.Ipv4SegmentsReceived, _stack, Tcp, V4, Receive),
            new(t.Ipv4SegmentsSent, _stack, Tcp, V4, Transmit),
            new(t.Ipv6SegmentsReceived, _stack, Tcp, V6, Receive),
            new(t.Ipv6SegmentsSent, _stack, Tcp, V6, Transmit),
        ]);
    }

    /// <summary>Stops reporting, and disposes the meter unless an <see cref="IMeterFactory"/> made it.</summary>
    public void Dispose()
    {
        _disposed = true;
        if (_ownsMeter) _meter.Dispose();
    }
}
