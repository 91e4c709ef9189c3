using System.Net.Sockets;
using NetStack.Wire;

namespace NetStack.Services;

/// <summary>
/// A DNS lookup that failed, as a <see cref="SocketException"/> with the error code <see cref="System.Net.Dns.GetHostAddressesAsync(string)"/>
/// uses for the same case: <see cref="SocketError.HostNotFound"/> for a name that does not exist (NXDOMAIN),
/// <see cref="SocketError.NoData"/> for a name without records of the asked type, <see cref="SocketError.TryAgain"/>
/// when no server answered in time or every server failed. It carries the name, the record type and the resolver's status.
/// </summary>
public sealed class DnsResolutionException : SocketException
{
    /// <summary>Creates the exception for a lookup of <paramref name="name"/> (<paramref name="type"/>) that ended with <paramref name="status"/> and <paramref name="rcode"/>.</summary>
    public DnsResolutionException(string name, DnsType type, DnsQueryStatus status, DnsRcode rcode, string message)
        : base((int)ErrorFor(status), message)
    {
        Name = name;
        Type = type;
        Status = status;
        Rcode = rcode;
    }

    /// <summary>The name looked up.</summary>
    public string Name { get; }

    /// <summary>The record type asked for.</summary>
    public DnsType Type { get; }

    /// <summary>How the resolver ended the query.</summary>
    public DnsQueryStatus Status { get; }

    /// <summary>The last response code received (NoError when none came).</summary>
    public DnsRcode Rcode { get; }

    /// <summary>The <see cref="SocketError"/> a lookup with this outcome reports.</summary>
    public static SocketError ErrorFor(DnsQueryStatus status) => status switch
    {
        DnsQueryStatus.NameError => SocketError.HostNotFound,
        DnsQueryStatus.NoData => SocketError.NoData,
        DnsQueryStatus.InvalidName => SocketError.HostNotFound,
        _ => SocketError.TryAgain,
    };
}
