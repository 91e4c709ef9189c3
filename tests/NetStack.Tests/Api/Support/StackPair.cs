using System.Net;
using NetStack.Link;
using NetStack.Network;
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
