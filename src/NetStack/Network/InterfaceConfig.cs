using NetStack.Wire;

namespace NetStack.Network;

/// <summary>How an interface is brought up: static addresses and gateways, or DHCPv4 / SLAAC.</summary>
public sealed class InterfaceConfig
{
    /// <summary>A name for logs and statistics; defaults to "if{index}".</summary>
    public string? Name { get; init; }

    /// <summary>Our MAC on the link; defaults to the device's.</summary>
    public MacAddress? HardwareAddress { get; init; }

    /// <summary>IP MTU; defaults to the device's.</summary>
    public int? Mtu { get; init; }

    /// <summary>Static IPv4 addresses with their prefix lengths.</summary>
    public IReadOnlyList<Ipv4Cidr> Ipv4Addresses { get; init; } = [];
    /// <summary>The IPv4 default gateway (none: only on-link destinations are reached).</summary>
    public Ipv4Address? Ipv4Gateway { get; init; }

    /// <summary>Global (or ULA) IPv6 addresses; a link-local address is always formed when IPv6 is enabled.</summary>
    public IReadOnlyList<Ipv6Cidr> Ipv6Addresses { get; init; } = [];
    /// <summary>The IPv6 default gateway (besides routers learned from router advertisements).</summary>
    public Ipv6Address? Ipv6Gateway { get; init; }

    /// <summary>Whether IPv4 runs on the interface.</summary>
    public bool EnableIpv4 { get; init; } = true;
    /// <summary>Whether IPv6 runs on the interface (a link-local address is formed, RFC 4862 §5.3).</summary>
    public bool EnableIpv6 { get; init; } = true;

    /// <summary>Obtain an IPv4 address, gateway, DNS servers and MTU by DHCPv4 (RFC 2131).</summary>
    public bool Dhcpv4 { get; init; }

    /// <summary>
    /// Form addresses from router advertisements (RFC 4862 §5.5.3) and solicit them (RFC 4861 §6.3.7). On by default,
    /// also beside static addresses, as a Linux host (accept_ra=1, autoconf=1); never on a <see cref="Forwarding"/>
    /// interface. Off, advertisements that arrive still give default routers, prefixes, MTU and DNS servers.
    /// </summary>
    public bool Slaac { get; init; } = true;

    /// <summary>Forward packets not addressed to us between interfaces (router mode, RFC 1812 / RFC 8200).</summary>
    public bool Forwarding { get; init; }

    /// <summary>
    /// Send IPv6 Router Advertisements on this interface (RFC 4861 §6.2: an advertising interface). Needs
    /// <see cref="Forwarding"/>: hosts never send them (RFC 4861 §6.3.4).
    /// </summary>
    public Network.Ipv6.RouterAdvertisementConfig? RouterAdvertisements { get; init; }
}
