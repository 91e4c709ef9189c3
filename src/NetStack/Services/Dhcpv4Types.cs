using NetStack.Wire;

namespace NetStack.Services;

/// <summary>Client states of RFC 2131 §4.4 (figure 5), plus <see cref="Stopped"/> after a release.</summary>
internal enum Dhcpv4State
{
    Init,
    Selecting,
    Requesting,
    Bound,
    Renewing,
    Rebinding,
    /// <summary>RFC 2131 §3.2 / §4.4.2: verifying a remembered address after a reboot (INIT-REBOOT / REBOOTING).</summary>
    Rebooting,
    Stopped,
}

/// <summary>A lease the client holds: the configuration to install on the interface.</summary>
public sealed record Dhcpv4Lease(
    Ipv4Address Address,
    int PrefixLength,
    Ipv4Address ServerIdentifier,
    IReadOnlyList<Ipv4Address> Routers,
    IReadOnlyList<Ipv4Address> DnsServers,
    ushort? Mtu,
    string? DomainName,
    Ipv4Address? BroadcastAddress,
    TimeSpan LeaseTime,
    TimeSpan RenewalTime,
    TimeSpan RebindingTime,
    Instant AcquiredAt)
{
    /// <summary>True when the server granted an infinite lease (RFC 2131 §3.3, 0xFFFFFFFF).</summary>
    public bool IsInfinite => LeaseTime == Timeout.InfiniteTimeSpan;
    /// <summary>When renewing starts (T1, RFC 2131 §4.4.5).</summary>
    public Instant RenewAt => IsInfinite ? Instant.MaxValue : AcquiredAt + RenewalTime;
    /// <summary>When rebinding starts (T2, RFC 2131 §4.4.5).</summary>
    public Instant RebindAt => IsInfinite ? Instant.MaxValue : AcquiredAt + RebindingTime;
    /// <summary>When the lease ends.</summary>
    public Instant ExpiresAt => IsInfinite ? Instant.MaxValue : AcquiredAt + LeaseTime;
}

/// <summary>What happened to the lease.</summary>
internal enum Dhcpv4EventKind
{
    /// <summary>A new address is bound: install it.</summary>
    LeaseAcquired,
    /// <summary>The same address was extended (renew or rebind); timers moved.</summary>
    LeaseRenewed,
    /// <summary>The address must be removed (expiry, NAK, decline, release).</summary>
    LeaseLost,
}

/// <summary>Where the client sends its actions: the imperative shell performs them (UDP 68 -> 67).</summary>
internal interface IDhcpv4ClientSink
{
    /// <summary>
    /// Send <paramref name="payload"/> as a UDP datagram from port 68 to port 67. <paramref name="destination"/> is
    /// <see cref="Ipv4Address.Broadcast"/> (sent to the link broadcast) or the server's unicast address;
    /// <paramref name="source"/> is 0.0.0.0 until an address is bound (RFC 2131 §4.1).
    /// </summary>
    void Send(ReadOnlySpan<byte> payload, Ipv4Address source, Ipv4Address destination);

    /// <summary>The lease changed.</summary>
    void OnLeaseEvent(Dhcpv4EventKind kind, Dhcpv4Lease lease);
}

/// <summary>Configuration of a <see cref="Dhcpv4Client"/>.</summary>
public sealed record Dhcpv4ClientOptions(MacAddress Mac)
{
    /// <summary>Option 61; defaults to type 1 + the MAC (RFC 2132 §9.14).</summary>
    public byte[]? ClientIdentifier { get; init; }
    /// <summary>Option 12, sent in DISCOVER and REQUEST when set.</summary>
    public string? HostName { get; init; }
    /// <summary>The options asked of the server (option 55, RFC 2132 §9.8).</summary>
    public byte[] ParameterRequestList { get; init; } =
    [
        DhcpOptionCode.SubnetMask, DhcpOptionCode.Router, DhcpOptionCode.DnsServers, DhcpOptionCode.DomainName,
        DhcpOptionCode.InterfaceMtu, DhcpOptionCode.BroadcastAddress, DhcpOptionCode.LeaseTime,
        DhcpOptionCode.RenewalTime, DhcpOptionCode.RebindingTime,
    ];
    /// <summary>RFC 2131 §4.1: first retransmission delay 4 s, doubled each time ...</summary>
    public TimeSpan InitialRetransmit { get; init; } = TimeSpan.FromSeconds(4);
    /// <summary>... up to 64 s ...</summary>
    public TimeSpan MaxRetransmit { get; init; } = TimeSpan.FromSeconds(64);
    /// <summary>... randomized by a uniform amount in [-1 s, +1 s].</summary>
    public TimeSpan Jitter { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>REQUEST transmissions in REQUESTING before giving up and starting over (RFC 2131 §4.4.1 leaves it to us).</summary>
    public int MaxRequestTransmissions { get; init; } = 4;
    /// <summary>RFC 2131 §4.4.5: retransmissions in RENEWING / REBINDING wait at least 60 s.</summary>
    public TimeSpan MinRenewRetransmit { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>RFC 2131 §3.1 step 5: wait at least 10 s after a DECLINE before restarting.</summary>
    public TimeSpan DeclineBackoff { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>RFC 2131 §4.4.1: an optional random wait of up to this before the first DISCOVER (zero: none).</summary>
    public TimeSpan MaxInitialDelay { get; init; } = TimeSpan.Zero;
}
