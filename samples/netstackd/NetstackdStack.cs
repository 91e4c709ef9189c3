using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Samples.Netstackd;

/// <summary>What to put between the stack and its device, and the engines' settings.</summary>
public sealed record NetstackdStackOptions
{
    /// <summary>Faults applied to frames in both directions (null: none).</summary>
    public FaultProfile? Faults { get; init; }

    /// <summary>Seed of the fault injector and of the stack's randomness (null: cryptographic randomness, seed 1 for faults).</summary>
    public ulong? Seed { get; init; }

    /// <summary>Where every frame is recorded as pcap (null: not recorded). The stack owns and closes it.</summary>
    public Stream? Record { get; init; }

    /// <summary>TCP defaults.</summary>
    public TcpSettings? Tcp { get; init; }
}

/// <summary>
/// The small composition netstackd runs (and its interop tests reuse for "our client"): one interface over a device
/// (optionally behind a <see cref="FaultInjector"/> and a <see cref="PcapRecorder"/>), the IPv4/IPv6 stack with UDP and
/// TCP, and a <see cref="StackHost"/> loop that waits on the real device's descriptor while polling the decorated chain.
/// </summary>
public sealed class NetstackdStack : IAsyncDisposable
{
    private readonly Node _node;

    public NetstackdStack(INetDevice device, InterfaceConfig config, NetstackdStackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        options ??= new NetstackdStackOptions();
        Device = device;
        INetDevice chain = device;
        if (options.Faults is { } faults)
        {
            Faults = new FaultInjector(chain, new SeededRandom(options.Seed ?? 1), faults, faults);
            chain = Faults;
        }
        if (options.Record is { } record)
        {
            Recorder = new PcapRecorder(chain, record, leaveOpen: false, epochOffset: DateTime.UtcNow - DateTime.UnixEpoch - TimeSpan.FromTicks(StackHost.Now.Microseconds * 10));
            chain = Recorder;
        }
        IRandomSource random = options.Seed is { } seed ? new SeededRandom(seed) : SystemRandomSource.Instance;
        Stack = new NetworkStack(null, random);
        Interface = Stack.AddInterface(chain, config, StackHost.Now);
        Udp = new UdpLayer(Stack);
        Tcp = new TcpLayer(Stack, random, options.Tcp);
        Stack.RegisterTransport(IpProtocol.Tcp, Tcp);
        _node = new Node(Stack, chain as ITimedDevice);
        Host = new StackHost(_node, [device], null, new StackHostOptions { ThreadName = "netstackd loop" });
        Dispatcher = new HostDispatcher(Host);
        Sockets = new TcpSockets(Dispatcher, Tcp);
    }

    /// <summary>The real device (TAP or pcap).</summary>
    public INetDevice Device { get; }
    public FaultInjector? Faults { get; }
    public PcapRecorder? Recorder { get; }
    public NetworkStack Stack { get; }
    public NetworkInterface Interface { get; }
    public UdpLayer Udp { get; }
    public TcpLayer Tcp { get; }
    public StackHost Host { get; }
    public IStackDispatcher Dispatcher { get; }
    public TcpSockets Sockets { get; }

    public void Start() => Host.Start();

    /// <summary>Stops the loop, closes the recording and the device.</summary>
    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync().ConfigureAwait(false);
        Recorder?.Dispose();
        Faults?.Dispose();
        (Device as IDisposable)?.Dispose();
    }

    /// <summary>Polls the stack and tells the loop when held frames (fault injector) fall due.</summary>
    private sealed class Node(NetworkStack stack, ITimedDevice? timed) : IPollable
    {
        public Instant Poll(Instant now)
        {
            timed?.Service(now);
            var next = stack.Poll(now);
            return timed is null ? next : Instant.Min(next, timed.NextArrival);
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
