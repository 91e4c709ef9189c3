using System.Net;
using NetStack.Sockets;
using NetStack.Tap;

namespace NetStack.Tests.Api.Support;

/// <summary>The TCP side of the test DNS server (RFC 7766; RFC 1035 §4.2.2 two-byte length prefix).</summary>
internal sealed partial class TestDnsServer
{
    private int _tcpQueries;

    public int TcpQueries => Volatile.Read(ref _tcpQueries);

    public static async Task<TestDnsServer> StartWithTcpAsync(IpStack stack, Dictionary<string, IPAddress[]> addresses)
    {
        var server = await StartAsync(stack, addresses);
        var listener = await stack.TcpSockets.ListenAsync(new IPEndPoint(IPAddress.Any, 53));
        var loop = Task.Run(() => server.ServeTcpAsync(listener));
        server.StopExtra = async () =>
        {
            await listener.DisposeAsync();
            await loop;
        };
        return server;
    }

    private async Task ServeTcpAsync(AsyncTcpListener listener)
    {
        var answer = new byte[4096]; // RFC 7766 §6.2.3: no 512-byte limit over TCP
        while (true)
        {
            TcpConnectionStream c;
            try { c = await listener.AcceptAsync(); }
            catch (Exception) { return; }
            await using (c)
            {
                Interlocked.Increment(ref _tcpQueries);
                var prefix = new byte[2];
                await c.ReadExactlyAsync(prefix);
                var query = new byte[System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await c.ReadExactlyAsync(query);
                int n = Answer(query, answer, overTcp: true);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)n);
                await c.WriteAsync(prefix);
                await c.WriteAsync(answer.AsMemory(0, n));
                await c.FlushAsync();
            }
        }
    }
}
