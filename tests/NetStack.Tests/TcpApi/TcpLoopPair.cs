using System.Collections.Concurrent;
using System.Net;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.TcpApi;

/// <summary>
/// Two TCP engines, each driven by its own real-time <see cref="StackHost"/> loop thread, joined by an in-memory IP
/// "wire" (each side's network layer hands datagrams to the other's inbox and wakes its loop). It isolates the async
/// API under test from the IP layers; <see cref="Blackhole"/> drops everything (for time-outs), <see cref="DropRate"/> some.
/// </summary>
internal sealed class TcpLoopPair : IAsyncDisposable
{
    public static readonly IPAddress V4A = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress V4B = IPAddress.Parse("192.0.2.2");
    public static readonly IPAddress V6A = IPAddress.Parse("2001:db8::1");
    public static readonly IPAddress V6B = IPAddress.Parse("2001:db8::2");

    private readonly Side _a;
    private readonly Side _b;

    public TcpLoopPair(TcpSettings? settingsA = null, TcpSettings? settingsB = null, ulong seed = 1)
    {
        _a = new Side(this, V4A, V6A, settingsA, seed * 2 + 1);
        _b = new Side(this, V4B, V6B, settingsB, seed * 2 + 2);
        _a.Peer = _b;
        _b.Peer = _a;
        _a.Host.Start();
        _b.Host.Start();
        A = new TcpSockets(_a.Dispatcher, _a.Layer, Resolve);
        B = new TcpSockets(_b.Dispatcher, _b.Layer, Resolve);
    }

    /// <summary>The client side (192.0.2.1, 2001:db8::1).</summary>
    public TcpSockets A { get; }

    /// <summary>The server side (192.0.2.2, 2001:db8::2).</summary>
    public TcpSockets B { get; }

    /// <summary>Drop every datagram (both ways).</summary>
    public volatile bool Blackhole;

    /// <summary>Drop this fraction of datagrams (seeded, both ways).</summary>
    public double DropRate { get; set; }

    /// <summary>Host names the resolver knows ("b.test" -> B's IPv6 then IPv4 address).</summary>
    public static Task<IPAddress[]> Resolve(string host, CancellationToken cancellationToken) => host switch
    {
        "b.test" => Task.FromResult(new[] { V6B, V4B }),
        "b4.test" => Task.FromResult(new[] { V4B }),
        "nowhere.test" => Task.FromResult(new[] { IPAddress.Parse("2001:db8:ffff::9"), V4B }),
        _ => Task.FromResult(Array.Empty<IPAddress>()),
    };

    /// <summary>Runs a query on A's loop.</summary>
    public Task<T> OnA<T>(Func<TcpLayer, T> f) => _a.Dispatcher.InvokeAsync(() => f(_a.Layer));

    /// <summary>Runs a query on B's loop.</summary>
    public Task<T> OnB<T>(Func<TcpLayer, T> f) => _b.Dispatcher.InvokeAsync(() => f(_b.Layer));

    public async ValueTask DisposeAsync()
    {
        await _a.Host.DisposeAsync();
        await _b.Host.DisposeAsync();
    }

    private readonly record struct Datagram(IpAddress Source, IpAddress Destination, byte[] Bytes);

    private sealed class Side : IPollable, IIpLayer
    {
        private readonly TcpLoopPair _pair;
        private readonly IpAddress _v4;
        private readonly IpAddress _v6;
        private readonly ConcurrentQueue<Datagram> _inbox = new();
        private readonly IRandomSource _loss;

        public Side(TcpLoopPair pair, IPAddress v4, IPAddress v6, TcpSettings? settings, ulong seed)
        {
            _pair = pair;
            _v4 = IpAddress.FromIPAddress(v4);
            _v6 = IpAddress.FromIPAddress(v6);
            _loss = new SeededRandom(seed ^ 0xD00D);
            Layer = new TcpLayer(this, new SeededRandom(seed), settings);
            Host = new StackHost(this, []);
            Dispatcher = new HostDispatcher(Host);
        }

        public Side? Peer { get; set; }

        public void ReachabilityAdvice(IpAddress destination, bool forwardProgress, Instant now) { } // no neighbours here
        public bool IsLocalAddress(IpAddress address) => address == _v4 || address == _v6;
        public TcpLayer Layer { get; }
        public StackHost Host { get; }
        public IStackDispatcher Dispatcher { get; }

        public Instant Poll(Instant now)
        {
            for (int i = 0; i < 256 && _inbox.TryDequeue(out var d); i++)
            {
                var info = new IpPacketInfo(d.Source, d.Destination, IpProtocol.Tcp, 64, 0, 0, 0, false);
                Layer.Receive(info, d.Bytes, now);
            }
            var next = Layer.Poll(now);
            return _inbox.IsEmpty ? next : now;
        }

        public bool TrySelectSource(IpAddress destination, out IpAddress source)
        {
            source = destination.IsV4 ? _v4 : _v6;
            // Only the peer's addresses are reachable.
            return destination == Peer!._v4 || destination == Peer._v6;
        }

        public int MaxTransportPayload(IpAddress destination) => destination.IsV4 ? 1480 : 1460;

        public IpSendResult Send(IpAddress source, IpAddress destination, IpProtocol protocol, ReadOnlySpan<byte> transportPayload, in IpSendOptions options, Instant now)
        {
            var peer = Peer!;
            if (destination != peer._v4 && destination != peer._v6) return IpSendResult.NoRoute;
            if (_pair.Blackhole) return IpSendResult.Sent;
            if (_pair.DropRate > 0 && _loss.NextDouble() < _pair.DropRate) return IpSendResult.Sent;
            peer._inbox.Enqueue(new Datagram(source, destination, transportPayload.ToArray()));
            peer.Host.Wake();
            return IpSendResult.Sent;
        }
    }
}

/// <summary>A <see cref="StackHost"/> seen as the async API's <see cref="IStackDispatcher"/>.</summary>
internal sealed class HostDispatcher(StackHost host) : IStackDispatcher
{
    public bool IsOnLoopThread => host.IsOnLoopThread;
    public Instant Now => StackHost.Now;
    public void Post(Action work) => host.Post(work);
    public Task<T> InvokeAsync<T>(Func<T> work, CancellationToken cancellationToken = default) => host.InvokeAsync(work, cancellationToken);
    public void Wake() => host.Wake();
}
