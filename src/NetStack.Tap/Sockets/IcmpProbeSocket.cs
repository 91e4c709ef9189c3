using System.Buffers;
using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>What <see cref="IcmpProbeSocket.SendAsync"/> did: the source address used and when the probe left.</summary>
public readonly record struct IcmpProbeSent(IPAddress Source, Instant SentAt);

/// <summary>
/// A raw ICMP (IPv4) or ICMPv6 probe socket for measurement tools (ping, traceroute): it sends any ICMP message
/// with chosen TTL / hop limit, DF, traffic class and flow label, and receives the ICMP messages that reach the
/// stack — echo replies and errors quoting what we sent, decoded for matching (<see cref="IcmpProbeReply"/>).
/// A filter, run on the stack's loop, keeps only the messages of interest (<see cref="EchoFilter"/> keeps the
/// replies and errors of one echo identifier). Built over the core's <see cref="RawSocket"/>; the receive queue is
/// bounded (overflow counted by the raw socket).
/// </summary>
public sealed class IcmpProbeSocket : IAsyncDisposable, IDisposable, ILoopClosable
{
    private readonly IStackDispatcher _dispatcher;
    private readonly IServiceContext _stack;
    private readonly RawSocket _raw;
    private readonly Func<IcmpProbeReply, bool>? _filter;
    private readonly Queue<IcmpProbeReply> _replies = new();
    private readonly Queue<TaskCompletionSource<IcmpProbeReply>> _waiters = new();
    private readonly int _capacity;
    private readonly OpenSockets? _owner;
    private volatile bool _disposed;
    private bool _closed;

    private IcmpProbeSocket(IStackDispatcher dispatcher, IServiceContext stack, IpVersion version, Func<IcmpProbeReply, bool>? filter, int capacity,
        OpenSockets? owner)
    {
        _owner = owner;
        _dispatcher = dispatcher;
        _stack = stack;
        _filter = filter;
        _capacity = capacity;
        Version = version;
        _raw = stack.OpenRawSocket(version, version == IpVersion.V4 ? IpProtocol.Icmp : IpProtocol.Icmpv6, capacity);
        _raw.Readable += OnReadable;
    }

    /// <summary>Opens a probe socket for one family on the stack's loop.</summary>
    /// <param name="dispatcher">The stack's loop.</param>
    /// <param name="stack">The stack (touched on the loop only).</param>
    /// <param name="family"><see cref="AddressFamily.InterNetwork"/> (ICMP) or <see cref="AddressFamily.InterNetworkV6"/> (ICMPv6).</param>
    /// <param name="filter">Keeps the messages it returns true for (runs on the loop); null keeps every message.</param>
    /// <param name="capacity">Messages held before new ones are dropped.</param>
    /// <param name="owner">The stack's open sockets (it closes them when it stops).</param>
    /// <param name="cancellationToken">Cancels the opening.</param>
    internal static Task<IcmpProbeSocket> OpenAsync(IStackDispatcher dispatcher, IServiceContext stack, AddressFamily family,
        Func<IcmpProbeReply, bool>? filter, int capacity, OpenSockets? owner, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(stack);
        var version = family switch
        {
            AddressFamily.InterNetwork => IpVersion.V4,
            AddressFamily.InterNetworkV6 => IpVersion.V6,
            _ => throw new ArgumentOutOfRangeException(nameof(family), family, "IPv4 or IPv6 only."),
        };
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return dispatcher.InvokeAsync(() =>
        {
            if (owner is { IsClosed: true }) throw new SocketException((int)SocketError.OperationAborted);
            var socket = new IcmpProbeSocket(dispatcher, stack, version, filter, capacity, owner);
            return owner is null ? socket : owner.Add(socket);
        }, cancellationToken);
    }

    /// <summary>Keeps the echo replies with <paramref name="identifier"/> and the errors quoting our echo requests with it.</summary>
    public static Func<IcmpProbeReply, bool> EchoFilter(ushort identifier) =>
        r => r.Identifier == identifier && (r.Kind == IcmpProbeReplyKind.EchoReply || r.QuotesEcho);

    /// <summary>The family this socket sends and receives.</summary>
    public IpVersion Version { get; }

    /// <summary>
    /// Sends <paramref name="message"/> to <paramref name="destination"/> with per-probe IP controls (TTL / hop limit,
    /// DF, traffic class, flow label, interface). The source is <paramref name="source"/>, or chosen by the stack.
    /// Errors are <see cref="SocketException"/>s as for UDP sends.
    /// </summary>
    public async ValueTask<IcmpProbeSent> SendAsync(IPAddress destination, IcmpProbeMessage message, IpSendOptions options = default,
        IPAddress? source = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var dst = IpAddress.FromIPAddress(destination);
        if (dst.Version != Version) throw new ArgumentException($"This probe socket is for {Version}.", nameof(destination));
        IpAddress? chosen = source is null ? null : IpAddress.FromIPAddress(source);
        var (result, src, at) = await _dispatcher.InvokeAsync(() =>
        {
            if (_closed) throw new ObjectDisposedException(nameof(IcmpProbeSocket));
            var now = _dispatcher.Now;
            var s = chosen ?? default;
            if (chosen is null && !_stack.TrySelectSource(dst, out s)) return (IpSendResult.NoSourceAddress, s, now);
            var buffer = ArrayPool<byte>.Shared.Rent(message.Length);
            try
            {
                int n = message.Write(buffer, s, dst);
                var r = _raw.Send(s, dst, buffer.AsSpan(0, n), options, now);
                if (r == IpSendResult.Sent)
                {
                    if (Version == IpVersion.V4) _stack.Statistics.IcmpSent++;
                    else _stack.Statistics.Icmpv6Sent++;
                }
                _dispatcher.Wake();
                return (r, s, now);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, cancellationToken).ConfigureAwait(false);
        return result switch
        {
            IpSendResult.Sent => new IcmpProbeSent(src.ToIPAddress(), at),
            IpSendResult.NoRoute => throw new SocketException((int)SocketError.NetworkUnreachable),
            IpSendResult.NoSourceAddress => throw new SocketException((int)SocketError.AddressNotAvailable),
            IpSendResult.TooBig => throw new SocketException((int)SocketError.MessageSize),
            _ => throw new SocketException((int)SocketError.NoBufferSpaceAvailable),
        };
    }

    /// <summary>Sends an Echo Request with <paramref name="identifier"/> and <paramref name="sequence"/>.</summary>
    public ValueTask<IcmpProbeSent> SendEchoAsync(IPAddress destination, ushort identifier, ushort sequence, ReadOnlyMemory<byte> data,
        IpSendOptions options = default, CancellationToken cancellationToken = default) =>
        SendAsync(destination, IcmpProbeMessage.EchoRequest(Version, identifier, sequence, data), options, null, cancellationToken);

    /// <summary>The next message kept by the filter. Cancelled by the token; fails with <see cref="SocketError.OperationAborted"/> on disposal.</summary>
    public async ValueTask<IcmpProbeReply> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<IcmpProbeReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        await _dispatcher.InvokeAsync(() =>
        {
            if (_closed) tcs.TrySetException(new SocketException((int)SocketError.OperationAborted));
            else if (_replies.TryDequeue(out var r)) tcs.TrySetResult(r);
            else _waiters.Enqueue(tcs);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (tcs.Task.IsCompleted) return await tcs.Task.ConfigureAwait(false);
        using (cancellationToken.Register(() =>
        {
            try
            {
                _dispatcher.Post(() =>
                {
                    if (tcs.TrySetCanceled(cancellationToken)) Remove(tcs);
                });
            }
            catch (ObjectDisposedException)
            {
                tcs.TrySetCanceled(cancellationToken);
            }
        }))
        {
            return await tcs.Task.ConfigureAwait(false);
        }
    }

    private void OnReadable(RawSocket raw)
    {
        while (raw.TryReceive(out var datagram))
        {
            if (!IcmpProbeReply.TryDecode(datagram, out var reply)) continue;
            if (_filter is not null && !_filter(reply)) continue;
            while (_waiters.TryDequeue(out var w))
            {
                if (w.TrySetResult(reply)) { reply = null; break; }
            }
            if (reply is null) continue;
            if (_replies.Count >= _capacity) _replies.Dequeue();
            _replies.Enqueue(reply);
        }
    }

    private void Remove(TaskCompletionSource<IcmpProbeReply> item)
    {
        int n = _waiters.Count;
        for (int i = 0; i < n; i++)
        {
            var x = _waiters.Dequeue();
            if (!ReferenceEquals(x, item)) _waiters.Enqueue(x);
        }
    }

    /// <summary>Closes the socket (on the loop); pending receives fail with OperationAborted.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_dispatcher.IsOnLoopThread) { Close(); return; }
        try
        {
            await _dispatcher.InvokeAsync(() => { Close(); return true; }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or OperationCanceledException)
        {
            Close();
        }
    }

    /// <summary>As <see cref="DisposeAsync"/>, without waiting for the loop.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _dispatcher.RunOnLoop(Close);
    }

    void ILoopClosable.CloseOnLoop()
    {
        _disposed = true;
        Close();
    }

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        _owner?.Remove(this);
        _raw.Readable -= OnReadable;
        _raw.Dispose();
        _replies.Clear();
        while (_waiters.TryDequeue(out var w)) w.TrySetException(new SocketException((int)SocketError.OperationAborted));
    }
}
