using System.Net;
using System.Net.Sockets;

namespace NetStack.Samples.Tlstunnel.Transport;

/// <summary>The host kernel's sockets (System.Net.Sockets): <c>--kernel</c> mode and per-backend "kernel" routes.</summary>
public sealed class KernelTransport(IReadOnlyList<IPAddress>? bindAddresses = null) : ITunnelTransport
{
    public string Name => "kernel";

    public Task<ITunnelListener> ListenAsync(int port, int backlog, CancellationToken cancellationToken)
    {
        var sockets = new List<Socket>();
        try
        {
            if (bindAddresses is null || bindAddresses.Count == 0)
            {
                var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
                sockets.Add(s);
                Bind(s, new IPEndPoint(IPAddress.IPv6Any, port), backlog);
            }
            else
            {
                foreach (var a in bindAddresses)
                {
                    var s = new Socket(a.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    sockets.Add(s);
                    Bind(s, new IPEndPoint(a, port), backlog);
                }
            }
        }
        catch
        {
            foreach (var s in sockets) s.Dispose();
            throw;
        }
        return Task.FromResult<ITunnelListener>(new Listener(sockets));
    }

    private static void Bind(Socket s, IPEndPoint local, int backlog)
    {
        s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        s.Bind(local);
        s.Listen(backlog);
    }

    public async Task<ITunnelConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await s.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return new Connection(s);
            }
            catch (SocketException e)
            {
                s.Dispose();
                last = e;
            }
            catch
            {
                s.Dispose();
                throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>One or more listening sockets (one per bound address) merged into one accept queue.</summary>
    private sealed class Listener : ITunnelListener
    {
        private readonly List<Socket> _sockets;
        private readonly System.Threading.Channels.Channel<Socket> _accepted = System.Threading.Channels.Channel.CreateBounded<Socket>(64);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task[] _loops;

        public Listener(List<Socket> sockets)
        {
            _sockets = sockets;
            _loops = [.. sockets.Select(s => Task.Run(() => AcceptLoopAsync(s)))];
        }

        private async Task AcceptLoopAsync(Socket listener)
        {
            try
            {
                while (true)
                {
                    var s = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
                    s.NoDelay = true;
                    await _accepted.Writer.WriteAsync(s, _stop.Token).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public async Task<ITunnelConnection> AcceptAsync(CancellationToken cancellationToken)
        {
            try
            {
                return new Connection(await _accepted.Reader.ReadAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (System.Threading.Channels.ChannelClosedException)
            {
                throw new SocketException((int)SocketError.OperationAborted);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            foreach (var s in _sockets) s.Dispose();
            await Task.WhenAll(_loops).ConfigureAwait(false);
            _accepted.Writer.TryComplete();
            while (_accepted.Reader.TryRead(out var s)) s.Dispose();
            _stop.Dispose();
        }
    }

    private sealed class Connection(Socket socket) : ITunnelConnection
    {
        private readonly NetworkStream _stream = new(socket, ownsSocket: true);
        public Stream Stream => _stream;
        public IPEndPoint RemoteEndPoint { get; } = Normalize((IPEndPoint)socket.RemoteEndPoint!);
        public IPEndPoint LocalEndPoint { get; } = Normalize((IPEndPoint)socket.LocalEndPoint!);

        private static IPEndPoint Normalize(IPEndPoint e) =>
            e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e;

        public void ShutdownSend()
        {
            try { socket.Shutdown(SocketShutdown.Send); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        public void Abort()
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }

        public ValueTask DisposeAsync() => _stream.DisposeAsync();
    }
}
