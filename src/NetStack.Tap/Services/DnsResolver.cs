using System.Net;
using System.Net.Sockets;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// The DNS stub resolver of a stack (RFC 1035, RFC 3596): A, AAAA and PTR lookups over the stack's own UDP, with
/// the retries, per-server timeouts, server rotation, reply matching (RFC 5452) and TTL cache of
/// <see cref="DnsResolverEngine"/>. Servers come from configuration, DHCPv4 option 6 or IPv6 RDNSS (RFC 8106) through
/// <see cref="SetServersAsync"/>. Failures surface as <see cref="DnsResolutionException"/> (a <see cref="SocketException"/>
/// with the code <see cref="Dns.GetHostAddressesAsync(string)"/> uses): HostNotFound, NoData or TryAgain.
/// <para>
/// All protocol work happens on the stack's loop: the resolver is registered with the stack as a pollable component
/// (its timers run in <c>NetworkStack.Poll</c>) and sends from one ephemeral UDP port per family.
/// A truncated answer (TC) is asked again over TCP (RFC 7766 §5, RFC 1035 §4.2.2) when <see cref="TcpConnect"/> is set,
/// and fails with TryAgain otherwise.
/// </para>
/// </summary>
internal sealed class DnsResolver : IPollable, IAsyncDisposable
{
    private const int DnsPort = 53;

    private readonly IStackDispatcher _dispatcher;
    private readonly IServiceContext _stack;
    private readonly UdpLayer _udp;
    private readonly Dictionary<(DnsResolverEngine, DnsQueryHandle), TaskCompletionSource<DnsResult>> _pending = [];
    private readonly List<DnsResolverEngine> _retired = [];
    private readonly byte[] _receiveBuffer = new byte[65535];
    private DnsResolverOptions _options;
    private DnsResolverEngine _engine;
    private UdpSocket? _v4Socket, _v6Socket;
    private volatile IReadOnlyList<IPAddress> _servers;
    private bool _closed;

    /// <summary>
    /// Creates a resolver. Call on the stack's loop, or before the loop runs (the stack is not thread-safe);
    /// <see cref="CreateAsync"/> does this for you.
    /// </summary>
    public DnsResolver(IStackDispatcher dispatcher, IServiceContext stack, UdpLayer udp, DnsResolverOptions options)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(udp);
        ArgumentNullException.ThrowIfNull(options);
        _dispatcher = dispatcher;
        _stack = stack;
        _udp = udp;
        _options = options;
        _engine = new DnsResolverEngine(options, stack.Random);
        _servers = options.Servers.Select(s => s.ToIPAddress()).ToArray();
        stack.RegisterPollable(this);
    }

    /// <summary>Creates a resolver on the stack's loop.</summary>
    public static Task<DnsResolver> CreateAsync(IStackDispatcher dispatcher, IServiceContext stack, UdpLayer udp, DnsResolverOptions options,
        CancellationToken cancellationToken = default) =>
        dispatcher.InvokeAsync(() => new DnsResolver(dispatcher, stack, udp, options), cancellationToken);

    /// <summary>
    /// Opens a TCP connection to a DNS server, for answers that came back truncated over UDP (RFC 7766 §5). Null: no
    /// retry over TCP (the stack sets it when it has a TCP socket API).
    /// </summary>
    public Func<IPEndPoint, CancellationToken, Task<Stream>>? TcpConnect { get; set; }

    /// <summary>The recursive servers queried, in order (readable from any thread).</summary>
    public IReadOnlyList<IPAddress> Servers => _servers;

    /// <summary>
    /// Replaces the server list (from DHCPv4 option 6, RDNSS or configuration). Queries in flight finish on the old list;
    /// the cache starts empty (answers from other servers are not assumed to agree).
    /// </summary>
    public Task SetServersAsync(IEnumerable<IPAddress> servers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var list = servers.Select(s => IpAddress.FromIPAddress(s.IsIPv4MappedToIPv6 ? s.MapToIPv4() : s)).Distinct().ToArray();
        return _dispatcher.InvokeAsync(() => { SetServers(list); return true; }, cancellationToken);
    }

    /// <summary>As <see cref="SetServersAsync"/>, on the loop thread.</summary>
    public void SetServers(IReadOnlyList<IpAddress> servers)
    {
        if (_closed || servers.SequenceEqual(_options.Servers)) return;
        if (_engine.Outstanding > 0) _retired.Add(_engine);
        _options = _options with { Servers = servers };
        _engine = new DnsResolverEngine(_options, _stack.Random);
        _servers = servers.Select(s => s.ToIPAddress()).ToArray();
    }

    /// <summary>
    /// One query for <paramref name="name"/> and <paramref name="type"/>, answered from the cache when it can. The result
    /// carries the outcome (it does not throw for NXDOMAIN or a timeout; the lookup methods below do).
    /// </summary>
    public async Task<DnsResult> QueryAsync(string name, DnsType type, CancellationToken cancellationToken = default)
    {
        var result = await QueryUdpAsync(name, type, cancellationToken).ConfigureAwait(false);
        if (result.Status == DnsQueryStatus.Truncated && TcpConnect is { } connect)
            result = await QueryTcpAsync(name, type, result, connect, cancellationToken).ConfigureAwait(false);
        return result;
    }

    private async Task<DnsResult> QueryUdpAsync(string name, DnsType type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        cancellationToken.ThrowIfCancellationRequested();
        var tcs = new TaskCompletionSource<DnsResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (engine, handle) = await _dispatcher.InvokeAsync(() =>
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            var now = _dispatcher.Now;
            var e = _engine;
            var h = e.StartQuery(name, type, now);
            _pending[(e, h)] = tcs;
            Pump(now);
            _dispatcher.Wake();
            return (e, h);
        }, cancellationToken).ConfigureAwait(false);
        if (tcs.Task.IsCompleted) return await tcs.Task.ConfigureAwait(false);
        using (cancellationToken.Register(() =>
        {
            try
            {
                _dispatcher.Post(() =>
                {
                    if (!tcs.TrySetCanceled(cancellationToken)) return;
                    _pending.Remove((engine, handle));
                    engine.Cancel(handle);
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

    /// <summary>
    /// RFC 7766 §5: the query again over TCP, to each server in turn, each within the per-server timeout. The message
    /// is built and the answer checked (id, question; RFC 5452) by a one-query engine for that server; RFC 1035 §4.2.2:
    /// every message on the stream is preceded by its two-byte length.
    /// </summary>
    private async Task<DnsResult> QueryTcpAsync(string name, DnsType type, DnsResult truncated,
        Func<IPEndPoint, CancellationToken, Task<Stream>> connect, CancellationToken cancellationToken)
    {
        var options = _options;
        foreach (var server in options.Servers)
        {
            var (engine, query) = await _dispatcher.InvokeAsync(() =>
            {
                var e = new DnsResolverEngine(options with { Servers = [server], Attempts = 1, CacheCapacity = 0 }, _stack.Random);
                e.StartQuery(name, type, _dispatcher.Now);
                return (e, e.TryDequeueOutgoing(out var o) ? o.Payload.ToArray() : null);
            }, cancellationToken).ConfigureAwait(false);
            if (query is null) continue;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            byte[] answer;
            try
            {
                var stream = await connect(new IPEndPoint(server.ToIPAddress(), DnsPort), timeout.Token).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var prefix = new byte[2];
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)query.Length);
                    await stream.WriteAsync(prefix, timeout.Token).ConfigureAwait(false);
                    await stream.WriteAsync(query, timeout.Token).ConfigureAwait(false);
                    await stream.FlushAsync(timeout.Token).ConfigureAwait(false);
                    await stream.ReadExactlyAsync(prefix, timeout.Token).ConfigureAwait(false);
                    answer = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await stream.ReadExactlyAsync(answer, timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                continue; // this server cannot answer over TCP in time: the next one may
            }
            var result = await _dispatcher.InvokeAsync(() =>
            {
                engine.Receive(server, answer, _dispatcher.Now);
                return engine.TryDequeueResult(out var r) ? r : null;
            }, cancellationToken).ConfigureAwait(false);
            if (result is not null && result.Status != DnsQueryStatus.Truncated) return result;
        }
        return truncated;
    }

    /// <summary>
    /// The addresses of <paramref name="hostName"/> (A and AAAA records, or the literal when it is an address), like
    /// <see cref="Dns.GetHostAddressesAsync(string, AddressFamily, CancellationToken)"/>. Addresses of a family the stack
    /// can reach come first, IPv6 before IPv4 (RFC 6724 §6 rule 6 in spirit). Throws <see cref="DnsResolutionException"/>
    /// when neither family gave an address.
    /// </summary>
    public async Task<IPAddress[]> GetHostAddressesAsync(string hostName, AddressFamily family = AddressFamily.Unspecified,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hostName);
        if (family is not (AddressFamily.Unspecified or AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
            throw new ArgumentOutOfRangeException(nameof(family), family, "Unspecified, InterNetwork or InterNetworkV6.");
        if (IPAddress.TryParse(hostName, out var literal))
        {
            return family == AddressFamily.Unspecified || literal.AddressFamily == family
                ? [literal]
                : throw new DnsResolutionException(hostName, family == AddressFamily.InterNetwork ? DnsType.A : DnsType.AAAA,
                    DnsQueryStatus.NoData, DnsRcode.NoError, $"{hostName} is an address of the other family.");
        }
        var queries = new List<Task<DnsResult>>(2);
        if (family != AddressFamily.InterNetworkV6) queries.Add(QueryAsync(hostName, DnsType.A, cancellationToken));
        if (family != AddressFamily.InterNetwork) queries.Add(QueryAsync(hostName, DnsType.AAAA, cancellationToken));
        var results = await Task.WhenAll(queries).ConfigureAwait(false);
        var addresses = results.Where(r => r.Status == DnsQueryStatus.Success).SelectMany(r => r.Addresses).Distinct().ToList();
        if (addresses.Count == 0) throw Failure(hostName, results);
        var order = await _dispatcher.InvokeAsync(() => addresses
            .OrderBy(a => _stack.TrySelectSource(a, out _) ? 0 : 1)
            .ThenBy(a => a.IsV6 ? 0 : 1)
            .Select(a => a.ToIPAddress())
            .ToArray(), cancellationToken).ConfigureAwait(false);
        return order;
    }

    /// <summary>Same as <see cref="GetHostAddressesAsync"/> for both families.</summary>
    public Task<IPAddress[]> ResolveAsync(string hostName, CancellationToken cancellationToken = default) =>
        GetHostAddressesAsync(hostName, AddressFamily.Unspecified, cancellationToken);

    /// <summary>
    /// The name of <paramref name="address"/> from its PTR record (in-addr.arpa, RFC 1035 §3.5; ip6.arpa, RFC 3596 §2.5),
    /// like the host name of <see cref="Dns.GetHostEntryAsync(IPAddress)"/>. Throws <see cref="DnsResolutionException"/> when there is none.
    /// </summary>
    public async Task<string> ReverseAsync(IPAddress address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var name = DnsReverseName.For(IpAddress.FromIPAddress(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
        var r = await QueryAsync(name, DnsType.PTR, cancellationToken).ConfigureAwait(false);
        if (r.Status == DnsQueryStatus.Success && r.Names.Count > 0) return r.Names[0].TrimEnd('.');
        throw Failure(name, [r]);
    }

    private DnsResolutionException Failure(string name, DnsResult[] results)
    {
        // The most telling outcome wins: a name that does not exist, then one without such records, then the failures.
        var worst = results.FirstOrDefault(r => r.Status == DnsQueryStatus.NameError)
            ?? results.FirstOrDefault(r => r.Status == DnsQueryStatus.NoData && results.All(x => x.Status is DnsQueryStatus.NoData or DnsQueryStatus.NameError))
            ?? results.FirstOrDefault(r => r.Status is not (DnsQueryStatus.Success or DnsQueryStatus.NoData))
            ?? results[0];
        string what = worst.Status switch
        {
            DnsQueryStatus.NameError => "does not exist (NXDOMAIN)",
            DnsQueryStatus.NoData => "has no address records",
            DnsQueryStatus.Timeout => $"could not be resolved: no answer from {string.Join(", ", _servers)} " +
                $"after {_options.Attempts} round(s) of {_options.Timeout.TotalSeconds:0.###} s per server",
            DnsQueryStatus.ServerFailure => $"could not be resolved: the servers failed ({worst.Rcode})",
            DnsQueryStatus.Truncated => TcpConnect is null
                ? "could not be resolved: the answer was truncated and DNS over TCP is not available"
                : "could not be resolved: the answer was truncated and no server answered over TCP",
            DnsQueryStatus.InvalidName => "is not a valid domain name",
            DnsQueryStatus.TooManyQueries => "could not be resolved: too many queries in flight",
            _ => $"could not be resolved ({worst.Status})",
        };
        return new DnsResolutionException(name, worst.Type, worst.Status, worst.Rcode, $"'{name}' {what}.");
    }

    /// <inheritdoc/>
    public Instant Poll(Instant now)
    {
        if (_closed) return Instant.MaxValue;
        _engine.Poll(now);
        foreach (var e in _retired) e.Poll(now);
        Pump(now);
        var next = _engine.NextDeadline;
        foreach (var e in _retired) next = Instant.Min(next, e.NextDeadline);
        return next;
    }

    /// <summary>Sends what the engines want sent and completes the queries they finished.</summary>
    private void Pump(Instant now)
    {
        Drain(_engine, now);
        for (int i = _retired.Count - 1; i >= 0; i--)
        {
            Drain(_retired[i], now);
            if (_retired[i].Outstanding == 0) _retired.RemoveAt(i);
        }
    }

    private void Drain(DnsResolverEngine engine, Instant now)
    {
        while (engine.TryDequeueOutgoing(out var o))
        {
            var socket = SocketFor(o.Server);
            // A failed send (no route yet) is like a lost datagram: the engine's timeout moves on to the next server.
            socket?.Send(o.Payload.Span, new IpEndpoint(o.Server, DnsPort), default, now);
        }
        while (engine.TryDequeueResult(out var r))
        {
            if (_pending.Remove((engine, r.Handle), out var tcs)) tcs.TrySetResult(r);
        }
    }

    private UdpSocket? SocketFor(IpAddress server)
    {
        ref var socket = ref server.IsV4 ? ref _v4Socket : ref _v6Socket;
        if (socket is null)
        {
            try
            {
                socket = _udp.Bind(new IpEndpoint(server.IsV4 ? new IpAddress(Ipv4Address.Any) : new IpAddress(Ipv6Address.Unspecified), 0));
            }
            catch (SocketException)
            {
                return null; // ephemeral ports exhausted: counted as a timeout by the engine
            }
            socket.Readable += OnReadable;
        }
        return socket;
    }

    private void OnReadable(UdpSocket socket)
    {
        var now = _dispatcher.Now;
        while (socket.TryReceive(_receiveBuffer, out var info, out int n))
        {
            // RFC 5452 §9.1: only answers from port 53 of a server we asked; the engine checks the rest.
            if (info.Remote.Port != DnsPort) continue;
            var payload = _receiveBuffer.AsSpan(0, n);
            if (_engine.Outstanding > 0 && _options.Servers.Contains(info.Remote.Address)) _engine.Receive(info.Remote.Address, payload, now);
            foreach (var e in _retired) e.Receive(info.Remote.Address, payload, now);
        }
        Pump(now);
    }

    /// <summary>Stops the resolver: queries in flight fail with <see cref="ObjectDisposedException"/>, its ports are freed.</summary>
    public async ValueTask DisposeAsync()
    {
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

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        _stack.UnregisterPollable(this);
        _v4Socket?.Dispose();
        _v6Socket?.Dispose();
        foreach (var tcs in _pending.Values) tcs.TrySetException(new ObjectDisposedException(nameof(DnsResolver)));
        _pending.Clear();
        _retired.Clear();
    }
}
