using System.Numerics;
using System.Text;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// A sans-IO DHCPv4 client (RFC 2131 §4.4): a pure state machine driven by <see cref="Start"/>,
/// <see cref="Receive"/> (the UDP payloads arriving on port 68) and <see cref="Poll"/>. It never reads a
/// clock, never touches a socket: it sends through <see cref="IDhcpv4ClientSink.Send"/> and reports lease
/// changes through <see cref="IDhcpv4ClientSink.OnLeaseEvent"/>. Randomness (xid, jitter) comes from the
/// injected <see cref="IRandomSource"/>, so a seed replays exactly.
/// </summary>
internal sealed class Dhcpv4Client : IPollable
{
    private const int BufferSize = 576; // RFC 2131 §2: every client must accept 576-octet messages

    private readonly Dhcpv4ClientOptions _options;
    private readonly IRandomSource _random;
    private readonly IDhcpv4ClientSink _sink;
    private readonly byte[] _buffer = new byte[BufferSize];
    private readonly byte[] _clientId;
    private readonly byte[]? _hostName;

    private uint _xid;
    private Instant _transactionStart;
    private Instant _deadline = Instant.MaxValue;
    private TimeSpan _backoff;
    private int _requestsSent;
    private Ipv4Address _offeredAddress;
    private Ipv4Address _offerServer;

    public Dhcpv4Client(Dhcpv4ClientOptions options, IRandomSource random, IDhcpv4ClientSink sink)
    {
        _options = options;
        _random = random;
        _sink = sink;
        _clientId = options.ClientIdentifier ?? DefaultClientId(options.Mac);
        _hostName = options.HostName is null ? null : Encoding.ASCII.GetBytes(options.HostName);
    }

    public Dhcpv4State State { get; private set; } = Dhcpv4State.Init;

    /// <summary>The lease held in BOUND, RENEWING and REBINDING; null otherwise.</summary>
    public Dhcpv4Lease? Lease { get; private set; }

    /// <summary>The transaction id of the exchange in progress.</summary>
    public uint TransactionId => _xid;

    /// <summary>When <see cref="Poll"/> next has work (<see cref="Instant.MaxValue"/> for none).</summary>
    public Instant NextDeadline => _deadline;

    /// <summary>Messages dropped because they did not parse (wire errors) or did not belong to us.</summary>
    public long DroppedMalformed { get; private set; }
    public long DroppedUnmatched { get; private set; }

    private static byte[] DefaultClientId(MacAddress mac)
    {
        var id = new byte[7];
        id[0] = 1; // RFC 2132 §9.14: hardware type 1 (Ethernet) followed by the address
        mac.Write(id.AsSpan(1));
        return id;
    }

    /// <summary>Begins acquisition from INIT (RFC 2131 §4.4.1).</summary>
    public void Start(Instant now)
    {
        if (State is not (Dhcpv4State.Init or Dhcpv4State.Stopped)) return;
        State = Dhcpv4State.Init;
        if (_options.MaxInitialDelay > TimeSpan.Zero)
        {
            // RFC 2131 §4.4.1: SHOULD wait a random time between one and ten seconds to desynchronize clients.
            _deadline = now + TimeSpan.FromTicks((long)(_random.NextDouble() * _options.MaxInitialDelay.Ticks));
            return;
        }
        BeginDiscovery(now);
    }

    /// <summary>
    /// Begins from INIT-REBOOT (RFC 2131 §3.2, §4.4.2): broadcast a REQUEST for a remembered address, with the
    /// requested-IP option, no server id and ciaddr zero. ACK binds; NAK, or no answer after
    /// <see cref="Dhcpv4ClientOptions.MaxRequestTransmissions"/> tries, falls back to discovery.
    /// </summary>
    public void StartReboot(Ipv4Address previousAddress, Instant now)
    {
        if (State is not (Dhcpv4State.Init or Dhcpv4State.Stopped)) return;
        State = Dhcpv4State.Rebooting;
        NewTransaction(now);
        _offeredAddress = previousAddress;
        _offerServer = Ipv4Address.Any;
        _requestsSent = 0;
        _backoff = _options.InitialRetransmit;
        SendRebootRequest(now);
        ArmBackoff(now);
    }

    /// <summary>Fires retransmissions and T1 / T2 / expiry timers due at <paramref name="now"/>.</summary>
    public Instant Poll(Instant now)
    {
        // A loop, because a long pause (a suspended host) may cross T1, T2 and expiry in one call.
        for (int guard = 0; guard < 8 && now >= _deadline; guard++)
        {
            switch (State)
            {
                case Dhcpv4State.Init:
                    BeginDiscovery(now);
                    break;
                case Dhcpv4State.Selecting:
                    SendDiscover(now);
                    ArmBackoff(now);
                    break;
                case Dhcpv4State.Requesting:
                    if (_requestsSent >= _options.MaxRequestTransmissions) { BeginDiscovery(now); break; }
                    SendSelectingRequest(now);
                    ArmBackoff(now);
                    break;
                case Dhcpv4State.Rebooting:
                    if (_requestsSent >= _options.MaxRequestTransmissions) { BeginDiscovery(now); break; }
                    SendRebootRequest(now);
                    ArmBackoff(now);
                    break;
                case Dhcpv4State.Bound:
                    // RFC 2131 §4.4.5: at T1 move to RENEWING and unicast a REQUEST to the server.
                    State = Dhcpv4State.Renewing;
                    NewTransaction(now);
                    goto case Dhcpv4State.Renewing;
                case Dhcpv4State.Renewing:
                    if (now >= Lease!.RebindAt)
                    {
                        // RFC 2131 §4.4.5: at T2 move to REBINDING and broadcast.
                        State = Dhcpv4State.Rebinding;
                        NewTransaction(now);
                        goto case Dhcpv4State.Rebinding;
                    }
                    SendRenewRequest(now, Lease.ServerIdentifier);
                    _deadline = RenewRetransmit(now, Lease.RebindAt);
                    break;
                case Dhcpv4State.Rebinding:
                    if (now >= Lease!.ExpiresAt)
                    {
                        // RFC 2131 §4.4.5: lease expired: stop using the address, back to INIT.
                        LoseLease();
                        BeginDiscovery(now);
                        break;
                    }
                    SendRenewRequest(now, Ipv4Address.Broadcast);
                    _deadline = RenewRetransmit(now, Lease.ExpiresAt);
                    break;
                default:
                    _deadline = Instant.MaxValue;
                    break;
            }
        }
        return _deadline;
    }

    /// <summary>
    /// Handles a UDP payload received on port 68. Anything not a well-formed reply to our current
    /// transaction is dropped and counted.
    /// </summary>
    public void Receive(ReadOnlySpan<byte> payload, Instant now)
    {
        if (!DhcpPacket.TryParse(payload, out var p, out _)) { DroppedMalformed++; return; }
        // RFC 2131 §4.4.1: replies must match our xid and chaddr.
        if (p.Op != BootpOp.Reply || p.TransactionId != _xid || p.HardwareLength != 6 || p.ClientMac != _options.Mac)
        {
            DroppedUnmatched++;
            return;
        }
        var type = p.MessageType;
        switch (State)
        {
            case Dhcpv4State.Selecting when type == DhcpMessageType.Offer:
                // RFC 2131 §4.4.1: choose an offer (the first valid one) and request it, naming the server.
                if (!p.YourAddress.IsUnicast || p.ServerIdentifier is not { } sid) { DroppedUnmatched++; return; }
                _offeredAddress = p.YourAddress;
                _offerServer = sid;
                State = Dhcpv4State.Requesting;
                _requestsSent = 0;
                _backoff = _options.InitialRetransmit;
                SendSelectingRequest(now);
                ArmBackoff(now);
                return;
            case Dhcpv4State.Requesting when type == DhcpMessageType.Ack:
                // RFC 2131 §4.3.2: only the selected server's answer counts.
                if (p.ServerIdentifier is { } ackSid && ackSid != _offerServer) { DroppedUnmatched++; return; }
                Bind(p, now, renewed: false);
                return;
            case Dhcpv4State.Rebooting when type == DhcpMessageType.Ack:
                Bind(p, now, renewed: false);
                return;
            case Dhcpv4State.Renewing or Dhcpv4State.Rebinding when type == DhcpMessageType.Ack:
                Bind(p, now, renewed: p.YourAddress == Lease!.Address);
                return;
            case Dhcpv4State.Requesting or Dhcpv4State.Rebooting or Dhcpv4State.Renewing or Dhcpv4State.Rebinding when type == DhcpMessageType.Nak:
                // RFC 2131 §4.4.4 (and §3.1 step 5): a DHCPNAK restarts configuration from INIT.
                if (State == Dhcpv4State.Requesting && p.ServerIdentifier is { } nakSid && nakSid != _offerServer) { DroppedUnmatched++; return; }
                if (Lease is not null) LoseLease();
                BeginDiscovery(now);
                return;
            default:
                DroppedUnmatched++;
                return;
        }
    }

    /// <summary>
    /// The network layer found the bound address in use (ARP probe answered, RFC 2131 §2.2 / §4.4.1):
    /// send DHCPDECLINE, drop the lease, and restart after at least ten seconds (RFC 2131 §3.1 step 5).
    /// </summary>
    public void Decline(Instant now)
    {
        if (Lease is not { } lease) return;
        var repr = BaseRequest(DhcpMessageType.Decline, now) with
        {
            // RFC 2131 §4.4.1 table 5: DECLINE carries requested IP and server id, ciaddr 0, no parameter list.
            RequestedAddress = lease.Address,
            ServerIdentifier = lease.ServerIdentifier,
            ParameterRequestList = null,
            HostName = null,
        };
        Send(repr, Ipv4Address.Any, Ipv4Address.Broadcast);
        LoseLease();
        State = Dhcpv4State.Init;
        _deadline = now + _options.DeclineBackoff;
    }

    /// <summary>Gives the lease back on shutdown (RFC 2131 §4.4.6) and stops.</summary>
    public void Release(Instant now)
    {
        if (Lease is { } lease)
        {
            NewTransaction(now);
            var repr = BaseRequest(DhcpMessageType.Release, now) with
            {
                // RFC 2131 table 5: RELEASE has ciaddr set, server id, no requested IP, unicast to the server.
                ClientAddress = lease.Address,
                ServerIdentifier = lease.ServerIdentifier,
                ParameterRequestList = null,
                HostName = null,
            };
            Send(repr, lease.Address, lease.ServerIdentifier);
            LoseLease();
        }
        State = Dhcpv4State.Stopped;
        _deadline = Instant.MaxValue;
    }

    private void BeginDiscovery(Instant now)
    {
        State = Dhcpv4State.Selecting;
        NewTransaction(now);
        _backoff = _options.InitialRetransmit;
        SendDiscover(now);
        ArmBackoff(now);
    }

    private void NewTransaction(Instant now)
    {
        _xid = _random.NextUInt32();
        _transactionStart = now;
    }

    /// <summary>RFC 2131 §4.1: 4 s, 8 s, 16 s ... up to 64 s, each randomized by ±1 s.</summary>
    private void ArmBackoff(Instant now)
    {
        long jitterTicks = _options.Jitter.Ticks;
        long jitter = jitterTicks == 0 ? 0 : (long)((_random.NextDouble() * 2 - 1) * jitterTicks);
        _deadline = now + _backoff + TimeSpan.FromTicks(jitter);
        var doubled = _backoff + _backoff;
        _backoff = doubled > _options.MaxRetransmit ? _options.MaxRetransmit : doubled;
    }

    /// <summary>RFC 2131 §4.4.5: wait half the remaining time to <paramref name="limit"/>, at least 60 s, never past it.</summary>
    private Instant RenewRetransmit(Instant now, Instant limit)
    {
        var half = TimeSpan.FromTicks((limit - now).Ticks / 2);
        if (half < _options.MinRenewRetransmit) half = _options.MinRenewRetransmit;
        return Instant.Min(now + half, limit);
    }

    private DhcpRepr BaseRequest(DhcpMessageType type, Instant now) => new()
    {
        Op = BootpOp.Request,
        MessageType = type,
        TransactionId = _xid,
        // RFC 2131 §2: 'secs', seconds elapsed since the client began the exchange.
        Seconds = (ushort)Math.Clamp((long)(now - _transactionStart).TotalSeconds, 0, ushort.MaxValue),
        ClientMac = _options.Mac,
        ClientIdentifier = _clientId,
        ParameterRequestList = _options.ParameterRequestList,
        HostName = _hostName,
    };

    private void SendDiscover(Instant now) =>
        // RFC 2131 table 5: DISCOVER, ciaddr 0, no server id; broadcast from 0.0.0.0.
        Send(BaseRequest(DhcpMessageType.Discover, now), Ipv4Address.Any, Ipv4Address.Broadcast);

    private void SendSelectingRequest(Instant now)
    {
        _requestsSent++;
        // RFC 2131 §4.3.2 SELECTING: server id and requested IP MUST be set, ciaddr MUST be zero; broadcast.
        var repr = BaseRequest(DhcpMessageType.Request, now) with { ServerIdentifier = _offerServer, RequestedAddress = _offeredAddress };
        Send(repr, Ipv4Address.Any, Ipv4Address.Broadcast);
    }

    private void SendRebootRequest(Instant now)
    {
        _requestsSent++;
        // RFC 2131 §4.3.2 INIT-REBOOT: requested IP set, no server id, ciaddr zero; broadcast.
        var repr = BaseRequest(DhcpMessageType.Request, now) with { RequestedAddress = _offeredAddress };
        Send(repr, Ipv4Address.Any, Ipv4Address.Broadcast);
    }

    private void SendRenewRequest(Instant now, Ipv4Address destination)
    {
        // RFC 2131 §4.3.2 RENEWING / REBINDING: no server id, no requested IP, ciaddr = our address.
        var repr = BaseRequest(DhcpMessageType.Request, now) with { ClientAddress = Lease!.Address };
        Send(repr, Lease.Address, destination);
    }

    private void Send(in DhcpRepr repr, Ipv4Address source, Ipv4Address destination)
    {
        int n = repr.Write(_buffer);
        _sink.Send(_buffer.AsSpan(0, n), source, destination);
    }

    private void Bind(DhcpPacket ack, Instant now, bool renewed)
    {
        // RFC 2131 §4.3.1: a DHCPACK to a REQUEST carries the lease time; without one we cannot time the lease.
        if (ack.LeaseTime is not { } leaseSeconds || !ack.YourAddress.IsUnicast) { DroppedUnmatched++; return; }
        var previous = Lease;
        var server = ack.ServerIdentifier ?? previous?.ServerIdentifier ?? _offerServer;
        // RFC 2131 §4.3.1: an ACK MUST carry the server identifier; without one we could never renew by unicast.
        if (server.IsUnspecified) { DroppedUnmatched++; return; }
        if (previous is not null && !renewed) LoseLease();

        TimeSpan lease, t1, t2;
        if (leaseSeconds == uint.MaxValue)
        {
            lease = t1 = t2 = Timeout.InfiniteTimeSpan;
        }
        else
        {
            lease = TimeSpan.FromSeconds(leaseSeconds);
            // RFC 2131 §4.4.5: T1 defaults to 0.5 x lease, T2 to 0.875 x lease; keep T1 < T2 < lease.
            t1 = ack.RenewalTime is { } r ? TimeSpan.FromSeconds(r) : lease * 0.5;
            t2 = ack.RebindingTime is { } b ? TimeSpan.FromSeconds(b) : lease * 0.875;
            if (t2 > lease || t2 <= TimeSpan.Zero) t2 = lease * 0.875;
            if (t1 > t2 || t1 <= TimeSpan.Zero) t1 = t2 * (0.5 / 0.875);
        }
        var mask = ack.SubnetMask;
        var domain = ack.DomainName;

        Lease = new Dhcpv4Lease(
            ack.YourAddress,
            mask is { } m ? PrefixLengthOf(m) : DefaultPrefixLength(ack.YourAddress),
            server,
            ack.Routers.ToArray(),
            ack.DnsServers.ToArray(),
            ack.InterfaceMtu is { } mtu && mtu >= 68 ? mtu : null, // RFC 2132 §5.1: minimum legal MTU 68
            domain.IsEmpty ? null : Encoding.ASCII.GetString(domain),
            ack.BroadcastAddress,
            lease, t1, t2,
            // RFC 2131 §4.4.1: times are relative to when the request was sent; we use the transaction start.
            _transactionStart);
        State = Dhcpv4State.Bound;
        _deadline = Lease.RenewAt;
        _sink.OnLeaseEvent(renewed ? Dhcpv4EventKind.LeaseRenewed : Dhcpv4EventKind.LeaseAcquired, Lease);
    }

    private void LoseLease()
    {
        var lease = Lease;
        Lease = null;
        if (lease is not null) _sink.OnLeaseEvent(Dhcpv4EventKind.LeaseLost, lease);
    }

    /// <summary>Length of the run of leading one bits of a mask (a non-contiguous mask counts up to its first zero).</summary>
    public static int PrefixLengthOf(Ipv4Address mask) => BitOperations.LeadingZeroCount(~mask.Value);

    private static int DefaultPrefixLength(Ipv4Address a) => (a.Value >> 29) switch
    {
        // Classful default when the server sends no mask (RFC 1122 §3.3.1.1 leaves it to configuration).
        < 4 => 8,
        < 6 => 16,
        _ => 24,
    };
}
