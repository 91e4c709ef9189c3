using System.Net;

namespace NetStack.Samples.Tlstunnel.Transport;

/// <summary>
/// Where the tunnel's sockets come from: the NetStack stack on a TAP (<see cref="NetStackTransport"/>) or the host kernel
/// (<see cref="KernelTransport"/>, the benchmark's reference and per-backend "kernel" routes). The tunnel code above it is
/// the same for both.
/// </summary>
public interface ITunnelTransport
{
    /// <summary>A short name for logs ("netstack", "kernel").</summary>
    string Name { get; }

    /// <summary>Listens on <paramref name="port"/> of every address of this transport (both families).</summary>
    Task<ITunnelListener> ListenAsync(int port, int backlog, CancellationToken cancellationToken);

    /// <summary>Connects to <paramref name="host"/> (an address literal or a name) on <paramref name="port"/>.</summary>
    Task<ITunnelConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken);
}

/// <summary>An accepting socket.</summary>
public interface ITunnelListener : IAsyncDisposable
{
    /// <summary>The next connection; throws <see cref="OperationCanceledException"/> or an <see cref="System.Net.Sockets.SocketException"/> once disposed.</summary>
    Task<ITunnelConnection> AcceptAsync(CancellationToken cancellationToken);
}

/// <summary>One TCP connection: a stream plus the two things a relay needs beyond it (half-close and reset).</summary>
public interface ITunnelConnection : IAsyncDisposable
{
    Stream Stream { get; }
    IPEndPoint RemoteEndPoint { get; }
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Sends FIN after the queued bytes; reading goes on.</summary>
    void ShutdownSend();

    /// <summary>Resets the connection (RST) and releases it.</summary>
    void Abort();
}
