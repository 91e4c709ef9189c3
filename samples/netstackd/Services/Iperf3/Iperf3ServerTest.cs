using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetStack.Sockets;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>
/// One test on the server, from the client's cookie to IPERF_DONE (iperf_server_api.c iperf_run_server): PARAM_EXCHANGE,
/// CREATE_STREAMS (TCP connections with the same cookie, or UDP "connect" datagrams), TEST_START and TEST_RUNNING, data
/// until the client's TEST_END, EXCHANGE_RESULTS (the client's JSON, then ours), DISPLAY_RESULTS.
/// </summary>
internal sealed class Iperf3ServerTest(Iperf3Server server, TcpConnectionStream control, byte[] cookie, Action<Iperf3ServerTest> release)
{
    /// <summary>How long the client may take to open its streams (iperf3 has no limit; a client that never does holds the server).</summary>
    private static readonly TimeSpan StreamsTimeout = TimeSpan.FromSeconds(30);
    /// <summary>With no byte moving for this long during a test, the server gives up (iperf3's --rcv-timeout default, 120 s).</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(120);

    private readonly Lock _lock = new();
    private readonly List<(long Sequence, TcpConnectionStream Connection)> _tcpStreams = [];
    private readonly TaskCompletionSource _allStreams = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _accepting;
    private int _expected;

    public byte[] Cookie { get; } = cookie;

    /// <summary>NETSTACKD_IPERF3_TRACE=1 prints each step of the control protocol to stderr.</summary>
    private static readonly bool Tracing = Environment.GetEnvironmentVariable("NETSTACKD_IPERF3_TRACE") == "1";

    private void Trace(string step)
    {
        if (Tracing) Console.Error.WriteLine(Iperf3Server.Format($"{DateTime.UtcNow:HH:mm:ss.fff} iperf3 {control.RemoteEndPoint}: {step}"));
    }

    /// <summary>A TCP connection with this test's cookie: a stream, while CREATE_STREAMS is open and streams are missing.</summary>
    public bool TryAddStream(TcpConnectionStream connection, long sequence)
    {
        lock (_lock)
        {
            if (!_accepting || _tcpStreams.Count >= _expected) return false;
            _tcpStreams.Add((sequence, connection));
            if (_tcpStreams.Count == _expected) _allStreams.TrySetResult();
            return true;
        }
    }

    /// <summary>Runs the test; true when it ended with the results exchanged.</summary>
    public async Task<bool> RunAsync(CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        string result = "ok", detail = "";
        Iperf3Parameters? p = null;
        AsyncUdpSocket? udp = null;
        bool swapped = false;
        var stats = new List<Iperf3StreamStats>();
        using var sendStop = new CancellationTokenSource();
        using var receiveStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        using var senderStop = CancellationTokenSource.CreateLinkedTokenSource(stop, sendStop.Token);
        using var sendAbort = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var senders = new List<Task>();
        var receivers = new List<Task>();
        try
        {
            control.NoDelay = true;
            await Iperf3Wire.WriteStateAsync(control, Iperf3State.ParamExchange, stop).ConfigureAwait(false);
            var json = await Iperf3Wire.ReadJsonAsync(control, Iperf3Wire.MaxParametersJson, Iperf3Server.HandshakeTimeout, "parameters", stop).ConfigureAwait(false);
            if (!Iperf3Parameters.TryParse(json, out p, out var error, out string reason))
            {
                await Iperf3Wire.WriteServerErrorAsync(control, error, stop).ConfigureAwait(false);
                throw new Iperf3ProtocolException("parameters refused: " + reason);
            }
            int block = p.BlockSize(server.UdpDefaultLength);
            lock (_lock) _expected = p.StreamCount;

            // CREATE_STREAMS (iperf_exchange_parameters: the stream listener first, then the state byte).
            var udpPeers = new List<IPEndPoint>();
            if (p.Udp)
            {
                udp = await server.Ip.BindUdpAsync(new IPEndPoint(control.LocalEndPoint.Address, server.Port), stop).ConfigureAwait(false);
            }
            else if (p.Window > 0 || p.NoDelay)
            {
                await server.SwapListenerAsync(StreamOptions(p)).ConfigureAwait(false);
                swapped = true;
            }
            lock (_lock) _accepting = true;
            await Iperf3Wire.WriteStateAsync(control, Iperf3State.CreateStreams, stop).ConfigureAwait(false);
            if (p.Udp) await AcceptUdpStreamsAsync(udp!, p, udpPeers, stop).ConfigureAwait(false);
            else
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
                cts.CancelAfter(StreamsTimeout);
                try
                {
                    await _allStreams.Task.WaitAsync(cts.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                {
                    throw new Iperf3ProtocolException($"only {_tcpStreams.Count} of {p.StreamCount} streams within {StreamsTimeout.TotalSeconds:F0} s");
                }
            }
            lock (_lock) _accepting = false;
            if (swapped)
            {
                await server.SwapListenerAsync(null).ConfigureAwait(false);
                swapped = false;
            }
            // Streams in the order the client opened them (iperf_add_stream numbers them in that order).
            var tcp = _tcpStreams.OrderBy(s => s.Sequence).Select(s => s.Connection).ToList();
            int receiverCount = p.Reverse && !p.Bidirectional ? 0 : p.Parallel;
            for (int i = 0; i < p.StreamCount; i++) stats.Add(new Iperf3StreamStats(Iperf3StreamStats.IdOf(i), sender: i >= receiverCount));

            await Iperf3Wire.WriteStateAsync(control, Iperf3State.TestStart, stop).ConfigureAwait(false);
            await Iperf3Wire.WriteStateAsync(control, Iperf3State.TestRunning, stop).ConfigureAwait(false);
            double start = Iperf3Streams.Now;
            var cpuStart = CpuTimes.Now();
            var budget = new Iperf3Budget(p.Bytes, p.Blocks);
            var byPeer = new Dictionary<IPEndPoint, Iperf3StreamStats>();
            for (int i = 0; i < stats.Count; i++)
            {
                var s = stats[i];
                var pacer = new Iperf3Pacer(p.Bandwidth);
                if (p.Udp)
                {
                    var peer = udpPeers[i];
                    if (s.Sender) senders.Add(Task.Run(() => Iperf3Streams.SendUdpAsync(udp!, peer, s, block, p.UdpCounters64, budget, pacer, start, senderStop.Token), CancellationToken.None));
                    else byPeer[peer] = s;
                    continue;
                }
                var connection = tcp[i];
                if (s.Sender) senders.Add(Task.Run(() => Iperf3Streams.SendTcpAsync(connection, s, block, budget, pacer, start, senderStop.Token, sendAbort.Token), CancellationToken.None));
                else receivers.Add(Task.Run(() => Iperf3Streams.ReceiveTcpAsync(connection, s, block, start, receiveStop.Token), CancellationToken.None));
            }
            if (byPeer.Count > 0) receivers.Add(ReceiveUdpAsync(udp!, byPeer, p.UdpCounters64, block, start, receiveStop.Token));

            // TEST_RUNNING until the client's TEST_END.
            Trace("TEST_RUNNING");
            var state = await WaitForTestEndAsync(p, stats, stop).ConfigureAwait(false);
            Trace($"state {(int)state}");
            if (state != Iperf3State.TestEnd)
            {
                if (state is not (Iperf3State.ClientTerminate or Iperf3State.IperfDone))
                    await Iperf3Wire.WriteServerErrorAsync(control, Iperf3Error.Message, stop).ConfigureAwait(false);
                throw new Iperf3ProtocolException($"state {(int)state} during the test");
            }
            await sendStop.CancelAsync().ConfigureAwait(false);
            sendAbort.CancelAfter(TimeSpan.FromSeconds(2)); // a write under way gets this long to finish
            await Task.WhenAll(senders).ConfigureAwait(false);
            // iperf3 closes every stream at TEST_END: a client blocked in a read of a whole block (3.x's Nread) needs our
            // FIN to get on to the results. Our receiving streams stay open to take in what is still in flight.
            for (int i = 0; i < tcp.Count; i++)
                if (stats[i].Sender) ShutdownQuietly(tcp[i]);
            Trace("senders stopped");

            // EXCHANGE_RESULTS: the client's first. Its per-stream counts let our receivers take in what is still in flight
            // (iperf3 stops counting at TEST_END; we count the stream to its end, so sender and receiver agree).
            await Iperf3Wire.WriteStateAsync(control, Iperf3State.ExchangeResults, stop).ConfigureAwait(false);
            var theirs = await Iperf3Wire.ReadJsonAsync(control, Iperf3Wire.MaxResultsJson, Iperf3Server.HandshakeTimeout, "results", stop).ConfigureAwait(false);
            Trace("client results read");
            if (!TryReadStreamBytes(theirs, out var sentById))
            {
                await Iperf3Wire.WriteServerErrorAsync(control, Iperf3Error.ReceiveResults, stop).ConfigureAwait(false);
                throw new Iperf3ProtocolException("results without a valid streams array");
            }
            await DrainAsync(stats, sentById, p.Udp, stop).ConfigureAwait(false);
            await receiveStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(receivers).ConfigureAwait(false);
            if (!p.Udp)
            {
                for (int i = 0; i < stats.Count; i++)
                    if (stats[i].Sender) stats[i].Retransmits = await tcp[i].InspectAsync(c => c.Retransmissions, stop).ConfigureAwait(false);
            }
            var cpu = CpuTimes.Now() - cpuStart;
            double elapsed = Math.Max(Iperf3Streams.Now - start, 1e-6);
            foreach (var c in tcp) await c.DisposeAsync().ConfigureAwait(false);
            await Iperf3Wire.WriteJsonAsync(control, Results(p, stats, cpu, elapsed), stop).ConfigureAwait(false);
            await Iperf3Wire.WriteStateAsync(control, Iperf3State.DisplayResults, stop).ConfigureAwait(false);
            release(this); // the server is free for the next test (the client may connect before our IPERF_DONE arrives)
            try
            {
                await Iperf3Wire.ReadStateAsync(control, Iperf3Server.HandshakeTimeout, stop).ConfigureAwait(false); // IPERF_DONE
            }
            catch (Iperf3ProtocolException)
            {
                // the client may close without it
            }
            detail = Describe(p, stats, elapsed);
            return true;
        }
        catch (Iperf3ProtocolException e)
        {
            result = "protocol-error";
            detail = e.Message;
            return false;
        }
        catch (OperationCanceledException)
        {
            result = "stopped";
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            result = "io-error";
            detail = e.Message;
            return false;
        }
        finally
        {
            lock (_lock) _accepting = false;
            await sendStop.CancelAsync().ConfigureAwait(false);
            await sendAbort.CancelAsync().ConfigureAwait(false);
            await receiveStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(senders.Concat(receivers)).ConfigureAwait(false);
            foreach (var (_, c) in _tcpStreams) await c.DisposeAsync().ConfigureAwait(false);
            if (udp is not null) await udp.DisposeAsync().ConfigureAwait(false);
            if (swapped) await server.SwapListenerAsync(null).ConfigureAwait(false);
            release(this);
            await control.DisposeAsync().ConfigureAwait(false);
            long bytesIn = stats.Where(s => !s.Sender).Sum(s => s.Bytes), bytesOut = stats.Where(s => s.Sender).Sum(s => s.Bytes);
            server.Log.Connection("iperf3", control.RemoteEndPoint, control.LocalEndPoint, bytesIn, bytesOut, clock.Elapsed, result, detail);
        }
    }

    internal static void ShutdownQuietly(TcpConnectionStream connection)
    {
        try
        {
            connection.ShutdownSend();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Options of the stream connections: -w sets both buffers (SO_SNDBUF and SO_RCVBUF, as iperf3 does), -N NoDelay.</summary>
    internal static TcpSocketOptions StreamOptions(Iperf3Parameters p)
    {
        int? window = p.Window > 0 ? Math.Clamp(p.Window, 4096, 16 << 20) : null;
        return new TcpSocketOptions { SendBufferSize = window, ReceiveBufferSize = window, NoDelay = p.NoDelay ? true : null };
    }

    /// <summary>
    /// iperf_udp_accept: each client stream sends a 4-byte datagram from its own port and waits for the 4-byte reply;
    /// that peer is the stream. A repeated datagram from a known peer is answered again; anything else is ignored.
    /// </summary>
    private static async Task AcceptUdpStreamsAsync(AsyncUdpSocket udp, Iperf3Parameters p, List<IPEndPoint> peers, CancellationToken stop)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
        cts.CancelAfter(StreamsTimeout);
        var buffer = new byte[64];
        try
        {
            while (peers.Count < p.StreamCount)
            {
                var r = await udp.ReceiveFromAsync(buffer, cts.Token).ConfigureAwait(false);
                var message = buffer.AsSpan(0, r.ReceivedBytes);
                bool legacy = message.SequenceEqual(Iperf3Wire.LegacyUdpConnectMessage);
                if (r.ReceivedBytes != 4 || !(legacy || message.SequenceEqual(Iperf3Wire.UdpConnectMessage))) continue;
                if (!peers.Contains(r.RemoteEndPoint)) peers.Add(r.RemoteEndPoint);
                var reply = (legacy ? Iperf3Wire.LegacyUdpConnectReply : Iperf3Wire.UdpConnectReply).ToArray();
                await udp.SendToAsync(reply, r.RemoteEndPoint, cancellationToken: cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            throw new Iperf3ProtocolException($"only {peers.Count} of {p.StreamCount} UDP streams within {StreamsTimeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>One receive loop for all UDP streams of the test, by sender address; stray datagrams are ignored.</summary>
    private static async Task ReceiveUdpAsync(AsyncUdpSocket udp, Dictionary<IPEndPoint, Iperf3StreamStats> byPeer, bool counters64, int block,
        double start, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Max(block, 2048)];
        try
        {
            while (true)
            {
                var r = await udp.ReceiveFromAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (!byPeer.TryGetValue(r.RemoteEndPoint, out var s)) continue;
                double now = Iperf3Streams.Now;
                Iperf3Streams.AccountUdp(s, buffer.AsSpan(0, r.ReceivedBytes), counters64, now);
                s.EndTime = now - start;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits for the client's next state byte, giving up after -t + -O + 40 s (iperf3's server_timer_proc) or when nothing moves for 120 s.</summary>
    private async Task<Iperf3State> WaitForTestEndAsync(Iperf3Parameters p, List<Iperf3StreamStats> stats, CancellationToken stop)
    {
        var read = Iperf3Wire.ReadStateAsync(control, Timeout.InfiniteTimeSpan, stop);
        var clock = Stopwatch.StartNew();
        var lastProgress = Stopwatch.StartNew();
        long moved = 0;
        while (true)
        {
            var done = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(1), stop)).ConfigureAwait(false);
            if (done == read) return await read.ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
            long now = stats.Sum(s => s.Bytes);
            if (now != moved) { moved = now; lastProgress.Restart(); }
            if (p.Time > 0 && clock.Elapsed > TimeSpan.FromSeconds(p.Time + p.Omit + 40))
                throw new Iperf3ProtocolException("test duration expired without TEST_END");
            if (lastProgress.Elapsed > IdleTimeout)
                throw new Iperf3ProtocolException($"no data for {IdleTimeout.TotalSeconds:F0} s");
        }
    }

    /// <summary>The "streams" of the client's results: bytes by stream id.</summary>
    private static bool TryReadStreamBytes(JsonObject results, out Dictionary<int, long> bytesById)
    {
        bytesById = [];
        if (results["streams"] is not JsonArray streams || streams.Count > Iperf3Wire.MaxStreams * 2) return false;
        foreach (var node in streams)
        {
            if (node is not JsonObject s || !Iperf3Wire.TryGetNumber(s["id"], out double i) || !Iperf3Wire.TryGetNumber(s["bytes"], out double b)) return false;
            if (i is < 0 or > int.MaxValue || b < 0) return false;
            bytesById[(int)i] = (long)Math.Min(b, long.MaxValue);
        }
        return true;
    }

    /// <summary>Lets receivers take in what the client sent before TEST_END: TCP until the counts match (3 s at most), UDP until 250 ms pass quietly.</summary>
    private static async Task DrainAsync(List<Iperf3StreamStats> stats, Dictionary<int, long> sentById, bool udp, CancellationToken stop)
    {
        var receivers = stats.Where(s => !s.Sender && sentById.ContainsKey(s.Id)).ToList();
        var clock = Stopwatch.StartNew();
        long last = -1;
        var quiet = Stopwatch.StartNew();
        while (receivers.Any(s => s.Bytes < sentById[s.Id]) && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            long now = receivers.Sum(s => s.Bytes);
            if (now != last) { last = now; quiet.Restart(); }
            else if (udp && quiet.Elapsed > TimeSpan.FromMilliseconds(250)) break;
            await Task.Delay(5, stop).ConfigureAwait(false);
        }
    }

    /// <summary>send_results: CPU use and the per-stream counters.</summary>
    private static JsonObject Results(Iperf3Parameters p, List<Iperf3StreamStats> stats, CpuTimes cpu, double elapsed)
    {
        bool sends = stats.Any(s => s.Sender);
        var streams = new JsonArray();
        foreach (var s in stats) streams.Add(s.ToJson());
        var results = new JsonObject
        {
            ["cpu_util_total"] = 100 * (cpu.User + cpu.System) / elapsed,
            ["cpu_util_user"] = 100 * cpu.User / elapsed,
            ["cpu_util_system"] = 100 * cpu.System / elapsed,
            ["sender_has_retransmits"] = !sends ? -1 : p.Udp ? 0 : 1,
        };
        // Never null: iperf3 3.12 strdup()s the member's string whatever its type.
        if (!p.Udp) results["congestion_used"] = "cubic";
        results["streams"] = streams;
        return results;
    }

    private static string Describe(Iperf3Parameters p, List<Iperf3StreamStats> stats, double elapsed)
    {
        long bytes = stats.Sum(s => s.Bytes);
        string mode = p.Bidirectional ? "bidir" : p.Reverse ? "reverse" : "forward";
        string text = Iperf3Server.Format($"{(p.Udp ? "udp" : "tcp")} {mode} streams={p.Parallel} len={p.BlockSize(0)}{(p.Window > 0 ? $" window={p.Window}" : "")} {elapsed:F2}s {bytes * 8 / elapsed / 1e6:F0}Mbit/s");
        if (p.Udp && stats.Any(s => !s.Sender))
        {
            var r = stats.Where(s => !s.Sender).ToList();
            text += Iperf3Server.Format($" jitter={r.Max(s => s.Jitter) * 1000:F3}ms lost={r.Sum(s => s.Errors)}/{r.Sum(s => s.Packets)}");
        }
        return text;
    }
}

/// <summary>This process's CPU time in seconds (iperf3's cpu_util uses getrusage the same way).</summary>
internal readonly record struct CpuTimes(double User, double System)
{
    public static CpuTimes Now()
    {
        using var p = Process.GetCurrentProcess();
        return new CpuTimes(p.UserProcessorTime.TotalSeconds, p.PrivilegedProcessorTime.TotalSeconds);
    }

    public static CpuTimes operator -(CpuTimes a, CpuTimes b) => new(a.User - b.User, a.System - b.System);
}
