using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using NetStack.Tap;
using NetStack.Tests.Api.Support;

namespace NetStack.Tests.TcpApi;

/// <summary>
/// The TCP API end to end through the whole stack: two <see cref="IpStack"/>s (Ethernet, ARP/NDP, IPv4/IPv6, TCP) over an
/// in-memory link, each on its own real-time loop thread.
/// </summary>
public sealed class IpStackTcpTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("192.0.2.2")]
    [InlineData("2001:db8::2")]
    public async Task Echo_and_half_close_work_across_the_whole_stack(string server)
    {
        await using var pair = await StackPair.StartDualStackAsync();
        var (a, b) = (pair.A, pair.B);
        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 7));
        var serving = Task.Run(async () =>
        {
            await using var s = await listener.AcceptAsync();
            await s.CopyToAsync(s);
        });
        await using var c = await a.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse(server), 7)).WaitAsync(Limit);
        var data = RandomNumberGenerator.GetBytes(500_000);
        var reading = Task.Run(async () =>
        {
            var ms = new MemoryStream();
            await c.CopyToAsync(ms);
            return ms.ToArray();
        });
        await c.WriteAsync(data);
        c.ShutdownSend();
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await reading.WaitAsync(Limit)));
        await serving.WaitAsync(Limit);
    }

    [Fact]
    public async Task HttpClient_GETs_from_a_server_on_another_IpStack()
    {
        await using var pair = await StackPair.StartDualStackAsync();
        var (a, b) = (pair.A, pair.B);
        await using var listener = await b.ListenTcpAsync(new IPEndPoint(IPAddress.IPv6Any, 80));
        var body = RandomNumberGenerator.GetBytes(1_000_000);
        var serving = Task.Run(async () =>
        {
            await using var s = await listener.AcceptAsync();
            var head = new byte[4096];
            int got = 0;
            while (!head.AsSpan(0, got).EndsWith("\r\n\r\n"u8)) got += await s.ReadAsync(head.AsMemory(got));
            await s.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
            await s.WriteAsync(body);
        });
        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = a.HttpConnectCallback() }) { Timeout = Limit };
        var downloaded = await http.GetByteArrayAsync(new Uri("http://[2001:db8::2]/file"));
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(downloaded));
        await serving.WaitAsync(Limit);
    }
}
