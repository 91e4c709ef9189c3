using System.Net;
using System.Net.Sockets;
using NetStack.Sockets;

namespace NetStack.Samples.Netstackd.Services;

/// <summary>
/// RFC 862 echo over UDP: each datagram back to its sender. The loop never blocks, so its continuations run on the stack's
/// loop thread (<see cref="AsyncUdpSocket.RunContinuationsOnLoop"/>): one request/response costs one wake-up of the loop,
/// one read and one write, and no thread hop. <paramref name="continuationsOnLoop"/> false keeps them on the thread pool
/// (netstackd does so when the environment sets <c>NETSTACKD_UDP_ECHO_THREADPOOL=1</c>: bench/udp-latency compares both).
/// </summary>
public sealed class UdpEchoService(AsyncUdpSocket socket, ServiceLog log, bool continuationsOnLoop = true)
{
    public async Task RunAsync(CancellationToken stop)
    {
        socket.RunContinuationsOnLoop = continuationsOnLoop;
        var buffer = new byte[65535];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var r = await socket.ReceiveFromAsync(buffer, stop).ConfigureAwait(false);
                try
                {
                    await socket.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint, cancellationToken: stop).ConfigureAwait(false);
                    log.Datagram(r.ReceivedBytes);
                }
                catch (SocketException)
                {
                    // no route back, queue full: counted by the stack; keep serving
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
        {
        }
        await socket.DisposeAsync().ConfigureAwait(false);
    }

    public static IPEndPoint Any(int port) => new(IPAddress.IPv6Any, port);
}
