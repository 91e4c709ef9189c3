using System.Globalization;
using System.Net;

namespace NetStack.Wire;

/// <summary>An IP address and a port, without allocation (the core's <see cref="IPEndPoint"/>).</summary>
public readonly record struct IpEndpoint(IpAddress Address, ushort Port)
{
    /// <summary>The endpoint of an <see cref="IPEndPoint"/>.</summary>
    public static IpEndpoint FromIPEndPoint(IPEndPoint endpoint) =>
        new(IpAddress.FromIPAddress(endpoint.Address), checked((ushort)endpoint.Port));

    /// <summary>The endpoint as an <see cref="IPEndPoint"/> (allocates).</summary>
    public IPEndPoint ToIPEndPoint() => new(Address.ToIPAddress(), Port);

    /// <summary><c>address:port</c>, or <c>[address]:port</c> for IPv6.</summary>
    public override string ToString() => Address.IsV6
        ? string.Create(CultureInfo.InvariantCulture, $"[{Address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");
}
