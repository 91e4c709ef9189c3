using Microsoft.Extensions.Logging;
using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Composition;
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

    /// <summary>The stack's name in its log events and its meter's <c>netstack.stack</c> tag.</summary>
    public string Name { get; init; } = "netstackd";

    /// <summary>Where the stack's events go (null: nowhere).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Publish the stack's "NetStack" meter (for dotnet-counters, OpenTelemetry); on by default.</summary>
    public bool EnableMetrics { get; init; } = true;
    /// <summary>The loop thread's nice value (null: inherited; <see cref="StackHostOptions.LoopThreadNice"/>).</summary>
    public int? LoopNice { get; init; }

    /// <summary>How a TAP/TUN device is read (<see cref="NetstackdReceive"/>); <see cref="NetstackdReceive.Filter"/> by default.</summary>
    public NetstackdReceive Receive { get; init; } = NetstackdReceive.Filter;
}

/// <summary>How netstackd reads a TAP/TUN device.</summary>
public enum NetstackdReceive
{
    /// <summary>
    /// On a thread of its own (<see cref="NetStack.Tap.Receive.ReceiveThreadDevice"/>) that drains the kernel's queue into a
    /// bounded ring, sheds unproven SYNs first when the ring fills and raises the kernel SYN filter while it cannot keep up.
    /// </summary>
    Thread,
    /// <summary>
    /// On the loop thread, with the kernel SYN filter raised and lowered from what the loop reads
    /// (<see cref="NetStack.Tap.Receive.SynFilterDevice"/>): no hand-off between threads.
    /// </summary>
    Filter,
    /// <summary>On the loop thread, nothing else.</summary>
    Loop,
}

/// <summary>
/// What netstackd runs (and its interop tests reuse for "our client"): an <see cref="IpStack"/> (IPv4/IPv6, UDP, TCP, DHCPv4,
/// SLAAC, its loop) over a device, optionally behind a <see cref="FaultInjector"/> and a <see cref="PcapRecorder"/>. The
/// decorators pass the device's capabilities through, so the loop still sleeps on the real device's descriptor, and
/// <see cref="IpStack"/> wakes it when frames held by the fault injector fall due.
/// </summary>
public sealed class NetstackdStack : IAsyncDisposable
{
    public NetstackdStack(INetDevice device, InterfaceConfig config, NetstackdStackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        options ??= new NetstackdStackOptions();
        Device = device;
        INetDevice chain = device;
        if (options.Receive == NetstackdReceive.Thread && device is TunTapDevice)
        {
            ReceiveThread = new NetStack.Tap.Receive.ReceiveThreadDevice(device);
            chain = ReceiveThread;
        }
        else if (options.Receive == NetstackdReceive.Filter && device is TunTapDevice { Medium: Medium.Ethernet })
        {
            SynFilter = new NetStack.Tap.Receive.SynFilterDevice(device);
            chain = SynFilter;
        }
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
        Ip = new IpStack(chain, config, new IpStackOptions
        {
            Name = options.Name,
            Random = options.Seed is { } seed ? new SeededRandom(seed) : null,
            Tcp = options.Tcp,
            LoggerFactory = options.LoggerFactory,
            EnableMetrics = options.EnableMetrics,
            Host = options.LoopNice is { } nice ? new StackHostOptions { LoopThreadNice = nice } : null,
        });
    }

    /// <summary>The stack object (loop, DHCPv4, DNS, UDP, TCP).</summary>
    public IpStack Ip { get; }

    /// <summary>The real device (TAP or pcap).</summary>
    public INetDevice Device { get; }
    /// <summary>The receive thread in front of the device (null when off or the device is not a TAP/TUN).</summary>
    public NetStack.Tap.Receive.ReceiveThreadDevice? ReceiveThread { get; }
    /// <summary>The loop-driven kernel SYN filter in front of the device (null unless <see cref="NetstackdReceive.Filter"/> on a TAP).</summary>
    public NetStack.Tap.Receive.SynFilterDevice? SynFilter { get; }
    public FaultInjector? Faults { get; }
    public PcapRecorder? Recorder { get; }
    public NetworkStack Stack => Ip.Stack;
    public NetworkInterface Interface => Ip.Interface;
    public UdpLayer Udp => Ip.Udp;
    public TcpLayer Tcp => Ip.Tcp;
    public StackHost Host => Ip.Host;

    public Task StartAsync() => Ip.StartAsync();

    /// <summary>Stops the stack (releasing a DHCPv4 lease), closes the recording and the device.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Ip.DisposeAsync().ConfigureAwait(false);
        Recorder?.Dispose();
        Faults?.Dispose();
        ReceiveThread?.Dispose(); // before the device: its thread waits on the device's descriptor
        SynFilter?.Dispose(); // detaches the kernel filter (after the loop has stopped)
        (Device as IDisposable)?.Dispose();
    }

    private bool _disposed;
}
