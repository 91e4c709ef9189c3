using System.Net;

namespace NetStack.Sockets;

/// <summary>
/// Resolves a host name to addresses for <see cref="TcpSockets.ConnectAsync(string, int, TcpSocketOptions?, CancellationToken)"/>,
/// like <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/> (the stack's DNS stub resolver's
/// <c>ResolveAsync</c> has this shape). Addresses are tried in the order returned.
/// </summary>
internal delegate Task<IPAddress[]> TcpHostResolver(string hostName, CancellationToken cancellationToken);
