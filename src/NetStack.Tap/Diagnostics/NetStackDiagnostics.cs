using System.Diagnostics;

namespace NetStack.Tap;

/// <summary>
/// The names under which a stack reports itself, for OpenTelemetry (<c>AddSource("NetStack")</c>, <c>AddMeter("NetStack")</c>),
/// an <see cref="ActivityListener"/> or <c>dotnet-counters</c>. See docs/observability.md.
/// <para>Activities of the "NetStack" <see cref="ActivitySource"/> (none is created while nothing listens):</para>
/// <list type="bullet">
/// <item><c>netstack.tcp.connect</c> (client): an active open, from the call until the handshake completes or fails
/// (status Error, <c>error.type</c> = the <see cref="System.Net.Sockets.SocketError"/> name); a
/// <c>netstack.tcp.rto</c> event for each SYN retransmission timeout.</item>
/// <item><c>netstack.tcp.accept</c> (server): a connection taken from a listener by <c>AcceptAsync</c>.</item>
/// <item><c>netstack.tcp.connection</c> (client or server): an established connection's life, a sibling of the connect or
/// accept activity, with a <c>netstack.tcp.rto</c> event (attribute <c>netstack.tcp.rto.count</c>: consecutive expirations)
/// for each retransmission timeout, and ended by a <c>netstack.tcp.close</c> event (graceful close) or a
/// <c>netstack.tcp.abort</c> event (RST sent or received, timeout; status Error with <c>error.type</c> when the
/// connection failed).</item>
/// </list>
/// Each carries <c>network.transport</c> = <c>tcp</c>, <c>network.type</c> = <c>ipv4</c> / <c>ipv6</c>,
/// <c>network.local.address</c>, <c>network.local.port</c>, <c>network.peer.address</c> and <c>network.peer.port</c>.
/// </summary>
public static class NetStackDiagnostics
{
    /// <summary>The name of the <see cref="ActivitySource"/>.</summary>
    public const string ActivitySourceName = "NetStack";

    /// <summary>The name of the meter (<see cref="IpStackMetrics.MeterName"/>).</summary>
    public const string MeterName = IpStackMetrics.MeterName;

    internal static readonly ActivitySource Source = new(ActivitySourceName, typeof(NetStackDiagnostics).Assembly.GetName().Version?.ToString());
}
