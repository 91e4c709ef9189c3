using System.Buffers.Binary;
using System.Net;
using System.Text;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Samples.Netstackd.Services.Iperf3;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Netstackd;

/// <summary>
/// netstackd's iperf3 pieces without root: the wire format, parameter checks, UDP accounting, the command line, and our
/// client against our server over an in-memory link (two stacks in this process), hostile clients included.
/// </summary>
public sealed class Iperf3PureTests(ITestOutputHelper output)
{
    private static readonly IPAddress ServerAddress = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void Cookies_are_36_printable_characters_and_a_NUL()
    {
        var cookie = Iperf3Wire.MakeCookie();
        Assert.Equal(37, cookie.Length);
        Assert.True(Iperf3Wire.IsValidCookie(cookie));
        Assert.All(cookie[..36], b => Assert.Contains((char)b, "abcdefghijklmnopqrstuvwxyz234567"));
        Assert.False(Iperf3Wire.IsValidCookie(cookie.AsSpan(0, 36)));
        var noNul = (byte[])cookie.Clone();
        noNul[36] = (byte)'a';
        Assert.False(Iperf3Wire.IsValidCookie(noNul));
        var control = (byte[])cookie.Clone();
        control[3] = 0x01;
        Assert.False(Iperf3Wire.IsValidCookie(control));
    }

    [Fact]
    public void Parameters_round_trip_through_the_JSON_iperf3_sends()
    {
        var p = new Iperf3Parameters { Udp = true, Time = 2, Parallel = 4, Reverse = true, Window = 262144, Length = 1448, Bandwidth = 100_000_000 };
        Assert.True(Iperf3Parameters.TryParse(p.ToJson(), out var back, out _, out var reason), reason);
        Assert.Equal(p with { ClientVersion = "3.12" }, back);
        // What iperf3 3.12 sends for "iperf3 -c X -n 20M -P 2 -R -w 128K".
        var stock = Iperf3Wire.ParseObject("""{"tcp":true,"omit":0,"time":0,"num":20971520,"blockcount":0,"parallel":2,"reverse":true,"window":131072,"len":131072,"pacing_timer":1000,"client_version":"3.12"}"""u8, "t");
        Assert.True(Iperf3Parameters.TryParse(stock, out var q, out _, out reason), reason);
        Assert.Equal((false, 0, 20971520L, 2, true, 131072, 131072), (q.Udp, q.Time, q.Bytes, q.Parallel, q.Reverse, q.Window, q.Length));
    }

    [Theory]
    [InlineData("""{"omit":0}""", Iperf3Error.Protocol)]                                   // no protocol
    [InlineData("""{"sctp":true}""", Iperf3Error.Protocol)]
    [InlineData("""{"tcp":"yes"}""", Iperf3Error.Protocol)]                                // a string is not true
    [InlineData("""{"tcp":true,"parallel":0}""", Iperf3Error.NumStreams)]
    [InlineData("""{"tcp":true,"parallel":129}""", Iperf3Error.NumStreams)]                // iperf.h MAX_STREAMS
    [InlineData("""{"tcp":true,"parallel":"4"}""", Iperf3Error.NumStreams)]
    [InlineData("""{"tcp":true,"parallel":1.5}""", Iperf3Error.NumStreams)]
    [InlineData("""{"tcp":true,"time":86401}""", Iperf3Error.Duration)]
    [InlineData("""{"tcp":true,"time":-1}""", Iperf3Error.Duration)]
    [InlineData("""{"tcp":true,"window":536870913}""", Iperf3Error.BufSize)]               // MAX_TCP_BUFFER
    [InlineData("""{"tcp":true,"len":1048577}""", Iperf3Error.BlockSize)]                  // MAX_BLOCKSIZE
    [InlineData("""{"udp":true,"len":65508}""", Iperf3Error.UdpBlockSize)]                 // MAX_UDP_BLOCKSIZE
    [InlineData("""{"udp":true,"len":8}""", Iperf3Error.UdpBlockSize)]                     // shorter than the header
    [InlineData("""{"tcp":true,"num":-5}""", Iperf3Error.ReceiveParameters)]
    [InlineData("""{"tcp":true,"bandwidth":1e400}""", Iperf3Error.ReceiveParameters)]
    [InlineData("""{"tcp":true,"mptcp":true}""", Iperf3Error.Unimplemented)]
    public void Parameters_outside_iperf3s_limits_are_refused_with_its_error(string json, Iperf3Error expected)
    {
        JsonObjectOrError(json, out var obj);
        if (obj is null) return; // not even JSON: refused earlier (see the wire test)
        Assert.False(Iperf3Parameters.TryParse(obj, out _, out var error, out _));
        Assert.Equal(expected, error);
    }

    private static void JsonObjectOrError(string json, out System.Text.Json.Nodes.JsonObject? obj)
    {
        try
        {
            obj = Iperf3Wire.ParseObject(Encoding.UTF8.GetBytes(json), "t");
        }
        catch (Iperf3ProtocolException)
        {
            obj = null;
        }
    }

    [Theory]
    [InlineData(0u, "")]                      // iperf3's JSON_read refuses 0 too
    [InlineData(8193u, "")]                   // over MAX_PARAMS_JSON_STRING, refused before allocating
    [InlineData(0xFFFFFFFFu, "")]
    [InlineData(5u, "[1,2]")]                 // not an object
    [InlineData(5u, "{\"a\":")]               // truncated JSON
    [InlineData(10u, "{}")]                   // shorter than announced: the peer closes
    public async Task Malformed_JSON_frames_are_a_protocol_error_never_an_allocation(uint length, string body)
    {
        var frame = new byte[4 + Encoding.UTF8.GetByteCount(body)];
        BinaryPrimitives.WriteUInt32BigEndian(frame, length);
        Encoding.UTF8.GetBytes(body, frame.AsSpan(4));
        using var stream = new MemoryStream(frame);
        await Assert.ThrowsAsync<Iperf3ProtocolException>(() =>
            Iperf3Wire.ReadJsonAsync(stream, Iperf3Wire.MaxParametersJson, TimeSpan.FromSeconds(5), "parameters", CancellationToken.None));
    }

    [Fact]
    public async Task Deeply_nested_JSON_is_refused()
    {
        string deep = string.Concat(Enumerable.Repeat("{\"a\":", 40)) + "1" + new string('}', 40);
        var frame = new byte[4 + deep.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)deep.Length);
        Encoding.ASCII.GetBytes(deep, frame.AsSpan(4));
        using var stream = new MemoryStream(frame);
        await Assert.ThrowsAsync<Iperf3ProtocolException>(() =>
            Iperf3Wire.ReadJsonAsync(stream, Iperf3Wire.MaxParametersJson, TimeSpan.FromSeconds(5), "parameters", CancellationToken.None));
    }

    [Fact]
    public void Udp_accounting_counts_gaps_late_arrivals_and_RFC_1889_jitter()
    {
        var s = new Iperf3StreamStats(1, sender: false);
        var d = new byte[100];
        void Arrive(long seq, double sent, double arrival)
        {
            Iperf3Streams.WriteUdpHeader(d, seq, counters64: false, sent);
            Iperf3Streams.AccountUdp(s, d, counters64: false, arrival);
        }
        Arrive(1, 100.0, 110.000);
        Arrive(2, 101.0, 111.016); // transit +16 ms: J = 0.016 / 16
        Assert.Equal(0.001, s.Jitter, 9);
        Arrive(4, 103.0, 113.000); // 3 is missing; transit back by 16 ms
        Assert.Equal(0.001 + (0.016 - 0.001) / 16, s.Jitter, 6);
        Assert.Equal((4L, 1L, 0L), (s.Packets, s.Errors, s.OutOfOrder));
        Arrive(3, 102.0, 113.5);   // late: out of order, takes the loss back
        Assert.Equal((4L, 0L, 1L), (s.Packets, s.Errors, s.OutOfOrder));
        Assert.Equal(400, s.Bytes);
        Iperf3Streams.AccountUdp(s, d.AsSpan(0, 8), counters64: false, 114); // shorter than the header: bytes only
        Assert.Equal((408L, 4L), (s.Bytes, s.Packets));
        var wide = new Iperf3StreamStats(1, sender: false);
        Iperf3Streams.WriteUdpHeader(d, 5_000_000_000, counters64: true, 1.5);
        Iperf3Streams.AccountUdp(wide, d, counters64: true, 2);
        Assert.Equal(5_000_000_000, wide.Packets);
    }

    [Fact]
    public void Stream_ids_skip_2_as_iperf3s_do() =>
        Assert.Equal([1, 3, 4, 5], Enumerable.Range(0, 4).Select(Iperf3StreamStats.IdOf));

    [Fact]
    public void The_command_line_takes_iperf3s_options()
    {
        Assert.True(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3-client", "[2001:db8::1]:5202", "-u", "-R", "-P", "4",
            "-t", "3", "-l", "1400", "-w", "256K", "-b", "100M"], out var o, out var error), error);
        var p = o.Iperf3.ClientParameters();
        Assert.Equal((true, true, 4, 3, 1400, 262144, 100_000_000L), (p.Udp, p.Reverse, p.Parallel, p.Time, p.Length, p.Window, p.Bandwidth));
        Assert.True(Iperf3CommandLine.TryParseTarget("[2001:db8::1]:5202", out var host, out int port));
        Assert.Equal(("2001:db8::1", 5202), (host, port));
        Assert.True(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3-client", "192.0.2.9", "-n", "20M", "-u"], out o, out error), error);
        p = o.Iperf3.ClientParameters();
        Assert.Equal((0, 20L << 20, 1L << 20), (p.Time, p.Bytes, p.Bandwidth)); // -n: no duration; UDP without -b: 1 Mbit/s, as iperf3
        Assert.True(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3", "5201", "--tcp-echo", "7"], out o, out error), error);
        Assert.Equal(5201, o.Iperf3.ServerPort);
        Assert.False(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3", "5201", "-R"], out _, out error));
        Assert.Contains("--iperf3-client", error, StringComparison.Ordinal);
        Assert.False(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3", "80", "--http", "80", "--http-root", "/"], out _, out error));
        Assert.False(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3-client", "h", "-P", "0"], out _, out _));
        Assert.False(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3-client", "[::1", "-P", "1"], out _, out _));
        Assert.False(NetstackdOptions.TryParse(["--tap", "t0", "--address", "192.0.2.1/24", "--iperf3-client", "h", "-u", "-l", "70000"], out _, out _));
    }

    /// <summary>Two stacks over an in-memory link: the server on B (192.0.2.2), clients on A.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly IpStackLink _link = new();
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        public IpStack A { get; private set; } = null!;
        public IpStack B { get; private set; } = null!;
        public Iperf3Server Server { get; private set; } = null!;
        public StringWriter LogText { get; } = new();

        public string Log
        {
            get
            {
                lock (LogText) return LogText.ToString();
            }
        }

        public static async Task<Pair> StartAsync()
        {
            var pair = new Pair();
            pair.A = new IpStack(pair._link.A, Config("192.0.2.1/24"), new IpStackOptions { Name = "A", Random = new SeededRandom(1) });
            pair.B = new IpStack(pair._link.B, Config("192.0.2.2/24"), new IpStackOptions { Name = "B", Random = new SeededRandom(2) });
            await pair.A.StartAsync();
            await pair.B.StartAsync();
            pair.Server = await Iperf3Server.StartAsync(pair.B, Iperf3Wire.DefaultPort, new ServiceLog(pair.LogText));
            pair._run = pair.Server.RunAsync(pair._stop.Token);
            return pair;
        }

        private static InterfaceConfig Config(string v4) => new() { Ipv4Addresses = [Ipv4Cidr.Parse(v4)], EnableIpv6 = false };

        public async Task WaitForLogAsync(string text)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (!Log.Contains(text, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no '{text}' in the log: {Log}");
                await Task.Delay(20);
            }
        }

        /// <summary>The server finishes a test after the client has its results (it waits for IPERF_DONE).</summary>
        public async Task WaitForTestsAsync(int count)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Server.TestsCompleted < count)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{Server.TestsCompleted} tests completed, not {count}: {Log}");
                await Task.Delay(20);
            }
            Assert.Equal(count, Server.TestsCompleted);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(TimeSpan.FromSeconds(30));
            await A.DisposeAsync();
            await B.DisposeAsync();
            _link.Dispose();
            _stop.Dispose();
        }
    }

    private static readonly IPEndPoint Server = new(ServerAddress, Iperf3Wire.DefaultPort);

    [Fact]
    public async Task Our_client_and_our_server_run_tcp_and_udp_tests_both_ways_one_after_another()
    {
        await using var pair = await Pair.StartAsync();
        async Task<Iperf3ClientResult> Run(Iperf3Parameters p)
        {
            var r = await new Iperf3Client(pair.A, p).RunAsync(Server).WaitAsync(TimeSpan.FromSeconds(120));
            output.WriteLine(r.Describe());
            return r;
        }
        var forward = await Run(new Iperf3Parameters { Bytes = 4 << 20, Time = 0, Parallel = 2 });
        Assert.Equal(4 << 20, forward.SenderBytes);          // 32 blocks of 128 KiB over two streams
        Assert.Equal(forward.SenderBytes, forward.ReceiverBytes);
        var reverse = await Run(new Iperf3Parameters { Bytes = 3 << 20, Time = 0, Reverse = true, Length = 65536 });
        Assert.Equal(3 << 20, reverse.SenderBytes);          // the server stops at -n
        Assert.Equal(reverse.SenderBytes, reverse.ReceiverBytes);
        var timed = await Run(new Iperf3Parameters { Time = 1, Window = 128 * 1024 });
        Assert.True(timed.SenderBytes > 0 && timed.SenderBytes == timed.ReceiverBytes, timed.Describe());
        var udp = await Run(new Iperf3Parameters { Udp = true, Bytes = 1000 * 1000, Time = 0, Length = 1000, Bandwidth = 20_000_000, Reverse = true });
        Assert.Equal(1000 * 1000, udp.SenderBytes);
        Assert.InRange(udp.Packets, 1, 1000);  // the highest sequence number we saw (our receive queue may drop under load)
        Assert.Equal(udp.ReceiverBytes, (udp.Packets - udp.Lost) * 1000L);
        var udpForward = await Run(new Iperf3Parameters { Udp = true, Bytes = 500 * 1000, Time = 0, Length = 1000, Bandwidth = 20_000_000, Parallel = 2 });
        Assert.Equal(500 * 1000, udpForward.SenderBytes);
        Assert.Equal(udpForward.ReceiverBytes, (udpForward.Packets - udpForward.Lost) * 1000L);
        await pair.WaitForTestsAsync(5);
        Assert.DoesNotContain("protocol-error", pair.Log, StringComparison.Ordinal);
    }

    /// <summary>Opens a raw control connection from A and sends <paramref name="bytes"/>.</summary>
    private static async Task<TcpConnectionStream> Raw(Pair pair, byte[] bytes)
    {
        var c = await pair.A.ConnectTcpAsync(Server).WaitAsync(TimeSpan.FromSeconds(30));
        await c.WriteAsync(bytes);
        return c;
    }

    /// <summary>Reads until the server closes (what it sent before).</summary>
    private static async Task<byte[]> ReadToEnd(TcpConnectionStream c)
    {
        var all = new MemoryStream();
        var buffer = new byte[256];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            int n;
            while ((n = await c.ReadAsync(buffer, cts.Token)) > 0) all.Write(buffer, 0, n);
        }
        catch (IOException)
        {
            // reset: closed too
        }
        return all.ToArray();
    }

    private static byte[] Frame(string json)
    {
        var text = Encoding.UTF8.GetBytes(json);
        var f = new byte[4 + text.Length];
        BinaryPrimitives.WriteUInt32BigEndian(f, (uint)text.Length);
        text.CopyTo(f, 4);
        return f;
    }

    [Fact]
    public async Task Hostile_clients_get_a_clean_close_and_a_log_line_and_the_server_serves_the_next_test()
    {
        await using var pair = await Pair.StartAsync();

        // A cookie that is not one.
        await using (var c = await Raw(pair, Enumerable.Repeat((byte)0xFF, 37).ToArray()))
            Assert.Empty(await ReadToEnd(c));
        await pair.WaitForLogAsync("refused malformed cookie");

        // A parameter length of 2 GB: refused before anything is allocated.
        var cookie = Iperf3Wire.MakeCookie();
        await using (var c = await Raw(pair, [.. cookie, 0x7F, 0xFF, 0xFF, 0xFF]))
            Assert.Equal(new byte[] { (byte)Iperf3State.ParamExchange }, await ReadToEnd(c));
        await pair.WaitForLogAsync("JSON length 2147483647 outside 1..8192");

        // Not JSON.
        await using (var c = await Raw(pair, [.. Iperf3Wire.MakeCookie(), .. Frame("{tcp: yes")]))
            Assert.Equal(new byte[] { (byte)Iperf3State.ParamExchange }, await ReadToEnd(c));
        await pair.WaitForLogAsync("parameters: bad JSON");

        // Parameters beyond iperf3's limits: SERVER_ERROR with iperf3's error number (IENUMSTREAMS = 6), errno 0.
        await using (var c = await Raw(pair, [.. Iperf3Wire.MakeCookie(), .. Frame("""{"tcp":true,"parallel":100000}""")]))
            Assert.Equal(new byte[] { 9, 0xFE, 0, 0, 0, 6, 0, 0, 0, 0 }, await ReadToEnd(c));
        await pair.WaitForLogAsync("parameters refused: parallel");

        // A stream with a foreign cookie while a test waits for its streams: ACCESS_DENIED; then an unknown state byte
        // from the client during the test: SERVER_ERROR IEMESSAGE.
        var own = Iperf3Wire.MakeCookie();
        await using (var control = await Raw(pair, [.. own, .. Frame("""{"tcp":true,"time":5,"parallel":1,"len":1024}""")]))
        {
            var states = new byte[2];
            await control.ReadExactlyAsync(states);
            Assert.Equal(new byte[] { (byte)Iperf3State.ParamExchange, (byte)Iperf3State.CreateStreams }, states);
            await using (var stranger = await Raw(pair, Iperf3Wire.MakeCookie()))
                Assert.Equal(new byte[] { unchecked((byte)Iperf3State.AccessDenied) }, await ReadToEnd(stranger));
            await using var stream = await Raw(pair, own);
            await control.ReadExactlyAsync(states);
            Assert.Equal(new byte[] { (byte)Iperf3State.TestStart, (byte)Iperf3State.TestRunning }, states);
            await stream.WriteAsync(new byte[4096]);
            await control.WriteAsync(new byte[] { 77 });
            Assert.Equal(new byte[] { 0xFE, 0, 0, 0, 110, 0, 0, 0, 0 }, await ReadToEnd(control));
        }
        await pair.WaitForLogAsync("state 77 during the test");

        // A client that says nothing after connecting: dropped after the handshake timeout, counted as refused.
        // (Not waited for here: 10 s.) The server still runs a real test.
        var r = await new Iperf3Client(pair.A, new Iperf3Parameters { Bytes = 1 << 20, Time = 0 }).RunAsync(Server).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(r.SenderBytes, r.ReceiverBytes);
        await pair.WaitForTestsAsync(1);
        output.WriteLine(pair.Log);
    }
}
