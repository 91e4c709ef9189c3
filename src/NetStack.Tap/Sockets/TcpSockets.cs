using System.Net;
using System.Net.Http;
using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>
/// The TCP socket API of one stack: a <see cref="TcpLayer"/>, the loop that owns it, an optional host-name resolver, and
/// the <see cref="TcpSocketHub"/> that knows every listener and stream opened through it (so that the owner,
/// <see cref="Tap.IpStack"/>, closes them all when it stops). Users reach it through <see cref="Tap.IpStack"/>'s
/// <c>ListenTcpAsync</c> / <c>ConnectTcpAsync</c> / <c>HttpConnectCallback</c>.
/// </summary>
internal sealed class TcpSockets
{
    /// <summary>Creates the API over <paramref name="layer"/>, driven by <paramref name="dispatcher"/>.</summary>
    public TcpSockets(IStackDispatcher dispatcher, TcpLayer layer, TcpHostResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(layer);
        Dispatcher = dispatcher;
        Layer = layer;
        Resolver = resolver;
        Hub = new TcpSocketHub(layer);
    }

    /// <summary>The loop every call is handed to.</summary>
    public IStackDispatcher Dispatcher { get; }

    /// <summary>The sans-IO TCP engine (touch it only on the loop).</summary>
    public TcpLayer Layer { get; }

    /// <summary>Resolves host names for <see cref="ConnectAsync(string, int, TcpSocketOptions?, CancellationToken)"/>.</summary>
    public TcpHostResolver? Resolver { get; }

    /// <summary>Every listener and stream opened here and not yet closed (loop only).</summary>
    public TcpSocketHub Hub { get; }

    /// <inheritdoc cref="AsyncTcpListener.ListenAsync"/>
    public Task<AsyncTcpListener> ListenAsync(IPEndPoint local, int backlog = 128, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        AsyncTcpListener.ListenAsync(Dispatcher, Hub, local, backlog, options, cancellationToken);

    /// <inheritdoc cref="TcpConnectionStream.ConnectAsync(IStackDispatcher, TcpSocketHub, IPEndPoint, TcpSocketOptions?, CancellationToken)"/>
    public Task<TcpConnectionStream> ConnectAsync(IPEndPoint remote, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        TcpConnectionStream.ConnectAsync(Dispatcher, Hub, remote, options, cancellationToken);

    /// <inheritdoc cref="TcpConnectionStream.ConnectAsync(IStackDispatcher, TcpSocketHub, string, int, TcpHostResolver?, TcpSocketOptions?, CancellationToken)"/>
    public Task<TcpConnectionStream> ConnectAsync(string hostName, int port, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        TcpConnectionStream.ConnectAsync(Dispatcher, Hub, hostName, port, Resolver, options, cancellationToken);

    /// <summary>
    /// A <see cref="SocketsHttpHandler.ConnectCallback"/> that opens <see cref="HttpClient"/>'s connections on this stack
    /// (the request's host is resolved through <see cref="Resolver"/>). For https, the handler runs
    /// <see cref="System.Net.Security.SslStream"/> over the returned stream itself.
    /// </summary>
    public Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>> HttpConnectCallback(TcpSocketOptions? options = null) =>
        async (context, cancellationToken) =>
        {
            var endpoint = context.DnsEndPoint;
            return await ConnectAsync(endpoint.Host, endpoint.Port, options ?? new TcpSocketOptions { NoDelay = true }, cancellationToken).ConfigureAwait(false);
        };
}
