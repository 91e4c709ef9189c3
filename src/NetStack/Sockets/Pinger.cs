using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Ping (ICMP Echo, RFC 792; ICMPv6 Echo, RFC 4443 §4) over an <see cref="IcmpProbeSocket"/>: one request with chosen
/// TTL / hop limit, data size and DF, and the first matching answer — the reply, or an error quoting the request
/// (time exceeded, unreachable, packet too big) — mapped to a <see cref="PingResult"/>.
/// </summary>
public static class Pinger
{
    /// <summary>Sends one echo request and waits up to <paramref name="timeout"/> for its answer.</summary>
    /// <param name="dispatcher">The stack's loop.</param>
    /// <param name="stack">The stack.</param>
    /// <param name="address">The target.</param>
    /// <param name="timeout">How long to wait for an answer.</param>
    /// <param name="ttl">TTL / hop limit of the request (0 = the stack's default).</param>
    /// <param name="payloadSize">Echo data bytes (ping's -s; 32 like Windows ping and .NET's Ping).</param>
    /// <param name="dontFragment">IPv4: set DF; IPv6: never fragment at the source.</param>
    /// <param name="cancellationToken">Cancels the wait (<see cref="OperationCanceledException"/>).</param>
    public static async Task<PingResult> PingAsync(IStackDispatcher dispatcher, NetworkStack stack, IPAddress address, TimeSpan timeout,
        int ttl = 0, int payloadSize = 32, bool dontFragment = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payloadSize, 65_500);
        ArgumentOutOfRangeException.ThrowIfNegative(ttl);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ttl, 255);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        // RFC 792: the identifier tells our requests from others'; drawn from the stack's random source on its loop.
        ushort id = (ushort)await dispatcher.InvokeAsync(() => stack.Random.Next(65536), cancellationToken).ConfigureAwait(false);
        const ushort sequence = 1;
        var data = new byte[payloadSize];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)('a' + i % 23); // the pattern Windows ping sends
        var options = new IpSendOptions(ttl: (byte)ttl, dontFragment: dontFragment);

        await using var socket = await IcmpProbeSocket.OpenAsync(dispatcher, stack, address.AddressFamily,
            IcmpProbeSocket.EchoFilter(id), 16, cancellationToken).ConfigureAwait(false);
        IcmpProbeSent sent;
        try
        {
            sent = await socket.SendEchoAsync(address, id, sequence, data, options, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.MessageSize)
        {
            return new PingResult(PingStatus.PacketTooBig, null, TimeSpan.Zero, 0, Sequence: sequence);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.NetworkUnreachable or SocketError.AddressNotAvailable)
        {
            return new PingResult(PingStatus.NoRoute, null, TimeSpan.Zero, 0, Sequence: sequence);
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        while (true)
        {
            IcmpProbeReply reply;
            try
            {
                reply = await socket.ReceiveAsync(timer.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new PingResult(PingStatus.TimedOut, null, TimeSpan.Zero, 0, Sequence: sequence);
            }
            if (reply.Sequence != sequence) continue;
            var rtt = reply.ReceivedAt - sent.SentAt;
            if (rtt < TimeSpan.Zero) rtt = TimeSpan.Zero;
            if (reply.Kind == IcmpProbeReplyKind.EchoReply)
            {
                // RFC 792 / RFC 4443 §4.2: only the target answers with an echo reply; a reply from elsewhere is not ours.
                if (!reply.From.Equals(address) && !IsMulticastOrBroadcast(address)) continue;
                return new PingResult(PingStatus.Success, reply.From, rtt, reply.Ttl, Sequence: sequence,
                    DataLength: reply.Message.Length - IcmpProbeMessage.HeaderLength);
            }
            // An error quoting our request: the router (or target) that reported it.
            if (reply.QuotedDestination is { } qd && !qd.Equals(address)) continue;
            return new PingResult(StatusOf(reply), reply.From, rtt, reply.Ttl, reply.Code, reply.Mtu, sequence);
        }
    }

    private static bool IsMulticastOrBroadcast(IPAddress a)
    {
        var ip = IpAddress.FromIPAddress(a);
        return ip.IsMulticast || ip.IsV4 && ip.V4.IsBroadcast;
    }

    private static PingStatus StatusOf(IcmpProbeReply r)
    {
        if (r.From.AddressFamily == AddressFamily.InterNetwork)
        {
            return (Icmpv4Type)r.Type switch
            {
                Icmpv4Type.TimeExceeded => PingStatus.TtlExpired,
                Icmpv4Type.DestinationUnreachable when r.Code == (byte)Icmpv4UnreachableCode.FragmentationNeeded => PingStatus.PacketTooBig,
                Icmpv4Type.DestinationUnreachable => PingStatus.DestinationUnreachable,
                Icmpv4Type.ParameterProblem => PingStatus.ParameterProblem,
                _ => PingStatus.DestinationUnreachable,
            };
        }
        return (Icmpv6Type)r.Type switch
        {
            Icmpv6Type.TimeExceeded => PingStatus.TtlExpired,
            Icmpv6Type.PacketTooBig => PingStatus.PacketTooBig,
            Icmpv6Type.DestinationUnreachable => PingStatus.DestinationUnreachable,
            Icmpv6Type.ParameterProblem => PingStatus.ParameterProblem,
            _ => PingStatus.DestinationUnreachable,
        };
    }
}
