using System.Globalization;
using System.Net;

namespace NetStack.Wire;

/// <summary>An IP address and a port, without allocation (the core's <see cref="IPEndPoint"/>).</summary>
public readonly record struct IpEndpoint(IpAddress Address, ushort Port)
{
    public static IpEndpoint FromIPEndPoint(IPEndPoint endpoint) =>
        new(IpAddress.FromIPAddress(endpoint.Address), checked((ushort)endpoint.Port));

    public IPEndPoint ToIPEndPoint() => new(Address.ToIPAddress(), Port);

    public override string ToString() => Address.IsV6
        ? string.Create(CultureInfo.InvariantCulture, $"[{Address}]:{Port}")
        : string.Create(CultureInfo.InvariantCulture, $"{Address}:{Port}");
}
