using System.Net;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Tests.Api.Support;

/// <summary>
/// Two real-time <see cref="IpStack"/>s joined by an in-memory Ethernet link (<see cref="IpStackLink"/>), each on its
/// own loop thread: A is 192.0.2.1/24, B is 192.0.2.2/24 (documentation addresses, RFC 5737). No root, no devices.
/// </summary>
internal sealed class StackPair : IAsyncDisposable
{
    public static readonly IPAddress AddressA = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress AddressB = IPAddress.Parse("192.0.2.2");

    private readonly IpStackLink _link;

    private StackPair(IpStackLink link, IpStack a, IpStack b)
    {
        _link = link;
        A = a;
        B = b;
    }

    public IpStack A { get; }
    public IpStack B { get; }

    public static async Task<StackPair> StartAsync(UdpOptions? udpB = null, IpStackOptions? optionsA = null, IpStackOptions? optionsB = null,
        InterfaceConfig? configA = null, InterfaceConfig? configB = null)
    {
        var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:0a"), MacAddress.Parse("02:00:00:00:00:0b"));
        var a = new IpStack(link.A, configA ?? Config("192.0.2.1/24"), (optionsA ?? new IpStackOptions()) with { Name = "A", Random = new SeededRandom(1) });
        var b = new IpStack(link.B, configB ?? Config("192.0.2.2/24"), (optionsB ?? new IpStackOptions()) with { Name = "B", Random = new SeededRandom(2), Udp = udpB });
        await a.StartAsync();
        await b.StartAsync();
        return new StackPair(link, a, b);
    }

    /// <summary>
    /// A dual-stack pair, started: A is 192.0.2.1/24 and 2001:db8::1/64, B 192.0.2.2/24 and 2001:db8::2/64 (MACs
    /// 02:00:00:00:00:01 and :02), without SLAAC, duplicate address detection or metrics.
    /// </summary>
    public static async Task<StackPair> StartDualStackAsync()
    {
        var link = new IpStackLink(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        var a = DualStack(link.A, "192.0.2.1", "2001:db8::1");
        var b = DualStack(link.B, "192.0.2.2", "2001:db8::2");
        await a.StartAsync();
        await b.StartAsync();
        return new StackPair(link, a, b);
    }

    private static IpStack DualStack(INetDevice device, string v4, string v6) => new(device, new InterfaceConfig
    {
        Ipv4Addresses = [Ipv4Cidr.Parse(v4 + "/24")],
        Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse(v6), 64)],
        Slaac = false,
    }, new IpStackOptions
    {
        EnableMetrics = false,
        Stack = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } },
    });

    private static InterfaceConfig Config(string v4) => new()
    {
        Ipv4Addresses = [Ipv4Cidr.Parse(v4)],
        EnableIpv6 = false,
    };

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        _link.Dispose();
    }
}
