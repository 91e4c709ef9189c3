using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using NetStack.Sockets;
using NetStack.Tests.Support;

namespace NetStack.Tests.TcpApi;

/// <summary>SslStream and HttpClient (through SocketsHttpHandler.ConnectCallback) running unchanged over our TCP.</summary>
public sealed class TcpTlsHttpTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SslStream_completes_a_handshake_and_carries_data_both_ways()
    {
        using var cert = TestCertificates.SelfSigned("b.test");
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 443));
        var serving = Task.Run(async () =>
        {
            await using var s = await listener.AcceptAsync();
            await using var tls = new SslStream(s);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = cert });
            var buf = new byte[64 * 1024];
            int n;
            while ((n = await tls.ReadAsync(buf)) > 0) await tls.WriteAsync(buf.AsMemory(0, n));
            await tls.ShutdownAsync();
        });
        await using var tcp = await pair.A.ConnectAsync("b.test", 443);
        await using var client = new SslStream(tcp);
        await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "b.test",
            RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == cert.GetCertHashString(),
        }).WaitAsync(Limit);
        Assert.True(client.IsAuthenticated && client.IsEncrypted);
        var data = RandomNumberGenerator.GetBytes(200_000);
        var reading = Task.Run(async () =>
        {
            var got = new byte[data.Length];
            await client.ReadExactlyAsync(got);
            return got;
        });
        await client.WriteAsync(data);
        Assert.Equal(data, await reading.WaitAsync(Limit));
        await client.ShutdownAsync();
        await serving.WaitAsync(Limit);
    }

    /// <summary>A tiny HTTP/1.1 server on our stack: answers every request on a connection with the path it asked for.</summary>
    private static async Task ServeHttp(AsyncTcpListener listener, X509Certificate2? cert, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpConnectionStream s;
            try { s = await listener.AcceptAsync(stop); }
            catch (OperationCanceledException) { return; }
            _ = Task.Run(async () =>
            {
                await using (s)
                {
                    Stream stream = s;
                    if (cert is not null)
                    {
                        var tls = new SslStream(s);
                        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = cert });
                        stream = tls;
                    }
                    using var reader = new StreamReader(stream, Encoding.ASCII, false, 1024, leaveOpen: true);
                    while (await reader.ReadLineAsync() is { Length: > 0 } requestLine)
                    {
                        while (await reader.ReadLineAsync() is { Length: > 0 }) { }
                        var path = requestLine.Split(' ')[1];
                        var body = Encoding.UTF8.GetBytes($"you asked for {path}");
                        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n");
                        await stream.WriteAsync(head);
                        await stream.WriteAsync(body);
                        await stream.FlushAsync();
                    }
                    if (stream is SslStream t) await t.DisposeAsync();
                }
            });
        }
    }

    [Fact]
    public async Task HttpClient_GETs_through_ConnectCallback_over_our_stack()
    {
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 8080));
        using var stop = new CancellationTokenSource();
        var server = ServeHttp(listener, null, stop.Token);
        using var http = new HttpClient(new SocketsHttpHandler { ConnectCallback = pair.A.HttpConnectCallback() }) { Timeout = Limit };
        Assert.Equal("you asked for /hello", await http.GetStringAsync(new Uri("http://b.test:8080/hello")));
        Assert.Equal("you asked for /again", await http.GetStringAsync(new Uri("http://b.test:8080/again"))); // keep-alive reuse
        await stop.CancelAsync();
        await server.WaitAsync(Limit);
    }

    [Fact]
    public async Task HttpClient_GETs_over_https_with_TLS_on_top_of_our_stream()
    {
        using var cert = TestCertificates.SelfSigned("b.test");
        await using var pair = new TcpLoopPair();
        await using var listener = await pair.B.ListenAsync(new IPEndPoint(IPAddress.Any, 8443));
        using var stop = new CancellationTokenSource();
        var server = ServeHttp(listener, cert, stop.Token);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = pair.A.HttpConnectCallback(),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == cert.GetCertHashString(),
            },
        };
        using var http = new HttpClient(handler) { Timeout = Limit };
        Assert.Equal("you asked for /secure", await http.GetStringAsync(new Uri("https://b.test:8443/secure")));
        await stop.CancelAsync();
        await server.WaitAsync(Limit);
    }
}
