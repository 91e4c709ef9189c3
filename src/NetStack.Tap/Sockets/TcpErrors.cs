using System.Net.Sockets;
using NetStack.Transport.Tcp;

namespace NetStack.Sockets;

/// <summary>How the engine's <see cref="TcpError"/> surfaces through the async API (as <see cref="SocketException"/>).</summary>
internal static class TcpErrors
{
    public static SocketError ToSocketError(TcpError error) => error switch
    {
        TcpError.Refused => SocketError.ConnectionRefused,
        TcpError.Reset => SocketError.ConnectionReset,
        TcpError.TimedOut => SocketError.TimedOut,
        TcpError.Unreachable => SocketError.HostUnreachable,
        TcpError.Aborted => SocketError.ConnectionAborted,
        TcpError.AddressNotAvailable => SocketError.AddressNotAvailable,
        _ => SocketError.NotConnected,
    };

    public static SocketException Socket(SocketError error) => new((int)error);

    /// <summary>What <see cref="System.Net.Sockets.NetworkStream"/> throws: an <see cref="IOException"/> around the <see cref="SocketException"/>.</summary>
    public static IOException Io(SocketError error)
    {
        var inner = Socket(error);
        return new IOException($"Unable to transfer data on the transport connection: {inner.Message}", inner);
    }
}
