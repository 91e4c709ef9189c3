using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Ping (ICMP Echo, RFC 792; ICMPv6 Echo, RFC 4443 §4) over the network layers' echo endpoints (<see cref="IcmpEchoSocket"/>,
/// <see cref="Icmpv6EchoSession"/>): one request with chosen TTL / hop limit, data size and DF, and the first answer for
/// its sequence number — the reply, or an error quoting the request (time exceeded, unreachable, packet too big) —
/// mapped to a <see cref="PingResult"/>. Arbitrary ICMP probes use <see cref="IcmpProbeSocket"/> instead.
/// </summary>
internal static class Pinger
{
    private const ushort Sequence = 1;

    /// <summary>Sends one echo request and waits up to <paramref name="timeout"/> for its answer.</summary>
    /// <param name="dispatcher">The stack's loop.</param>
    /// <param name="stack">The stack.</param>
    /// <param name="address">The target.</param>
    /// <param name="timeout">How long to wait for an answer.</param>
    /// <param name="ttl">TTL / hop limit of the request (0 = the stack's default).</param>
    /// <param name="payloadSize">Echo data bytes (32 like Windows ping and .NET's Ping).</param>
    /// <param name="dontFragment">IPv4: set DF; IPv6: refuse rather than fragment at the source.</param>
    /// <param name="cancellationToken">Cancels the wait (<see cref="OperationCanceledException"/>).</param>
    public static async Task<PingResult> PingAsync(IStackDispatcher dispatcher, IServiceContext stack, IPAddress address, TimeSpan timeout,
        int ttl = 0, int payloadSize = 32, bool dontFragment = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(payloadSize, 65_500);
        ArgumentOutOfRangeException.ThrowIfNegative(ttl);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ttl, 255);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var target = IpAddress.FromIPAddress(address);
        var data = new byte[payloadSize];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)('a' + i % 23); // the pattern Windows ping sends

        var completion = new TaskCompletionSource<PingResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        IDisposable? endpoint = null;
        await dispatcher.InvokeAsync(() =>
        {
            var now = dispatcher.Now;
            IpSendResult sent;
            if (target.IsV4)
            {
                var socket = new IcmpEchoSocket(stack);
                endpoint = socket;
                socket.Readable = s =>
                {
                    while (s.TryReceive(out var r))
                        if (r.Sequence == Sequence) completion.TrySetResult(FromV4(r));
                };
                sent = socket.SendEcho(target.V4, Sequence, data, now, (byte)ttl, dontFragment);
            }
            else
            {
                // RFC 8200 §5: without source fragmentation a request larger than the path MTU cannot leave.
                if (dontFragment && IcmpProbeMessage.HeaderLength + data.Length > stack.MaxTransportPayload(target))
                {
                    completion.TrySetResult(new PingResult(PingStatus.PacketTooBig, null, TimeSpan.Zero, 0, Sequence: Sequence));
                    return true;
                }
                var session = stack.Ipv6.OpenEcho((ushort)stack.Random.Next(65536), 16);
                endpoint = session;
                session.Readable += s =>
                {
                    while (s.TryReceive(out var r))
                        if (r.Sequence == Sequence) completion.TrySetResult(FromV6(r));
                };
                sent = session.Send(target.V6, Sequence, data, now, (byte)ttl);
            }
            dispatcher.Wake();
            switch (sent)
            {
                case IpSendResult.Sent:
                    break;
                case IpSendResult.TooBig:
                    completion.TrySetResult(new PingResult(PingStatus.PacketTooBig, null, TimeSpan.Zero, 0, Sequence: Sequence));
                    break;
                case IpSendResult.NoRoute or IpSendResult.NoSourceAddress:
                    completion.TrySetResult(new PingResult(PingStatus.NoRoute, null, TimeSpan.Zero, 0, Sequence: Sequence));
                    break;
                default:
                    throw new SocketException((int)SocketError.NoBufferSpaceAvailable);
            }
            return true;
        }, cancellationToken).ConfigureAwait(false);

        try
        {
            return await completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new PingResult(PingStatus.TimedOut, null, TimeSpan.Zero, 0, Sequence: Sequence);
        }
        finally
        {
            if (endpoint is not null)
            {
                try
                {
                    dispatcher.Post(endpoint.Dispose);
                }
                catch (ObjectDisposedException)
                {
                    // the loop has stopped: nothing reads the endpoint any more
                }
            }
        }
    }

    private static PingResult FromV4(in IcmpEchoResult r)
    {
        var rtt = r.RoundTripTime ?? TimeSpan.Zero;
        var from = r.From.ToIPAddress();
        if (r.Kind == IcmpEchoResultKind.Reply)
            return new PingResult(PingStatus.Success, from, rtt, r.Ttl, Sequence: r.Sequence, DataLength: r.PayloadLength);
        var e = r.Error;
        var status = (Icmpv4Type)e.Type switch
        {
            Icmpv4Type.TimeExceeded => PingStatus.TtlExpired,
            // RFC 1191 §4: Fragmentation Needed and DF set carries the next-hop MTU.
            Icmpv4Type.DestinationUnreachable when e.Code == (byte)Icmpv4UnreachableCode.FragmentationNeeded => PingStatus.PacketTooBig,
            Icmpv4Type.ParameterProblem => PingStatus.ParameterProblem,
            _ => PingStatus.DestinationUnreachable,
        };
        int mtu = status == PingStatus.PacketTooBig ? (int)e.Parameter : 0;
        return new PingResult(status, from, rtt, r.Ttl, e.Code, mtu, r.Sequence);
    }

    private static PingResult FromV6(in Icmpv6EchoResult r)
    {
        var from = r.From.ToIPAddress();
        if (!r.IsError)
            return new PingResult(PingStatus.Success, from, r.RoundTrip, r.HopLimit, Sequence: r.Sequence, DataLength: r.DataLength);
        var status = (Icmpv6Type)r.ErrorType switch
        {
            Icmpv6Type.TimeExceeded => PingStatus.TtlExpired,
            Icmpv6Type.PacketTooBig => PingStatus.PacketTooBig,
            Icmpv6Type.ParameterProblem => PingStatus.ParameterProblem,
            _ => PingStatus.DestinationUnreachable,
        };
        int mtu = status == PingStatus.PacketTooBig ? (int)r.ErrorParameter : 0;
        return new PingResult(status, from, r.RoundTrip, r.HopLimit, r.ErrorCode, mtu, r.Sequence);
    }
}
