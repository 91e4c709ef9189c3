using System.Net;
using NetStack.Sockets;
using NetStack.Tap;

namespace NetStack.Samples.Tlstunnel.Transport;

/// <summary>Sockets of a NetStack <see cref="IpStack"/> (only its front-door methods are used).</summary>
public sealed class NetStackTransport(IpStack stack) : ITunnelTransport
{
    private static readonly TcpSocketOptions Options = new() { NoDelay = true };

    public string Name => "netstack";

    public async Task<ITunnelListener> ListenAsync(int port, int backlog, CancellationToken cancellationToken) =>
        new Listener(await stack.ListenTcpAsync(new IPEndPoint(IPAddress.Any, port), backlog, Options, cancellationToken).ConfigureAwait(false));

    public async Task<ITunnelConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var stream = IPAddress.TryParse(host, out var address)
            ? await stack.ConnectTcpAsync(new IPEndPoint(address, port), Options, cancellationToken).ConfigureAwait(false)
            : await stack.ConnectTcpAsync(host, port, Options, cancellationToken).ConfigureAwait(false);
        return new Connection(stream);
    }

    private sealed class Listener(AsyncTcpListener listener) : ITunnelListener
    {
        public async Task<ITunnelConnection> AcceptAsync(CancellationToken cancellationToken) =>
            new Connection(await listener.AcceptAsync(cancellationToken).ConfigureAwait(false));

        public ValueTask DisposeAsync() => listener.DisposeAsync();
    }

    private sealed class Connection(TcpConnectionStream stream) : ITunnelConnection
    {
        public Stream Stream => stream;
        public IPEndPoint RemoteEndPoint => stream.RemoteEndPoint;
        public IPEndPoint LocalEndPoint => stream.LocalEndPoint;
        public void ShutdownSend() => stream.ShutdownSend();
        public void Abort() => stream.Abort();
        public ValueTask DisposeAsync() => stream.DisposeAsync();
    }
}
