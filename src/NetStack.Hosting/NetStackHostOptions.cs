namespace NetStack.Hosting;

/// <summary>
/// The settings of a hosted <see cref="Tap.IpStack"/>, bound from configuration (section <c>NetStack</c> by convention) or
/// set in code. Addresses are strings in CIDR notation, so that a wrong one is reported at start with the setting's name
/// (see <see cref="NetStackHostOptionsValidator"/>). Example (appsettings.json):
/// <code>
/// "NetStack": {
///   "Device": { "Kind": "Tap", "Name": "tap0" },
///   "Ipv4": { "Addresses": [ "192.0.2.2/24" ], "Gateway": "192.0.2.1" },
///   "Ipv6": { "Addresses": [ "2001:db8::2/64" ], "Gateway": "2001:db8::1" },
///   "DnsServers": [ "192.0.2.53" ]
/// }
/// </code>
/// </summary>
public sealed class NetStackHostOptions
{
    /// <summary>The stack's name, for logs, metrics (<c>netstack.stack.name</c>) and the loop thread.</summary>
    public string Name { get; set; } = "netstack";

    /// <summary>The device the stack runs on.</summary>
    public NetStackDeviceOptions Device { get; set; } = new();

    /// <summary>IPv4 settings.</summary>
    public NetStackIpv4Options Ipv4 { get; set; } = new();

    /// <summary>IPv6 settings.</summary>
    public NetStackIpv6Options Ipv6 { get; set; } = new();

    /// <summary>Recursive DNS servers (either family), asked before those learned by DHCPv4 and RDNSS.</summary>
    public IList<string> DnsServers { get; set; } = [];

    /// <summary>The link MTU (default: the device's); 68-65535, at least 1280 with IPv6 on (RFC 8200 §5).</summary>
    public int? Mtu { get; set; }

    /// <summary>The stack's MAC address on an Ethernet device (TAP, pcap, simulated), e.g. <c>02:00:00:00:00:01</c>; default: a random locally administered one (TAP) or the device's.</summary>
    public string? MacAddress { get; set; }

    /// <summary>What starting the host waits for.</summary>
    public NetStackReadinessOptions Readiness { get; set; } = new();

    /// <summary>Publish the "NetStack" meter (from the host's <c>IMeterFactory</c> when there is one).</summary>
    public bool EnableMetrics { get; set; } = true;
}

/// <summary>Which device the stack runs on.</summary>
public sealed class NetStackDeviceOptions
{
    /// <summary>
    /// <c>Tap</c> (Ethernet over <c>/dev/net/tun</c>), <c>Tun</c> (raw IP over <c>/dev/net/tun</c>), <c>Pcap</c> (a libpcap live
    /// device: a NIC or veth), <c>Simulated</c> (an in-memory link: the far end is the <see cref="Tap.IpStackLink"/> service's
    /// <c>B</c>; no root needed), or <c>Custom</c> (the device comes from <see cref="NetStackServiceCollectionExtensions.AddNetStack(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration, Func{IServiceProvider, NetStack.Link.INetDevice}?)"/>'s device factory). Case-insensitive.
    /// </summary>
    public string? Kind { get; set; }

    /// <summary>The interface name: the TAP/TUN to open or create (at most 15 characters), or the pcap interface.</summary>
    public string? Name { get; set; }

    /// <summary>TAP/TUN: <c>AttachOrCreate</c> (default), <c>AttachOnly</c> (it must exist, e.g. made by <c>ip tuntap add</c>) or <c>CreateOnly</c>.</summary>
    public string? OpenMode { get; set; }

    /// <summary>TAP/TUN: negotiate the virtio-net header and segmentation offloads (64 KB super-frames); on by default.</summary>
    public bool Offloads { get; set; } = true;
}

/// <summary>IPv4 settings.</summary>
public sealed class NetStackIpv4Options
{
    /// <summary>IPv4 on this interface (default true).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Static addresses in CIDR notation (<c>192.0.2.2/24</c>; without a prefix length, /32).</summary>
    public IList<string> Addresses { get; set; } = [];

    /// <summary>The default gateway, on one of the <see cref="Addresses"/>' subnets.</summary>
    public string? Gateway { get; set; }

    /// <summary>Take an address, gateway and DNS servers from DHCPv4 (RFC 2131); the host's start waits for the lease.</summary>
    public bool Dhcp { get; set; }
}

/// <summary>IPv6 settings.</summary>
public sealed class NetStackIpv6Options
{
    /// <summary>IPv6 on this interface (default true; a link-local address is always formed).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Static addresses in CIDR notation (<c>2001:db8::2/64</c>; without a prefix length, /128).</summary>
    public IList<string> Addresses { get; set; } = [];

    /// <summary>The default gateway (often a link-local address, <c>fe80::1</c>).</summary>
    public string? Gateway { get; set; }

    /// <summary>Form addresses from router advertisements (RFC 4862 SLAAC); default true.</summary>
    public bool Slaac { get; set; } = true;

    /// <summary>RFC 4429 optimistic duplicate address detection: new addresses are usable at once.</summary>
    public bool OptimisticDad { get; set; }
}

/// <summary>What starting the host waits for (<see cref="Tap.IpStack.WaitForReadyAsync"/>).</summary>
public sealed class NetStackReadinessOptions
{
    /// <summary>Whether the hosted service's start waits until the addresses are usable (default true), so that the
    /// hosted services registered after it can connect at once.</summary>
    public bool WaitOnStart { get; set; } = true;

    /// <summary>How long the start may wait before it fails, naming what was awaited (default 30 s).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Also wait for an IPv6 default router and a SLAAC address (when the addresses come from a router).</summary>
    public bool RequireIpv6Router { get; set; }
}
