using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NetStack.Link;
using NetStack.Network;
using NetStack.Services;
using NetStack.Sockets;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tap;

/// <summary>
/// The stack object an application creates: one interface over a device (a <see cref="TapDevice"/>, <see cref="TunDevice"/>,
/// <see cref="PcapLiveDevice"/>, or an in-memory <see cref="IpStackLink"/> end) configured by an <see cref="InterfaceConfig"/>
/// (static addresses and gateways, or DHCPv4; SLAAC from router advertisements), with UDP, ping and ICMP probes, a DNS stub
/// resolver, logging and metrics, all driven by a <see cref="StackHost"/> loop thread.
/// <code>
/// await using var stack = new IpStack(new TapDevice("tap0"), new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")] });
/// await stack.StartAsync();
/// await using var udp = await stack.BindUdpAsync(new IPEndPoint(IPAddress.Any, 0));
/// await udp.SendToAsync("hello"u8.ToArray(), new IPEndPoint(IPAddress.Parse("192.0.2.1"), 7));
/// </code>
/// Every method is thread-safe: work is handed to the loop. <see cref="StopAsync"/> releases a DHCP lease, closes every
/// socket opened through this object (UDP, ICMP probes, TCP listeners and connections: their pending operations fail with
/// OperationAborted, as on a closed <see cref="Socket"/>), logs a drop summary and stops the loop.
/// </summary>
public sealed partial class IpStack : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly IpStackOptions _options;
    private readonly IpStackMetrics? _metrics;
    private readonly Dhcpv4Service? _dhcp;
    private readonly OpenSockets _open = new(); // UDP and ICMP probe sockets (loop only); TCP's are in TcpSockets.Hub
    private readonly TaskCompletionSource<Dhcpv4Lease> _firstLease = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Watcher _watcher;
    private IReadOnlyList<IpAddress> _dhcpDns = [];
    private int _state; // 0 new, 1 started, 2 stopped

    /// <summary>Builds the stack over <paramref name="device"/>; nothing runs until <see cref="StartAsync"/>.</summary>
    public IpStack(INetDevice device, InterfaceConfig? config = null, IpStackOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        config ??= new InterfaceConfig();
        _options = options ?? new IpStackOptions();
        _logger = (ILogger?)_options.LoggerFactory?.CreateLogger<IpStack>() ?? NullLogger.Instance;
        Name = _options.Name;
        Stack = new NetworkStack(_options.Stack, _options.Random);
        var now = StackHost.Now;
        Interface = Stack.AddInterface(device, config, now);
        Udp = new UdpLayer(Stack, _options.Udp);
        Tcp = new TcpLayer(Stack, Stack.Random, _options.Tcp);
        Stack.RegisterTransport(IpProtocol.Tcp, Tcp);
        // A receive thread that sheds SYNs before the stack sees them must know which sources are proven (RFC 4987 §3).
        if (device.Find<Receive.ReceiveThreadDevice>() is { } receiveThread) Tcp.HandshakeCompleted += receiveThread.NoteProven;
        // So must the loop-driven kernel filter, which names recently proven sources in its program.
        if (device.Find<Receive.SynFilterDevice>() is { } synFilter) Tcp.HandshakeCompleted += synFilter.NoteProven;
        var hostOptions = (_options.Host ?? new StackHostOptions()) with { ThreadName = $"NetStack loop ({Name})" };
        // A device that wakes the loop itself when a frame arrives needs no 1 ms polling; a slow poll stays as a safety net.
        // Found through decorators (recorder, fault injector) as well.
        var wakeable = device.Find<IHostWakeable>();
        if (wakeable is not null && _options.Host is null) hostOptions = hostOptions with { FallbackPollInterval = TimeSpan.FromMilliseconds(50) };
        Host = new StackHost(Stack, [device], _options.LoggerFactory?.CreateLogger<StackHost>(), hostOptions);
        if (wakeable is not null) wakeable.WakeOwner = Host.Wake;
        // A device that holds frames back (a fault injector's delays and reordering) says when they fall due: the loop wakes then.
        if (device is ITimedDevice timed) Stack.RegisterPollable(new TimedDevicePoller(timed));
        var servers = _options.DnsServers.Select(IpAddress.FromIPAddress).ToArray();
        Dns = new DnsResolver(Host, Stack, Udp, new DnsResolverOptions(servers)
        {
            Timeout = _options.DnsTimeout,
            Attempts = _options.DnsAttempts,
            CacheCapacity = _options.DnsCacheCapacity,
        });
        if (config.Dhcpv4 && config.EnableIpv4)
        {
            var mac = Interface.HardwareAddress;
            var dhcpOptions = _options.Dhcpv4?.Invoke(mac) ?? new Dhcpv4ClientOptions(mac);
            _dhcp = new Dhcpv4Service(Stack, Udp, Interface, dhcpOptions, CreateLeaseInstaller());
            _dhcp.LeaseChanged += OnLeaseChanged;
        }
        if (_options.EnableMetrics) _metrics = new IpStackMetrics(Name, Stack.Statistics, Tcp.Stats, () => Tcp.ConnectionCount, _options.MeterFactory);
        Config = config;
        _watcher = new Watcher(this);
        Stack.RegisterPollable(_watcher);
        OnCreated();
    }

    /// <summary>
    /// Builds the stack over <paramref name="device"/> with static addresses in CIDR notation, of either family
    /// (<c>["192.0.2.2/24", "2001:db8::2/64"]</c>; an address without a prefix length is a host route, /32 or /128) and
    /// optional default gateways (at most one per family). IPv6 also forms a link-local address and takes SLAAC addresses
    /// from router advertisements; for DHCPv4 and the other settings use <see cref="IpStack(INetDevice, InterfaceConfig?, IpStackOptions?)"/>.
    /// <code>
    /// await using var stack = new IpStack(new TapDevice("tap0"), ["192.0.2.2/24"], [IPAddress.Parse("192.0.2.1")]);
    /// </code>
    /// </summary>
    /// <exception cref="FormatException">An address is not an IPv4 or IPv6 address with an optional prefix length.</exception>
    /// <exception cref="ArgumentException">Two gateways of one family.</exception>
    public IpStack(INetDevice device, IReadOnlyList<string> addresses, IReadOnlyList<IPAddress>? gateways = null, IpStackOptions? options = null)
        : this(device, ToConfig(addresses, gateways ?? []), options)
    {
    }

    private static InterfaceConfig ToConfig(IReadOnlyList<string> addresses, IReadOnlyList<IPAddress> gateways)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var v4 = new List<Ipv4Cidr>();
        var v6 = new List<Ipv6Cidr>();
        foreach (var a in addresses)
        {
            ArgumentNullException.ThrowIfNull(a);
            var slash = a.IndexOf('/', StringComparison.Ordinal);
            if (!IPAddress.TryParse(slash < 0 ? a : a[..slash], out var ip)) throw new FormatException($"'{a}' is not an IP address with an optional prefix length.");
            if (ip.AddressFamily == AddressFamily.InterNetwork) v4.Add(Ipv4Cidr.Parse(a));
            else v6.Add(Ipv6Cidr.Parse(a));
        }
        Ipv4Address? gw4 = null;
        Ipv6Address? gw6 = null;
        foreach (var g in gateways)
        {
            ArgumentNullException.ThrowIfNull(g);
            if (g.AddressFamily == AddressFamily.InterNetwork)
            {
                if (gw4 is not null) throw new ArgumentException("At most one IPv4 gateway.", nameof(gateways));
                gw4 = Ipv4Address.FromIPAddress(g);
            }
            else
            {
                if (gw6 is not null) throw new ArgumentException("At most one IPv6 gateway.", nameof(gateways));
                gw6 = Ipv6Address.FromIPAddress(g);
            }
        }
        return new InterfaceConfig { Ipv4Addresses = v4, Ipv6Addresses = v6, Ipv4Gateway = gw4, Ipv6Gateway = gw6 };
    }

    /// <summary>Wiring of optional parts (the TCP socket API) implemented in other files of this class.</summary>
    partial void OnCreated();

    /// <summary>The name given in <see cref="IpStackOptions.Name"/>.</summary>
    public string Name { get; }

    /// <summary>The configuration the interface was brought up with.</summary>
    public InterfaceConfig Config { get; }

    /// <summary>The sans-IO core. Touch it only on the loop (<see cref="InvokeAsync{T}"/>).</summary>
    public NetworkStack Stack { get; }

    /// <summary>The stack's one interface.</summary>
    public NetworkInterface Interface { get; }

    /// <summary>The UDP layer (loop only).</summary>
    internal UdpLayer Udp { get; }

    /// <summary>The TCP layer (loop only).</summary>
    internal TcpLayer Tcp { get; }

    /// <summary>The loop thread: the <see cref="IStackDispatcher"/> of every socket of this stack.</summary>
    internal StackHost Host { get; }

    /// <summary>The dispatcher the async API hands work to.</summary>
    internal IStackDispatcher Dispatcher => Host;

    /// <summary>The DNS stub resolver (servers from options, then DHCPv4 option 6, then IPv6 RDNSS).</summary>
    internal DnsResolver Dns { get; }

    /// <summary>The recursive DNS servers the resolver asks, in order: configured, then DHCPv4 option 6, then IPv6 RDNSS.</summary>
    public IReadOnlyList<IPAddress> DnsServers => Dns.Servers;

    /// <summary>The stack's counters (plain fields written by the loop; eventually consistent when read elsewhere).</summary>
    public StackStatistics Statistics => Stack.Statistics;

    /// <summary>The meter's instruments (null when <see cref="IpStackOptions.EnableMetrics"/> is false).</summary>
    public IpStackMetrics? Metrics => _metrics;

    /// <summary>The DHCPv4 lease in force (null without one or without DHCPv4).</summary>
    public Dhcpv4Lease? Dhcpv4Lease => Volatile.Read(ref _lease);

    private Dhcpv4Lease? _lease;

    /// <summary>Starts the loop (and DHCPv4 when configured); completes once the loop has run.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("The stack was already started.");
        Host.Start();
        await Host.InvokeAsync(() =>
        {
            _dhcp?.Start(StackHost.Now);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        LogStarted(_logger, Name, Interface.ToString(), Config.Ipv4Addresses.Count + Config.Ipv6Addresses.Count, Config.Dhcpv4);
    }

    /// <summary>Completes with the first DHCPv4 lease (fails at once when DHCPv4 is not configured).</summary>
    public Task<Dhcpv4Lease> WaitForDhcpv4LeaseAsync(CancellationToken cancellationToken = default) =>
        _dhcp is null
            ? Task.FromException<Dhcpv4Lease>(new InvalidOperationException("DHCPv4 is not enabled in the interface configuration."))
            : _firstLease.Task.WaitAsync(cancellationToken);

    /// <summary>Runs <paramref name="work"/> on the loop with the core stack (for what this class does not wrap).</summary>
    public Task<T> InvokeAsync<T>(Func<NetworkStack, T> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return Host.InvokeAsync(() => work(Stack), cancellationToken);
    }

    /// <summary>
    /// Binds a UDP socket (port 0 for an ephemeral port). <see cref="IPAddress.Any"/> or <see cref="IPAddress.IPv6Any"/>
    /// is every address of both families, as a <c>Socket</c> with <c>DualMode</c>: the socket sends to either family (the
    /// source chosen per destination) and receives both; a socket bound to the datagram's own family on the same port is
    /// more specific and takes that family (so Any and IPv6Any may share a port). <see cref="SocketException"/>:
    /// AddressAlreadyInUse, or TooManyOpenSockets when the ephemeral range is exhausted.
    /// </summary>
    public async Task<AsyncUdpSocket> BindUdpAsync(IPEndPoint local, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(local);
        ThrowIfStopped();
        return await AsyncUdpSocket.BindAsync(Host, Udp, local, _open, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends one ICMP / ICMPv6 echo request and waits for its answer, like <see cref="System.Net.NetworkInformation.Ping.SendPingAsync(IPAddress, TimeSpan, byte[], System.Net.NetworkInformation.PingOptions, CancellationToken)"/>:
    /// <paramref name="ttl"/> sets the TTL / hop limit (0 = default), <paramref name="payloadSize"/> the data size,
    /// <paramref name="dontFragment"/> DF. Time exceeded, unreachable and packet-too-big errors quoting the request end it too.
    /// A ping still waiting when the stack stops (<see cref="StopAsync"/>, <see cref="DisposeAsync"/>) fails with
    /// <see cref="SocketException"/> <see cref="SocketError.OperationAborted"/>, as the stack's sockets do.
    /// </summary>
    public Task<PingResult> PingAsync(IPAddress address, TimeSpan? timeout = null, int ttl = 0, int payloadSize = 32, bool dontFragment = false,
        CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        return Pinger.PingAsync(Host, Stack, address, timeout ?? TimeSpan.FromSeconds(5), ttl, payloadSize, dontFragment, cancellationToken, _open);
    }

    /// <summary>Opens a raw ICMP (IPv4) or ICMPv6 probe socket (see <see cref="IcmpProbeSocket"/>); <paramref name="filter"/> runs on the loop.</summary>
    public Task<IcmpProbeSocket> OpenIcmpProbeAsync(AddressFamily family, Func<IcmpProbeReply, bool>? filter = null, int capacity = 1024,
        CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        return IcmpProbeSocket.OpenAsync(Host, Stack, family, filter, capacity, _open, cancellationToken);
    }

    /// <summary>The addresses of <paramref name="hostName"/> (A and AAAA), like <see cref="System.Net.Dns.GetHostAddressesAsync(string, CancellationToken)"/>.</summary>
    public Task<IPAddress[]> GetHostAddressesAsync(string hostName, AddressFamily family = AddressFamily.Unspecified, CancellationToken cancellationToken = default) =>
        Dns.GetHostAddressesAsync(hostName, family, cancellationToken);

    /// <summary>Same as <see cref="GetHostAddressesAsync"/> for both families.</summary>
    public Task<IPAddress[]> ResolveAsync(string hostName, CancellationToken cancellationToken = default) =>
        Dns.ResolveAsync(hostName, cancellationToken);

    /// <summary>The PTR name of <paramref name="address"/>.</summary>
    public Task<string> ReverseAsync(IPAddress address, CancellationToken cancellationToken = default) =>
        Dns.ReverseAsync(address, cancellationToken);

    private void OnLeaseChanged(Dhcpv4EventKind kind, Dhcpv4Lease lease)
    {
        switch (kind)
        {
            case Dhcpv4EventKind.LeaseAcquired:
                Volatile.Write(ref _lease, lease);
                LogLeaseAcquired(_logger, Name, lease.Address.ToString(), lease.PrefixLength, string.Join(", ", lease.Routers),
                    string.Join(", ", lease.DnsServers), lease.LeaseTime, lease.ServerIdentifier.ToString());
                _dhcpDns = lease.DnsServers.Select(a => new IpAddress(a)).ToArray();
                UpdateDnsServers();
                _firstLease.TrySetResult(lease);
                break;
            case Dhcpv4EventKind.LeaseRenewed:
                Volatile.Write(ref _lease, lease);
                LogLeaseRenewed(_logger, Name, lease.Address.ToString(), lease.LeaseTime);
                break;
            case Dhcpv4EventKind.LeaseLost:
                Volatile.Write(ref _lease, null);
                LogLeaseLost(_logger, Name, lease.Address.ToString());
                _dhcpDns = [];
                UpdateDnsServers();
                break;
        }
    }

    /// <summary>Configured servers first, then those learned by DHCPv4, then by RDNSS (called on the loop).</summary>
    private void UpdateDnsServers()
    {
        var list = _options.DnsServers.Select(IpAddress.FromIPAddress).Concat(_dhcpDns).Concat(_watcher.Rdnss).Distinct().ToArray();
        Dns.SetServers(list);
    }

    /// <summary>
    /// Stops the stack: releases a DHCPv4 lease (RFC 2131 §4.4.6), closes every socket opened through this object (UDP and
    /// ICMP probe sockets, TCP listeners, and TCP connections, which are aborted with RST; pending operations fail with
    /// <see cref="SocketError.OperationAborted"/>), stops the resolver and the loop, and logs the frame counts and every
    /// non-zero drop counter.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        int previous = Interlocked.Exchange(ref _state, 2);
        if (previous != 1)
        {
            if (previous == 0) await Host.StopAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            if (_dhcp is not null)
            {
                await Host.InvokeAsync(() => { _dhcp.Release(StackHost.Now); return true; }, cancellationToken).ConfigureAwait(false);
                // Give the release the grace it asked for (ARP toward the server), then the address goes.
                var deadline = DateTime.UtcNow + _dhcp.ReleaseGrace + TimeSpan.FromSeconds(1);
                while (DateTime.UtcNow < deadline && await Host.InvokeAsync(() => _dhcp.RemovalPending, cancellationToken).ConfigureAwait(false))
                    await Task.Delay(20, cancellationToken).ConfigureAwait(false);
                await Host.InvokeAsync(() => { _dhcp.Dispose(); return true; }, cancellationToken).ConfigureAwait(false);
            }
            await Host.InvokeAsync(() =>
            {
                _open.CloseAll();
                TcpSockets.Hub.CloseAll();
                return true;
            }, cancellationToken).ConfigureAwait(false);
            await Dns.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            await Host.StopAsync().ConfigureAwait(false);
            _firstLease.TrySetCanceled(CancellationToken.None);
            LogSummary();
        }
    }

    private void LogSummary()
    {
        var s = Stack.Statistics;
        LogStopped(_logger, Name, s.FramesReceived, s.FramesTransmitted, s.TotalDrops);
        foreach (var (reason, count) in s.NonZeroDrops()) LogDrops(_logger, Name, reason, count);
    }

    private void ThrowIfStopped()
    {
        if (Volatile.Read(ref _state) == 2) throw new ObjectDisposedException(nameof(IpStack), "The stack is stopped.");
    }

    /// <summary>Stops the stack (if running) and releases the loop's resources and the meter.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await Host.DisposeAsync().ConfigureAwait(false);
        _metrics?.Dispose();
    }

    [LoggerMessage(1, LogLevel.Information, "{Stack}: up on {Interface} with {StaticAddresses} static address(es), DHCPv4 {Dhcp}")]
    private static partial void LogStarted(ILogger logger, string stack, string @interface, int staticAddresses, bool dhcp);

    [LoggerMessage(2, LogLevel.Information, "{Stack}: DHCPv4 lease {Address}/{PrefixLength} (routers {Routers}; DNS {Dns}) for {LeaseTime} from {Server}")]
    private static partial void LogLeaseAcquired(ILogger logger, string stack, string address, int prefixLength, string routers, string dns,
        TimeSpan leaseTime, string server);

    [LoggerMessage(3, LogLevel.Debug, "{Stack}: DHCPv4 lease {Address} renewed for {LeaseTime}")]
    private static partial void LogLeaseRenewed(ILogger logger, string stack, string address, TimeSpan leaseTime);

    [LoggerMessage(4, LogLevel.Warning, "{Stack}: DHCPv4 lease {Address} lost; the address was removed")]
    private static partial void LogLeaseLost(ILogger logger, string stack, string address);

    [LoggerMessage(5, LogLevel.Information, "{Stack}: stopped after {FramesIn} frames in, {FramesOut} out, {Drops} dropped")]
    private static partial void LogStopped(ILogger logger, string stack, long framesIn, long framesOut, long drops);

    [LoggerMessage(6, LogLevel.Information, "{Stack}: dropped {Count} for {Reason}")]
    private static partial void LogDrops(ILogger logger, string stack, DropReason reason, long count);
}

/// <summary>Releases what a timed device holds (a fault injector's delayed or reordered frames) when due, and tells the loop when that is.</summary>
internal sealed class TimedDevicePoller(ITimedDevice device) : IPollable
{
    public Instant Poll(Instant now)
    {
        device.Service(now);
        return device.NextArrival;
    }
}
