using System.Net;
using System.Net.Http;
using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>
/// The TCP socket API of one stack: a <see cref="TcpLayer"/>, the loop that owns it, and an optional host-name
/// resolver. Listen, connect, and plug the stack into <see cref="HttpClient"/>:
/// <code>
/// var tcp = new TcpSockets(dispatcher, tcpLayer, dns.ResolveAsync);
/// await using var listener = await tcp.ListenAsync(new IPEndPoint(IPAddress.Any, 7));
/// await using var client = await tcp.ConnectAsync("example.test", 7);
/// using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = tcp.HttpConnectCallback() });
/// </code>
/// </summary>
public sealed class TcpSockets
{
    /// <summary>Creates the API over <paramref name="layer"/>, driven by <paramref name="dispatcher"/>.</summary>
    public TcpSockets(IStackDispatcher dispatcher, TcpLayer layer, TcpHostResolver? resolver = null)
    {
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(layer);
        Dispatcher = dispatcher;
        Layer = layer;
        Resolver = resolver;
    }

    /// <summary>The loop every call is handed to.</summary>
    public IStackDispatcher Dispatcher { get; }

    /// <summary>The sans-IO TCP engine (touch it only on the loop).</summary>
    public TcpLayer Layer { get; }

    /// <summary>Resolves host names for <see cref="ConnectAsync(string, int, TcpSocketOptions?, CancellationToken)"/>.</summary>
    public TcpHostResolver? Resolver { get; }

    /// <inheritdoc cref="AsyncTcpListener.ListenAsync"/>
    public Task<AsyncTcpListener> ListenAsync(IPEndPoint local, int backlog = 128, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        AsyncTcpListener.ListenAsync(Dispatcher, Layer, local, backlog, options, cancellationToken);

    /// <inheritdoc cref="TcpConnectionStream.ConnectAsync(IStackDispatcher, TcpLayer, IPEndPoint, TcpSocketOptions?, CancellationToken)"/>
    public Task<TcpConnectionStream> ConnectAsync(IPEndPoint remote, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        TcpConnectionStream.ConnectAsync(Dispatcher, Layer, remote, options, cancellationToken);

    /// <inheritdoc cref="TcpConnectionStream.ConnectAsync(IStackDispatcher, TcpLayer, string, int, TcpHostResolver?, TcpSocketOptions?, CancellationToken)"/>
    public Task<TcpConnectionStream> ConnectAsync(string hostName, int port, TcpSocketOptions? options = null, CancellationToken cancellationToken = default) =>
        TcpConnectionStream.ConnectAsync(Dispatcher, Layer, hostName, port, Resolver, options, cancellationToken);

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
