using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Logging;
using NetStack.Services;
using NetStack.Transport.Udp;
using NetStack.Composition;

namespace NetStack.Tap;

/// <summary>Settings of an <see cref="IpStack"/> beyond its interface configuration. Every member has a sensible default.</summary>
public sealed record IpStackOptions
{
    /// <summary>A name for logs, metrics (attribute <c>netstack.stack.name</c>), traces and the loop thread.</summary>
    public string Name { get; init; } = "netstack";

    /// <summary>Where events go (category <c>NetStack.Tap.IpStack</c>); none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Limits of the core stack.</summary>
    public StackOptions? Stack { get; init; }

    /// <summary>UDP limits (queues, ephemeral range).</summary>
    public UdpOptions? Udp { get; init; }

    /// <summary>The stack's randomness (a seeded source makes runs repeatable); cryptographic by default.</summary>
    public IRandomSource? Random { get; init; }

    /// <summary>TCP defaults (buffers, congestion control, timers).</summary>
    public Transport.Tcp.TcpSettings? Tcp { get; init; }

    /// <summary>Event-loop settings.</summary>
    public StackHostOptions? Host { get; init; }

    /// <summary>Recursive DNS servers to use; those learned by DHCPv4 (option 6) and RDNSS are added after these.</summary>
    public IReadOnlyList<IPAddress> DnsServers { get; init; } = [];

    /// <summary>Time to wait for one DNS server before the next is tried.</summary>
    public TimeSpan DnsTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Rounds over the DNS server list before a lookup fails with TryAgain.</summary>
    public int DnsAttempts { get; init; } = 2;

    /// <summary>DNS answers cached (TTL-bounded).</summary>
    public int DnsCacheCapacity { get; init; } = 256;

    /// <summary>DHCPv4 client settings (host name, retransmission); the MAC defaults to the interface's.</summary>
    public Func<Wire.MacAddress, Dhcpv4ClientOptions>? Dhcpv4 { get; init; }

    /// <summary>
    /// <see cref="IpStack.WaitForReadyAsync"/> also waits for an IPv6 default router and a SLAAC address (set it when the
    /// addresses come from router advertisements; a link without a router would never be ready).
    /// </summary>
    public bool ReadyRequiresIpv6Router { get; init; }

    /// <summary>Publish the "NetStack" meter's instruments (System.Diagnostics.Metrics).</summary>
    public bool EnableMetrics { get; init; } = true;

    /// <summary>
    /// Where the "NetStack" meter comes from (dependency injection's <see cref="IMeterFactory"/>, which owns and disposes
    /// it); null: the stack creates and disposes its own <see cref="Meter"/>.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }
}
