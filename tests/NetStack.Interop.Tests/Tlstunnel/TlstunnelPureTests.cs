using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Text;
using NetStack.Samples.Tlstunnel;
using NetStack.Samples.Tlstunnel.Config;
using NetStack.Samples.Tlstunnel.Control;
using NetStack.Samples.Tlstunnel.Tunnel;

namespace NetStack.Interop.Tests.Tlstunnel;

/// <summary>tlstunnel's pure pieces (no root needed): names, configuration, routes, the control protocol's MAC, ClientHello and HTTP parsing, the command line, metrics.</summary>
public sealed class TlstunnelPureTests
{
    [Theory]
    [InlineData("a.example.test", "a.example.test", true)]
    [InlineData("*.example.test", "a.example.test", true)]
    [InlineData("*.example.test", "example.test", false)]          // RFC 6125 §6.4.3: the wildcard is one label
    [InlineData("*.example.test", "a.b.example.test", false)]
    [InlineData("*.example.test", "aexample.test", false)]
    [InlineData("a.example.test", "b.example.test", false)]
    [InlineData("a.example.test", "a.example.test.evil", false)]
    public void Names_match_exactly_or_by_one_wildcard_label(string pattern, string name, bool matches) =>
        Assert.Equal(matches, ServerNames.Matches(pattern, name));

    [Theory]
    [InlineData("A.Example.TEST.", "a.example.test")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("-a.example", null)]
    [InlineData("a..example", null)]
    [InlineData("a_b.example", null)]
    [InlineData("", null)]
    [InlineData("*.example", null)]                                // a wildcard is not a server name
    public void Server_names_are_normalised_or_refused(string name, string? normalised) =>
        Assert.Equal(normalised, ServerNames.Normalize(name));

    [Theory]
    [InlineData("*.Example.Test", "*.example.test")]
    [InlineData("a.*.example", null)]
    [InlineData("*a.example", null)]
    [InlineData("**.example", null)]
    public void Patterns_allow_only_a_leftmost_star_label(string pattern, string? normalised) =>
        Assert.Equal(normalised, ServerNames.NormalizePattern(pattern));

    private const string Config = """
        {
          // comments and trailing commas are allowed
          "certificates": [ { "certificate": "certs/w.pem", "key": "/etc/w.key" } ],
          "default_name": "A.example.test",
          "routes": [
            { "name": "a.example.test", "backend": "192.0.2.10:8080" },
            { "name": "*.example.test", "backend": "[2001:db8::10]:80", "via": "kernel" },
            { "name": "h2.example.test", "alpn": "h2", "backend": "backend.example.test:8443" },
          ]
        }
        """;

    [Fact]
    public void The_configuration_file_parses_with_relative_paths_wildcards_ALPN_and_kernel_backends()
    {
        var c = TunnelConfig.Parse(Config, "/srv/tunnel", out var error);
        Assert.True(c is not null, error);
        Assert.Equal(new CertificateFiles("/srv/tunnel/certs/w.pem", "/etc/w.key"), c.Certificates[0]);
        Assert.Equal("a.example.test", c.DefaultName);
        Assert.Equal(3, c.Routes.Count);
        Assert.Equal(new Route("a.example.test", null, new Backend("192.0.2.10", 8080, false)), c.Routes[0]);
        Assert.Equal(new Route("*.example.test", null, new Backend("2001:db8::10", 80, true)), c.Routes[1]);
        Assert.Equal(new Route("h2.example.test", "h2", new Backend("backend.example.test", 8443, false)), c.Routes[2]);
    }

    [Theory]
    [InlineData("[]", "not a JSON object")]
    [InlineData("{ \"routes\": [] }", "'certificates' must be a non-empty array")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\" } ] }", "'key' is missing")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routs\": [] }", "unknown key 'routs'")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a..b\", \"backend\": \"1.2.3.4:5\" } ] }", "is not a host name")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"1.2.3.4\" } ] }", "is not HOST:PORT")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"1.2.3.4:70000\" } ] }", "is not a port")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"[1.2.3.4]:80\" } ] }", "is not an IPv6 address")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"h:1\", \"via\": \"tor\" } ] }", "'via' is 'stack' or 'kernel'")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"h:1\" }, { \"name\": \"A.B\", \"backend\": \"h:2\" } ] }", "is given twice")]
    [InlineData("{ \"certificates\": [ { \"certificate\": \"c\", \"key\": \"k\" } ], \"routes\": [ { \"name\": \"a.b\", \"backend\": \"h:1\", \"alpn\": \"\" } ] }", "'alpn' is not a protocol name")]
    [InlineData("{ not json", "not valid JSON")]
    public void A_bad_configuration_is_one_reason_not_an_exception(string json, string reason)
    {
        Assert.Null(TunnelConfig.Parse(json, "/", out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Routes_prefer_exact_names_then_wildcards_and_ALPN_routes_for_offered_protocols()
    {
        var table = new RouteTable(TunnelConfig.Parse(Config, "/", out _)!.Routes);
        Assert.Equal("192.0.2.10", table.Lookup("a.example.test", []).Route!.Backend.Host);
        Assert.Equal("2001:db8::10", table.Lookup("x.example.test", ["h2"]).Route!.Backend.Host);
        Assert.Equal(RouteMatch.UnknownName, table.Lookup("x.y.example.test", []).Match);
        Assert.Equal(RouteMatch.UnknownName, table.Lookup("example.test", []).Match);
        var h2 = table.Lookup("h2.example.test", ["http/1.1", "h2"]);
        Assert.Equal((RouteMatch.Found, "h2", "backend.example.test"), (h2.Match, h2.Alpn, h2.Route!.Backend.Host));
        // RFC 7301 §3.2: only ALPN routes for the name and none offered -> no_application_protocol.
        Assert.Equal(RouteMatch.NoApplicationProtocol, table.Lookup("h2.example.test", ["http/1.1"]).Match);
        Assert.Equal(RouteMatch.NoApplicationProtocol, table.Lookup("h2.example.test", []).Match);
    }

    [Fact]
    public void Control_routes_override_file_routes_and_removals_hide_them()
    {
        var file = new List<Route> { new("a.t", null, new Backend("1.1.1.1", 1, false)), new("b.t", null, new Backend("2.2.2.2", 2, false)) };
        var control = new List<Route> { new("a.t", null, new Backend("9.9.9.9", 9, true), RouteOrigin.Control) };
        var merged = RouteTable.Merge(file, control, new HashSet<string> { "b.t" });
        Assert.Equal(["a.t -> 9.9.9.9:9 via kernel (control)"], merged.Routes.Select(r => r.ToString()));
    }

    private static readonly byte[] Secret = Encoding.ASCII.GetBytes("0123456789abcdef-secret");

    [Fact]
    public void A_signed_command_verifies_once_and_its_replay_is_refused()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var auth = new ControlAuth(Secret, TimeSpan.FromSeconds(30), () => now);
        var line = ControlAuth.Sign(Secret, "add a.example.test 192.0.2.1:80", now);
        Assert.Equal(AuthResult.Ok, auth.Verify(line, out var command));
        Assert.Equal("add a.example.test 192.0.2.1:80", command);
        Assert.Equal(AuthResult.ReplayedNonce, auth.Verify(line, out _));
        // Within the window the nonce is remembered; later the timestamp refuses the replay.
        now = now.AddSeconds(29);
        Assert.Equal(AuthResult.ReplayedNonce, auth.Verify(line, out _));
        now = now.AddSeconds(2);
        Assert.Equal(AuthResult.StaleTimestamp, auth.Verify(line, out _));
    }

    [Fact]
    public void A_wrong_secret_a_changed_command_timestamp_or_nonce_and_garbage_are_refused()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var auth = new ControlAuth(Secret, TimeSpan.FromSeconds(30), () => now);
        Assert.Equal(AuthResult.BadMac, auth.Verify(ControlAuth.Sign(Encoding.ASCII.GetBytes("another-secret-of-16+"), "list", now), out _));
        var good = ControlAuth.Sign(Secret, "remove a.example.test", now);
        var parts = good.Split(' ', 5);
        Assert.Equal(AuthResult.BadMac, auth.Verify(string.Join(' ', parts[..4]) + " remove b.example.test", out _));
        Assert.Equal(AuthResult.BadMac, auth.Verify($"{parts[0]} {long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) + 1} {parts[2]} {parts[3]} {parts[4]}", out _));
        Assert.Equal(AuthResult.BadMac, auth.Verify($"{parts[0]} {parts[1]} {new string('0', 32)} {parts[3]} {parts[4]}", out _));
        Assert.Equal(AuthResult.StaleTimestamp, auth.Verify(ControlAuth.Sign(Secret, "list", now.AddSeconds(-31)), out _));
        Assert.Equal(AuthResult.StaleTimestamp, auth.Verify(ControlAuth.Sign(Secret, "list", now.AddSeconds(31)), out _));
        Assert.Equal(AuthResult.Malformed, auth.Verify("list", out _));
        Assert.Equal(AuthResult.Malformed, auth.Verify("v1 x y z list", out _));
        Assert.Equal(AuthResult.Malformed, auth.Verify(good.Replace("v1 ", "v2 ", StringComparison.Ordinal), out _));
        // The good one was never used: it still verifies.
        Assert.Equal(AuthResult.Ok, auth.Verify(good, out _));
    }

    [Fact]
    public void The_nonce_cache_is_bounded_and_forgets_nonces_whose_timestamps_expired()
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var auth = new ControlAuth(Secret, TimeSpan.FromSeconds(30), () => now, maxNonces: 3);
        for (int i = 0; i < 3; i++) Assert.Equal(AuthResult.Ok, auth.Verify(ControlAuth.Sign(Secret, "list", now), out _));
        Assert.Equal(AuthResult.TooManyNonces, auth.Verify(ControlAuth.Sign(Secret, "list", now), out _));
        now = now.AddSeconds(40);
        Assert.Equal(AuthResult.Ok, auth.Verify(ControlAuth.Sign(Secret, "list", now), out _));
    }

    /// <summary>A real ClientHello from SslStream (the client side), captured from its first write.</summary>
    private static async Task<byte[]> CaptureClientHelloAsync(string host, params string[] alpn)
    {
        var capture = new CaptureStream();
        using var ssl = new SslStream(capture);
        var options = new SslClientAuthenticationOptions { TargetHost = host };
        if (alpn.Length > 0) options.ApplicationProtocols = [.. alpn.Select(a => new SslApplicationProtocol(a))];
        await Assert.ThrowsAnyAsync<Exception>(() => ssl.AuthenticateAsClientAsync(options));
        return capture.Written.ToArray();
    }

    private sealed class CaptureStream : MemoryStream
    {
        public MemoryStream Written { get; } = new();
        public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => Written.Write(buffer);
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written.Write(buffer, offset, count);
            return Task.CompletedTask;
        }
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);
        public override int Read(byte[] buffer, int offset, int count) => 0;
    }

    [Fact]
    public async Task The_ClientHello_reader_finds_SNI_and_ALPN_in_a_real_hello_and_keeps_its_bytes_for_replay()
    {
        var hello = await CaptureClientHelloAsync("A.Example.Test", "h2", "http/1.1");
        var (parsed, alert, reason) = await ClientHello.ReadAsync(new MemoryStream(hello), CancellationToken.None);
        Assert.True(parsed is not null, reason);
        Assert.Equal(0, alert);
        Assert.Equal("a.example.test", parsed.ServerName);
        Assert.Equal(["h2", "http/1.1"], parsed.Alpn);
        Assert.Equal(hello, parsed.Raw);
        // The same hello split across two records (RFC 8446 §5.1 allows fragmenting handshake messages).
        int body = hello.Length - 5, half = body / 2;
        var split = new MemoryStream();
        split.Write([22, 3, 1, (byte)(half >> 8), (byte)half]);
        split.Write(hello.AsSpan(5, half));
        split.Write([22, 3, 1, (byte)((body - half) >> 8), (byte)(body - half)]);
        split.Write(hello.AsSpan(5 + half));
        split.Position = 0;
        var (again, _, why) = await ClientHello.ReadAsync(split, CancellationToken.None);
        Assert.True(again is not null, why);
        Assert.Equal("a.example.test", again.ServerName);
    }

    [Fact]
    public async Task Every_prefix_and_every_byte_flip_of_a_ClientHello_is_a_result_never_an_exception()
    {
        var hello = await CaptureClientHelloAsync("a.example.test", "h2");
        for (int n = 0; n < hello.Length; n++)
        {
            var (parsed, _, _) = await ClientHello.ReadAsync(new MemoryStream(hello[..n]), CancellationToken.None);
            Assert.Null(parsed);
        }
        var random = new Random(1234);
        for (int i = 0; i < 2000; i++)
        {
            var copy = (byte[])hello.Clone();
            copy[random.Next(copy.Length)] ^= (byte)random.Next(1, 256);
            _ = await ClientHello.ReadAsync(new MemoryStream(copy), CancellationToken.None);   // seed 1234: must not throw
        }
        var (_, alert, _) = await ClientHello.ReadAsync(new MemoryStream("GET / HTTP/1.1\r\n\r\n"u8.ToArray()), CancellationToken.None);
        Assert.Equal(ClientHello.AlertUnexpectedMessage, alert);
    }

    [Fact]
    public void The_unrecognized_name_alert_is_a_fatal_alert_record()
    {
        // RFC 8446 §6: ContentType alert(21), legacy version 3.3, length 2, AlertLevel fatal(2), unrecognized_name(112).
        Assert.Equal(new byte[] { 21, 3, 3, 0, 2, 2, 112 }, ClientHello.Alert(ClientHello.AlertUnrecognizedName));
    }

    [Theory]
    [InlineData("GET /a?b=1 HTTP/1.1\r\nHost: a.example.test\r\n\r\n", "https://a.example.test/a?b=1", true)]
    [InlineData("HEAD / HTTP/1.1\r\nHost: A.Example.Test:80\r\nConnection: close\r\n\r\n", "https://a.example.test/", false)]
    [InlineData("GET / HTTP/1.0\r\nHost: a.example.test\r\n\r\n", "https://a.example.test/", false)]
    [InlineData("GET / HTTP/1.0\r\nHost: a.example.test\r\nConnection: Keep-Alive\r\n\r\n", "https://a.example.test/", true)]
    [InlineData("GET http://b.example.test/x HTTP/1.1\r\nHost: a.example.test\r\n\r\n", "https://b.example.test/x", true)]
    [InlineData("GET / HTTP/1.1\nHost: [2001:db8::1]:8080\n\n", "https://[2001:db8::1]/", true)]
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: 192.0.2.1\r\n\r\n", "https://192.0.2.1/", true)]
    [InlineData("POST /f HTTP/1.1\r\nHost: a.t\r\nTransfer-Encoding: chunked\r\n\r\n", "https://a.t/f", false)]
    public void Requests_are_redirected_to_https_with_keep_alive_per_RFC_9112(string head, string location, bool keepAlive)
    {
        var r = HttpRedirect.Parse(Encoding.ASCII.GetBytes(head), out var reason);
        Assert.True(r is not null, reason);
        Assert.Equal((location, keepAlive), (r.Location, r.KeepAlive));
    }

    [Theory]
    [InlineData("GET /\r\n\r\n")]                                                  // no version
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\n\r\n")]                                         // RFC 9112 §3.2: Host is required
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n")]                             // §5.1: no space before the colon
    [InlineData("GET / HTTP/1.1\r\nHost: a b\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")]
    [InlineData("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("G\u00e9T / HTTP/1.1\r\nHost: a\r\n\r\n")]
    public void Malformed_requests_are_refused(string head) =>
        Assert.Null(HttpRedirect.Parse(Encoding.Latin1.GetBytes(head), out _));

    [Fact]
    public void The_command_line_reads_like_netstackd()
    {
        Assert.True(TunnelOptions.TryParse(["--tap", "tt0", "--address", "198.51.100.3/24", "--address", "2001:db8:1::3/64", "--gateway", "198.51.100.1",
            "--config", "c.json", "--control-port", "8443", "--secret-file", "s", "--idle-timeout", "30", "--drain", "0"], out var o, out var error), error);
        Assert.Equal(("tt0", 8443, TimeSpan.FromSeconds(30), TimeSpan.Zero), (o.Tap, o.ControlPort, o.IdleTimeout, o.Drain));
        Assert.True(TunnelOptions.TryParse(["--kernel", "--config", "c.json"], out o, out error), error);
        Assert.True(o.Kernel);
        Assert.True(TunnelOptions.TryParse(["--version"], out o, out _) && o.Version);
        Assert.True(TunnelOptions.TryParse(["--help"], out o, out _) && o.Help);
        foreach (var (args, reason) in new (string[], string)[]
        {
            (["--config", "c"], "exactly one of --tap NAME or --kernel"),
            (["--tap", "t", "--config", "c"], "no address"),
            (["--tap", "t", "--address", "192.0.2.1/24"], "--config FILE is needed"),
            (["--kernel", "--config", "c", "--control-port", "1"], "go together"),
            (["--kernel", "--config", "c", "--https-port", "80"], "two services on one port"),
            (["--kernel", "--config", "c", "--idle-timeout", "0"], "--idle-timeout"),
            (["--kernel", "--config", "c", "--bogus", "1"], "unknown option '--bogus'"),
            (["--kernel", "--config"], "--config needs a value"),
        })
        {
            Assert.False(TunnelOptions.TryParse(args, out _, out error));
            Assert.Contains(reason, error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_tunnel_counters_are_published_on_the_NetStack_Tlstunnel_meter()
    {
        using var metrics = new TunnelMetrics();
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter == metrics.Meter) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            string key = i.Name + string.Concat(tags.ToArray().Select(t => $",{t.Key}={t.Value}"));
            seen[key] = seen.GetValueOrDefault(key) + v;
        });
        listener.Start();
        metrics.Opened();
        metrics.HandshakeFailed("unknown-name");
        metrics.Closed("https", "unknown-name");
        metrics.ToBackend(10);
        metrics.ToClient(20);
        listener.RecordObservableInstruments();
        Assert.Equal(TunnelMetrics.MeterName, metrics.Meter.Name);
        Assert.Equal(1, seen["tlstunnel.connections,service=https,outcome=unknown-name"]);
        Assert.Equal(1, seen["tlstunnel.handshake_failures,reason=unknown-name"]);
        Assert.Equal(10, seen["tlstunnel.bytes,direction=to_backend"]);
        Assert.Equal(20, seen["tlstunnel.bytes,direction=to_client"]);
        Assert.Equal(0, seen["tlstunnel.active_connections"]);
        Assert.Contains("connections.https.unknown-name 1", metrics.Describe(), StringComparison.Ordinal);
        _ = IPAddress.Loopback;
    }
}
