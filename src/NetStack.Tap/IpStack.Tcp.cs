using System.Net;
using System.Net.Http;
using NetStack.Sockets;

namespace NetStack.Tap;

/// <summary>The TCP socket API of an <see cref="IpStack"/> (see docs/tcp.md): listen, connect by address or name, HttpClient wiring.</summary>
public sealed partial class IpStack
{
    private TcpSockets? _tcpSockets;

    /// <summary>Wires the TCP socket API and lets the DNS resolver retry truncated answers over TCP (RFC 7766 §5).</summary>
    partial void OnCreated()
    {
        _tcpSockets = new TcpSockets(Host, Tcp, ResolveAsync);
        var sockets = _tcpSockets;
        Dns.TcpConnect = async (server, cancellationToken) =>
            await sockets.ConnectAsync(server, new TcpSocketOptions { NoDelay = true }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The TCP socket API over <see cref="Tcp"/>, resolving names through <see cref="ResolveAsync"/>; it keeps every
    /// listener and connection opened through this stack, for <see cref="StopAsync"/>.</summary>
    internal TcpSockets TcpSockets => _tcpSockets!;

    /// <summary>Listens for TCP connections (<see cref="IPAddress.Any"/>: every address of both families); see <see cref="AsyncTcpListener"/>.</summary>
    public Task<AsyncTcpListener> ListenTcpAsync(IPEndPoint local, int backlog = 128, TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        return TcpSockets.ListenAsync(local, backlog, options, cancellationToken);
    }

    /// <summary>Opens a TCP connection to <paramref name="remote"/>; see <see cref="TcpConnectionStream"/>.</summary>
    public Task<TcpConnectionStream> ConnectTcpAsync(IPEndPoint remote, TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        return TcpSockets.ConnectAsync(remote, options, cancellationToken);
    }

    /// <summary>Opens a TCP connection to <paramref name="hostName"/> (resolved by the stack's DNS resolver, addresses tried in order).</summary>
    public Task<TcpConnectionStream> ConnectTcpAsync(string hostName, int port, TcpSocketOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        return TcpSockets.ConnectAsync(hostName, port, options, cancellationToken);
    }

    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/> that runs <see cref="HttpClient"/> over this stack.</summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> HttpConnectCallback(TcpSocketOptions? options = null) =>
        TcpSockets.HttpConnectCallback(options);
}
