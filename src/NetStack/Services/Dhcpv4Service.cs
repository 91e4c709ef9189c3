using System.Buffers;
using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Network;
using NetStack.Sockets;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>Installs and removes what a DHCPv4 lease configures on an interface (address, prefix, default route, MTU).</summary>
internal interface IDhcpv4LeaseInstaller
{
    /// <summary>A lease was acquired: configure <paramref name="lease"/> on <paramref name="iface"/>.</summary>
    void Install(NetworkInterface iface, Dhcpv4Lease lease, Instant now);

    /// <summary>The lease ended (expiry, NAK, decline, release): remove what <see cref="Install"/> configured.</summary>
    void Remove(NetworkInterface iface, Dhcpv4Lease lease, Instant now);
}

/// <summary>
/// Runs a <see cref="Dhcpv4Client"/> (RFC 2131) on one interface of a stack: its messages go out as UDP from port 68 to
/// port 67 (from 0.0.0.0 to the limited broadcast before an address is bound, RFC 2131 §4.1), replies to port 68 are fed
/// back to it, and its lease events configure the interface through an <see cref="IDhcpv4LeaseInstaller"/> and are
/// raised as <see cref="LeaseChanged"/> (for DNS servers and logs). Renewal, rebinding and expiry are the client's
/// timers, run from the stack's <c>NetworkStack.Poll</c>; <see cref="Release"/> gives the address back.
/// Single-threaded: use it on the stack's loop.
/// </summary>
internal sealed class Dhcpv4Service : IPollable, IDhcpv4ClientSink, IDisposable
{
    /// <summary>RFC 2131 §4.1: the client's port.</summary>
    public const ushort ClientPort = 68;

    /// <summary>RFC 2131 §4.1: the server's port.</summary>
    public const ushort ServerPort = 67;

    // RFC 2131 §2 figure 1: the 16-bit 'flags' field follows op, htype, hlen, hops (1 each), xid (4) and secs (2).
    private const int FlagsOffset = 10;

    private readonly IServiceContext _stack;
    private readonly NetworkInterface _iface;
    private readonly IDhcpv4LeaseInstaller _installer;
    private readonly UdpSocket _socket;
    private readonly byte[] _receiveBuffer = new byte[1500];
    private Dhcpv4Lease? _installed;
    private Dhcpv4Lease? _releasedPendingRemoval;
    private Instant _removeAt = Instant.MaxValue;
    private bool _releasing;
    private bool _disposed;

    /// <summary>Binds 0.0.0.0:68 (throws <see cref="System.Net.Sockets.SocketException"/> when taken) and registers with the stack's poll.</summary>
    public Dhcpv4Service(IServiceContext stack, UdpLayer udp, NetworkInterface iface, Dhcpv4ClientOptions options, IDhcpv4LeaseInstaller installer)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(udp);
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(installer);
        _stack = stack;
        _iface = iface;
        _installer = installer;
        Client = new Dhcpv4Client(options, stack.Random, this);
        _socket = udp.Bind(new IpEndpoint(new IpAddress(Ipv4Address.Any), ClientPort));
        _socket.Readable += OnReadable;
        stack.RegisterPollable(this);
    }

    /// <summary>The sans-IO client (state, lease, counters).</summary>
    internal Dhcpv4Client Client { get; }

    internal Dhcpv4State State => Client.State;

    /// <summary>The lease in force, if any.</summary>
    public Dhcpv4Lease? Lease => _installed;

    /// <summary>The interface configured.</summary>
    public NetworkInterface Interface => _iface;

    /// <summary>Datagrams the stack refused to send (no route, full queue); the client's retransmissions cover them.</summary>
    public long SendFailures { get; private set; }

    /// <summary>Raised on the stack's loop after a lease was installed, renewed or removed.</summary>
    public event Action<Dhcpv4EventKind, Dhcpv4Lease>? LeaseChanged;

    /// <summary>Begins DISCOVER (RFC 2131 §4.4.1).</summary>
    public void Start(Instant now) => Client.Start(now);

    /// <summary>
    /// How long the address stays configured after DHCPRELEASE was handed to the network layer, so that the release
    /// (unicast to the server, RFC 2131 §4.4.6) can still be sent behind ARP resolution from the address it releases.
    /// </summary>
    public TimeSpan ReleaseGrace { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>True while a released address is still configured for <see cref="ReleaseGrace"/>.</summary>
    public bool RemovalPending => _releasedPendingRemoval is not null;

    /// <summary>Sends DHCPRELEASE (RFC 2131 §4.4.6) and removes the address after <see cref="ReleaseGrace"/>; the client stops.</summary>
    public void Release(Instant now)
    {
        _releasing = true;
        try
        {
            Client.Release(now);
        }
        finally
        {
            _releasing = false;
        }
    }

    /// <inheritdoc/>
    public Instant Poll(Instant now)
    {
        if (_disposed) return Instant.MaxValue;
        if (_releasedPendingRemoval is not null && now >= _removeAt) RemoveReleased(now);
        return Instant.Min(Client.Poll(now), _removeAt);
    }

    private void RemoveReleased(Instant now)
    {
        if (_releasedPendingRemoval is { } lease) _installer.Remove(_iface, lease, now);
        _releasedPendingRemoval = null;
        _removeAt = Instant.MaxValue;
    }

    void IDhcpv4ClientSink.Send(ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination)
    {
        var now = _stack.Now;
        int length = UdpDatagram.HeaderLength + payload.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            var message = span[UdpDatagram.HeaderLength..];
            payload.CopyTo(message);
            if (source.IsUnspecified && message.Length > FlagsOffset + 1)
            {
                // RFC 2131 §4.1: "A client that cannot receive unicast IP datagrams until its protocol software has been
                // configured with an IP address SHOULD set the BROADCAST bit". Our IPv4 layer accepts only datagrams for
                // addresses it has, so the offer and ack must come to the limited broadcast.
                ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[FlagsOffset..]);
                BinaryPrimitives.WriteUInt16BigEndian(message[FlagsOffset..], (ushort)(flags | DhcpPacket.BroadcastFlag));
            }
            // The UDP header is written here rather than by a bound socket: before a lease the source is 0.0.0.0, which no
            // socket can select (RFC 2131 §4.1), and the datagram must leave by this interface whatever the routes say.
            new UdpRepr(ClientPort, ServerPort, payload.Length).Write(span, source, destination);
            var result = _stack.Send(source, destination, IpProtocol.Udp, span, new IpSendOptions(interfaceIndex: _iface.Index), now);
            if (result == IpSendResult.Sent) _stack.Statistics.UdpSent++;
            else SendFailures++;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    void IDhcpv4ClientSink.OnLeaseEvent(Dhcpv4EventKind kind, Dhcpv4Lease lease)
    {
        var now = _stack.Now;
        switch (kind)
        {
            case Dhcpv4EventKind.LeaseAcquired:
                if (_installed is not null) _installer.Remove(_iface, _installed, now);
                _installer.Install(_iface, lease, now);
                _installed = lease;
                break;
            case Dhcpv4EventKind.LeaseRenewed:
                if (_installed is null || !SameConfiguration(_installed, lease))
                {
                    if (_installed is not null) _installer.Remove(_iface, _installed, now);
                    _installer.Install(_iface, lease, now);
                }
                _installed = lease;
                break;
            case Dhcpv4EventKind.LeaseLost:
                if (_installed is not null && _releasing)
                {
                    _releasedPendingRemoval = _installed;
                    _removeAt = now + ReleaseGrace;
                }
                else if (_installed is not null)
                {
                    _installer.Remove(_iface, _installed, now);
                }
                _installed = null;
                break;
        }
        LeaseChanged?.Invoke(kind, lease);
    }

    private static bool SameConfiguration(Dhcpv4Lease a, Dhcpv4Lease b) =>
        a.Address == b.Address && a.PrefixLength == b.PrefixLength && a.Mtu == b.Mtu && a.Routers.SequenceEqual(b.Routers);

    private void OnReadable(UdpSocket socket)
    {
        var now = _stack.Now;
        while (socket.TryReceive(_receiveBuffer, out var info, out int n))
        {
            // Only server replies on this interface (RFC 2131 §4.1: servers send from port 67).
            if (info.Remote.Port != ServerPort || info.InterfaceIndex != _iface.Index) continue;
            Client.Receive(_receiveBuffer.AsSpan(0, n), now);
        }
    }

    /// <summary>Unbinds port 68 and leaves the stack's poll (without releasing: call <see cref="Release"/> first for that).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        RemoveReleased(_stack.Now);
        _socket.Readable -= OnReadable;
        _socket.Dispose();
        _stack.UnregisterPollable(this);
    }
}
