using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Ping (ICMP Echo, RFC 792; ICMPv6 Echo, RFC 4443 §4) over the network layers' echo endpoint (<see cref="IcmpEchoSocket"/>,
/// of either family): one request with chosen TTL / hop limit, data size and DF, and the first answer for
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
    /// <param name="open">The owner's open sockets: closing them (the stack stopping) ends the wait with
    /// <see cref="SocketError.OperationAborted"/>, as on a socket closed under a pending operation.</param>
    public static async Task<PingResult> PingAsync(IStackDispatcher dispatcher, IServiceContext stack, IPAddress address, TimeSpan timeout,
        int ttl = 0, int payloadSize = 32, bool dontFragment = false, CancellationToken cancellationToken = default, OpenSockets? open = null)
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
        var pending = new PendingPing(completion);
        try
        {
            await dispatcher.InvokeAsync(() => Start(dispatcher, stack, target, pending, open, data, ttl, dontFragment), cancellationToken)
                .ConfigureAwait(false);
            return await completion.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return new PingResult(PingStatus.TimedOut, null, TimeSpan.Zero, 0, Sequence: Sequence);
        }
        finally
        {
            Forget(dispatcher, open, pending); // after Start on the loop, which runs work in order
        }
    }

    /// <summary>On the loop: registers the ping with its owner, opens the echo endpoint and sends the request.</summary>
    private static bool Start(IStackDispatcher dispatcher, IServiceContext stack, IpAddress target, PendingPing pending, OpenSockets? open,
        byte[] data, int ttl, bool dontFragment)
    {
        var completion = pending.Completion;
        open?.Add(pending); // a stopped owner refuses it (OperationAborted)
        var now = dispatcher.Now;
        // RFC 8200 §5: without source fragmentation a request larger than the path MTU cannot leave.
        if (target.IsV6 && dontFragment && IcmpProbeMessage.HeaderLength + data.Length > stack.MaxTransportPayload(target))
        {
            completion.TrySetResult(new PingResult(PingStatus.PacketTooBig, null, TimeSpan.Zero, 0, Sequence: Sequence));
            return true;
        }
        var socket = new IcmpEchoSocket(stack, target.Version);
        pending.Endpoint = socket;
        socket.Readable = s =>
        {
            while (s.TryReceive(out var r))
                if (r.Sequence == Sequence) completion.TrySetResult(FromResult(r));
        };
        var sent = socket.SendEcho(target, Sequence, data, now, (byte)ttl, dontFragment);
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
    }

    /// <summary>Closes the echo endpoint and forgets the ping, on the loop (nothing to do once the loop has stopped).</summary>
    private static void Forget(IStackDispatcher dispatcher, OpenSockets? open, PendingPing pending)
    {
        try
        {
            dispatcher.Post(() =>
            {
                open?.Remove(pending);
                pending.Close();
            });
        }
        catch (ObjectDisposedException)
        {
            // the loop has stopped: nothing reads the endpoint any more
        }
    }

    /// <summary>One ping in flight, as its owner's open sockets see it: closing it disposes the echo endpoint and fails the wait.</summary>
    private sealed class PendingPing(TaskCompletionSource<PingResult> completion) : ILoopClosable
    {
        private bool _closed;

        /// <summary>Where the answer goes.</summary>
        public TaskCompletionSource<PingResult> Completion { get; } = completion;

        /// <summary>The echo endpoint (loop only).</summary>
        public IDisposable? Endpoint { get; set; }

        /// <summary>Disposes the endpoint once (loop only).</summary>
        public void Close()
        {
            if (_closed) return;
            _closed = true;
            Endpoint?.Dispose();
        }

        void ILoopClosable.CloseOnLoop()
        {
            Close();
            Completion.TrySetException(new SocketException((int)SocketError.OperationAborted));
        }
    }

    private static PingResult FromResult(in IcmpEchoResult r)
    {
        var rtt = r.RoundTripTime ?? TimeSpan.Zero;
        var from = r.From.ToIPAddress();
        if (r.Kind == IcmpEchoResultKind.Reply)
            return new PingResult(PingStatus.Success, from, rtt, r.Ttl, Sequence: r.Sequence, DataLength: r.PayloadLength);
        var e = r.Error;
        var status = r.From.IsV4 ? StatusOfIcmpv4(e) : StatusOfIcmpv6(e);
        int mtu = status == PingStatus.PacketTooBig ? (int)e.Parameter : 0;
        return new PingResult(status, from, rtt, r.Ttl, e.Code, mtu, r.Sequence);
    }

    private static PingStatus StatusOfIcmpv4(in IcmpErrorInfo e) => (Icmpv4Type)e.Type switch
    {
        Icmpv4Type.TimeExceeded => PingStatus.TtlExpired,
        // RFC 1191 §4: Fragmentation Needed and DF set carries the next-hop MTU.
        Icmpv4Type.DestinationUnreachable when e.Code == (byte)Icmpv4UnreachableCode.FragmentationNeeded => PingStatus.PacketTooBig,
        Icmpv4Type.ParameterProblem => PingStatus.ParameterProblem,
        _ => PingStatus.DestinationUnreachable,
    };

    private static PingStatus StatusOfIcmpv6(in IcmpErrorInfo e) => (Icmpv6Type)e.Type switch
    {
        Icmpv6Type.TimeExceeded => PingStatus.TtlExpired,
        Icmpv6Type.PacketTooBig => PingStatus.PacketTooBig,
        Icmpv6Type.ParameterProblem => PingStatus.ParameterProblem,
        _ => PingStatus.DestinationUnreachable,
    };
}
