using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NetStack.AspNetCore;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Sockets;
using NetStack.Tests.Support;
using NetStack.Tap;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.AspNetCore;

/// <summary>
/// Kestrel over NetStack (<see cref="NetStackWebHostBuilderExtensions.UseNetStack"/>), without root: the server's stack
/// and the client's stack are joined by an in-memory link; the client is <see cref="HttpClient"/> or a raw
/// <see cref="TcpConnectionStream"/> of the other stack. The kernel-client tests (curl over a TAP) are in the interop suite.
/// </summary>
public sealed class KestrelTransportTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private static readonly IPAddress V4A = IPAddress.Parse("192.0.2.1"), V4B = IPAddress.Parse("192.0.2.2");
    private static readonly IPAddress V6A = IPAddress.Parse("2001:db8::1"), V6B = IPAddress.Parse("2001:db8::2");

    private sealed class Pair : IAsyncDisposable
    {
        private readonly IpStackLink _link = new(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"));
        public IpStack A { get; }
        public IpStack B { get; }

        public Pair(bool ipv6OnB = true)
        {
            A = Stack(_link.A, "192.0.2.1", "2001:db8::1", true, 1);
            B = Stack(_link.B, "192.0.2.2", "2001:db8::2", ipv6OnB, 2);
        }

        private static IpStack Stack(INetDevice device, string v4, string v6, bool ipv6, int seed) => new(device, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse(v4 + "/24")],
            Ipv6Addresses = ipv6 ? [new Ipv6Cidr(Ipv6Address.Parse(v6), 64)] : [],
            EnableIpv6 = ipv6,
            Slaac = false,
        }, new IpStackOptions
        {
            Name = seed == 1 ? "A" : "B",
            EnableMetrics = false,
            Random = new SeededRandom((ulong)seed),
            Stack = new StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } },
        });

        public async Task StartAsync()
        {
            await A.StartAsync();
            await B.StartAsync();
        }

        public HttpClient Client(Version? version = null, X509Certificate2? trust = null)
        {
            var handler = new SocketsHttpHandler { ConnectCallback = A.HttpConnectCallback() };
            if (trust is not null)
            {
                handler.SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && c.GetCertHashString() == trust.GetCertHashString(),
                };
            }
            var http = new HttpClient(handler) { Timeout = Limit };
            if (version is not null)
            {
                http.DefaultRequestVersion = version;
                http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            }
            return http;
        }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            _link.Dispose();
        }
    }

    /// <summary>A Kestrel app on <paramref name="stack"/>: "/" answers with the protocol and the connection's endpoints.</summary>
    private static async Task<WebApplication> StartAppAsync(IpStack stack, Action<KestrelServerOptions> kestrel, Action<WebApplication>? map = null,
        Action<NetStackTransportOptions>? transport = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseNetStack(stack, transport).ConfigureKestrel(kestrel);
        var app = builder.Build();
        app.MapGet("/", (HttpContext c) =>
            $"{c.Request.Protocol} {c.Request.Scheme} local {c.Connection.LocalIpAddress}:{c.Connection.LocalPort} remote {c.Connection.RemoteIpAddress}:{c.Connection.RemotePort}");
        map?.Invoke(app);
        await app.StartAsync().WaitAsync(Limit);
        return app;
    }

    [Theory]
    [InlineData("192.0.2.2", "0.0.0.0")]
    [InlineData("2001:db8::2", "::")]
    [InlineData("192.0.2.2", "192.0.2.2")]
    [InlineData("2001:db8::2", "2001:db8::2")]
    public async Task Kestrel_serves_HTTP_1_1_over_the_stack_and_reports_both_endpoints(string server, string listen)
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Parse(listen), 8080));
        using var http = pair.Client();
        var host = IPAddress.Parse(server);
        var uri = new Uri($"http://{new IPEndPoint(host, 8080)}/");
        var body = await http.GetStringAsync(uri).WaitAsync(Limit);
        var client = host.AddressFamily == AddressFamily.InterNetwork ? V4A : V6A;
        Assert.StartsWith($"HTTP/1.1 http local {host}:8080 remote {client}:", body, StringComparison.Ordinal);
        Assert.Equal(body.Split(' ')[0], (await http.GetStringAsync(uri).WaitAsync(Limit)).Split(' ')[0]); // keep-alive reuse
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Kestrel_serves_h2c_with_prior_knowledge()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 8080, o => o.Protocols = HttpProtocols.Http2));
        using var http = pair.Client(HttpVersion.Version20);
        var response = await http.GetAsync(new Uri("http://192.0.2.2:8080/")).WaitAsync(Limit);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.StartsWith("HTTP/2 http local 192.0.2.2:8080", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Kestrel_serves_HTTP_2_over_its_own_TLS_with_ALPN_and_many_parallel_streams()
    {
        using var cert = TestCertificates.SelfSigned("b.test");
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.IPv6Any, 8443, o =>
        {
            o.Protocols = HttpProtocols.Http1AndHttp2;
            o.UseHttps(cert);
        }));
        using var http = pair.Client(HttpVersion.Version20, cert);
        var uri = new Uri("https://[2001:db8::2]:8443/");
        var answers = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => http.GetAsync(uri))).WaitAsync(Limit);
        foreach (var r in answers)
        {
            Assert.Equal(HttpVersion.Version20, r.Version);
            Assert.StartsWith("HTTP/2 https local 2001:db8::2:8443 remote 2001:db8::1:", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task A_large_response_arrives_intact()
    {
        var data = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 8080),
            a =>
            {
                a.MapGet("/blob", async (HttpContext c) => { c.Response.ContentLength = data.Length; await c.Response.Body.WriteAsync(data); });
                a.MapPost("/hash", async (HttpContext c) => await c.Response.WriteAsync(Convert.ToHexString(await SHA256.HashDataAsync(c.Request.Body))));
            });
        using var http = pair.Client();
        var got = await http.GetByteArrayAsync(new Uri("http://192.0.2.2:8080/blob")).WaitAsync(Limit);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(got));
        // And an upload the other way.
        var posted = await http.PostAsync(new Uri("http://192.0.2.2:8080/hash"), new ByteArrayContent(data)).WaitAsync(Limit);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), await posted.Content.ReadAsStringAsync());
        await app.StopAsync().WaitAsync(Limit);
    }

    /// <summary>Connection middleware sees the transport's features and its half-close: the peer's FIN ends the input and
    /// fires ConnectionClosed while the output still works; completing the output sends FIN.</summary>
    [Fact]
    public async Task Connection_middleware_gets_the_features_and_a_half_close_in_both_directions()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 7000, o => o.Run(async connection =>
        {
            var ep = connection.Features.Get<IConnectionEndPointFeature>()!;
            var id = connection.Features.Get<IConnectionIdFeature>()!;
            var lifetime = connection.Features.Get<IConnectionLifetimeFeature>()!;
            var pool = connection.Features.Get<IMemoryPoolFeature>();
            var transport = connection.Features.Get<IConnectionTransportFeature>()!;
            var input = transport.Transport.Input;
            long total = 0;
            while (true)
            {
                var r = await input.ReadAsync();
                total += r.Buffer.Length;
                input.AdvanceTo(r.Buffer.End);
                if (r.IsCompleted) break;
            }
            // The peer half-closed: ConnectionClosed fires (as on Kestrel's sockets), yet we may still answer.
            await Task.Delay(Timeout.Infinite, lifetime.ConnectionClosed).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(Limit);
            await transport.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"got {total} bytes"));
            seen.TrySetResult($"{ep.LocalEndPoint} {ep.RemoteEndPoint} id={id.ConnectionId.Length > 0} pool={pool is not null}");
            await transport.Transport.Output.CompleteAsync(); // FIN
        })));
        await using var client = await pair.A.ConnectTcpAsync(new IPEndPoint(V4B, 7000)).WaitAsync(Limit);
        await client.WriteAsync(new byte[100_000]);
        client.ShutdownSend();
        var answer = await new StreamReader(client).ReadToEndAsync().WaitAsync(Limit); // ends at the server's FIN
        Assert.Equal("got 100000 bytes", answer);
        var features = await seen.Task.WaitAsync(Limit);
        Assert.StartsWith("192.0.2.2:7000 192.0.2.1:", features, StringComparison.Ordinal);
        Assert.EndsWith("id=True pool=True", features, StringComparison.Ordinal);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Abort_resets_the_connection()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 7000, o => o.Run(async connection =>
        {
            await connection.Transport.Input.ReadAsync();
            connection.Abort(new ConnectionAbortedException("test abort"));
        })));
        await using var client = await pair.A.ConnectTcpAsync(new IPEndPoint(V4B, 7000)).WaitAsync(Limit);
        await client.WriteAsync("x"u8.ToArray());
        var e = await Assert.ThrowsAsync<IOException>(async () => await client.ReadAsync(new byte[16]).AsTask().WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task HttpContext_Abort_resets_the_connection_and_the_client_sees_it()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 8080),
            a => a.MapGet("/abort", (HttpContext c) => c.Abort()));
        using var http = pair.Client();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync(new Uri("http://192.0.2.2:8080/abort")).WaitAsync(Limit));
        Assert.StartsWith("HTTP/1.1", await http.GetStringAsync(new Uri("http://192.0.2.2:8080/")).WaitAsync(Limit), StringComparison.Ordinal);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Port_0_picks_a_dynamic_port_that_Kestrel_reports()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 0));
        var address = Assert.Single(app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses);
        int port = new Uri(address).Port;
        Assert.InRange(port, 49152, 65535);
        using var http = pair.Client();
        Assert.StartsWith("HTTP/1.1", await http.GetStringAsync(new Uri($"http://192.0.2.2:{port}/")).WaitAsync(Limit), StringComparison.Ordinal);
        await app.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Stopping_the_host_stops_listening_promptly_even_with_an_idle_keep_alive_connection()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 8080));
        using var http = pair.Client();
        await http.GetStringAsync(new Uri("http://192.0.2.2:8080/")).WaitAsync(Limit); // leaves an idle keep-alive connection
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await app.StopAsync().WaitAsync(Limit);
        await app.DisposeAsync();
        // Kestrel closes idle HTTP/1.1 connections at once (FIN); its 30 s shutdown timeout is not needed.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"shutdown took {watch.Elapsed}");
        var refused = await Assert.ThrowsAsync<SocketException>(() => pair.A.ConnectTcpAsync(new IPEndPoint(V4B, 8080)).WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal(0, await pair.B.InvokeAsync(_ => pair.B.TcpSockets.Hub.ListenerCount));
    }

    // ---- bad input: misconfiguration fails the start with one message naming the endpoint ----

    [Fact]
    public async Task An_address_the_stack_does_not_have_fails_the_start_naming_it()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => StartAppAsync(pair.B, k => k.Listen(IPAddress.Parse("198.51.100.7"), 8080)));
        Assert.Contains("198.51.100.7:8080", e.Message, StringComparison.Ordinal);
        Assert.Contains("not one of its addresses", e.Message, StringComparison.Ordinal);
        Assert.Contains("192.0.2.2/24", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_family_the_stack_has_disabled_fails_the_start_naming_it()
    {
        await using var pair = new Pair(ipv6OnB: false);
        await pair.StartAsync();
        var e = await Assert.ThrowsAnyAsync<Exception>(() => StartAppAsync(pair.B, k => k.Listen(IPAddress.IPv6Any, 8080)));
        Assert.Contains("[::]:8080", e.Message, StringComparison.Ordinal);
        Assert.Contains("IPv6 is disabled", e.Message, StringComparison.Ordinal);
        // ListenAnyIP falls back to IPv4, as on an IPv4-only host.
        await using var app = await StartAppAsync(pair.B, k => k.ListenAnyIP(8080));
        using var http = pair.Client();
        Assert.StartsWith("HTTP/1.1", await http.GetStringAsync(new Uri("http://192.0.2.2:8080/")).WaitAsync(Limit), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_already_listened_on_fails_the_start_as_address_in_use()
    {
        await using var pair = new Pair();
        await pair.StartAsync();
        await using (var taken = await pair.B.ListenTcpAsync(new IPEndPoint(V4B, 8080)))
        {
            var e = await Assert.ThrowsAsync<IOException>(() => StartAppAsync(pair.B, k => k.Listen(V4B, 8080)));
            Assert.Contains("address already in use", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("192.0.2.2:8080", e.Message, StringComparison.Ordinal);
            Assert.IsType<AddressInUseException>(e.InnerException);
        }
        // Both wildcards on one port: each covers both families (a dual-mode socket's [::] and 0.0.0.0 collide alike).
        var both = await Assert.ThrowsAsync<IOException>(() => StartAppAsync(pair.B, k =>
        {
            k.Listen(IPAddress.Any, 8081);
            k.Listen(IPAddress.IPv6Any, 8081);
        }));
        Assert.Contains("[::]:8081", both.Message, StringComparison.Ordinal);
        Assert.Contains("address already in use", both.Message, StringComparison.OrdinalIgnoreCase);
        // The failed start released what it had bound.
        await using var app = await StartAppAsync(pair.B, k => k.Listen(IPAddress.Any, 8081));
    }
}
