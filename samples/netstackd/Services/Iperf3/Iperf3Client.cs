using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetStack.Sockets;
using NetStack.Tap;

namespace NetStack.Samples.Netstackd.Services.Iperf3;

/// <summary>What one iperf3 test measured, both ends' counts (like the sender and receiver lines of iperf3's summary).</summary>
public sealed record Iperf3ClientResult
{
    public required Iperf3Parameters Parameters { get; init; }
    /// <summary>Seconds the test ran on our side (TEST_RUNNING to TEST_END).</summary>
    public required double Seconds { get; init; }
    /// <summary>Bytes the sending end wrote (ours, or the server's report with -R).</summary>
    public required long SenderBytes { get; init; }
    /// <summary>Bytes the receiving end read (the server's report, or ours with -R).</summary>
    public required long ReceiverBytes { get; init; }
    /// <summary>With --bidir, the other direction (server to us): sent and received.</summary>
    public long ReverseSenderBytes { get; init; }
    public long ReverseReceiverBytes { get; init; }
    /// <summary>UDP: receiver's jitter (ms), datagrams lost and datagrams expected.</summary>
    public double JitterMs { get; init; }
    public long Lost { get; init; }
    public long Packets { get; init; }
    /// <summary>TCP retransmissions reported by the sender (-1: not known).</summary>
    public long Retransmits { get; init; } = -1;

    public double SenderMbps => SenderBytes * 8 / Seconds / 1e6;
    public double ReceiverMbps => ReceiverBytes * 8 / Seconds / 1e6;

    /// <summary>iperf3-like summary lines: "iperf3: tcp forward streams=1 sender bytes=N seconds=S mbps=M".</summary>
    public string Describe()
    {
        string mode = Parameters.Bidirectional ? "bidir" : Parameters.Reverse ? "reverse" : "forward";
        string head = $"iperf3: {(Parameters.Udp ? "udp" : "tcp")} {mode} streams={Parameters.Parallel}";
        string udp = Parameters.Udp ? Iperf3Server.Format($" jitter_ms={JitterMs:F3} lost={Lost} packets={Packets}") : "";
        string text = Iperf3Server.Format($"{head} sender bytes={SenderBytes} seconds={Seconds:F2} mbps={SenderMbps:F1}{(Retransmits >= 0 ? $" retransmits={Retransmits}" : "")}\n")
            + Iperf3Server.Format($"{head} receiver bytes={ReceiverBytes} seconds={Seconds:F2} mbps={ReceiverMbps:F1}{udp}");
        if (Parameters.Bidirectional)
            text += Iperf3Server.Format($"\n{head} reverse-sender bytes={ReverseSenderBytes}\n{head} reverse-receiver bytes={ReverseReceiverBytes}");
        return text;
    }
}

/// <summary>
/// An iperf3 client on a NetStack stack (netstackd --iperf3-client HOST[:PORT]): the control protocol of
/// iperf_client_api.c, so that the stock <c>iperf3 -s</c> (or our <see cref="Iperf3Server"/>) is the server.
/// </summary>
public sealed class Iperf3Client(IpStack ip, Iperf3Parameters parameters, int udpDefaultLength = 1448)
{
    /// <summary>How long to keep trying the control connection (the server may still be coming up).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// netstackd --iperf3-client: resolves the target, runs the test, prints the summary (or the reason it failed) to
    /// <paramref name="output"/>; 0 when the test completed, 1 otherwise.
    /// </summary>
    public static async Task<int> RunFromCommandLineAsync(IpStack ip, Iperf3CommandLine options, int mtu, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ip);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        if (!Iperf3CommandLine.TryParseTarget(options.ClientTarget ?? "", out string host, out int port))
        {
            output.WriteLine($"iperf3: bad target '{options.ClientTarget}'");
            return 1;
        }
        try
        {
            if (!IPAddress.TryParse(host, out var address))
                address = (await ip.ResolveAsync(host, cancellationToken).ConfigureAwait(false)).FirstOrDefault()
                    ?? throw new Iperf3ProtocolException($"'{host}' has no address");
            var p = options.ClientParameters();
            // iperf3 sizes UDP datagrams to the control connection's MSS when -l is not given.
            int udpLength = mtu - (address.AddressFamily == AddressFamily.InterNetworkV6 ? 60 : 40);
            var result = await new Iperf3Client(ip, p, udpLength).RunAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
            lock (output) output.WriteLine(result.Describe());
            return 0;
        }
        catch (Exception e) when (e is Iperf3ProtocolException or SocketException or IOException or TimeoutException)
        {
            lock (output) output.WriteLine($"iperf3: test failed: {e.Message}");
            return 1;
        }
    }

    /// <summary>Runs one test against <paramref name="server"/>.</summary>
    /// <exception cref="Iperf3ProtocolException">The server refused the test or broke the protocol.</exception>
    public async Task<Iperf3ClientResult> RunAsync(IPEndPoint server, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(server);
        var p = parameters;
        int block = p.BlockSize(udpDefaultLength);
        var cookie = Iperf3Wire.MakeCookie();
        await using var control = await ConnectAsync(server, new TcpSocketOptions { NoDelay = true }, cancellationToken).ConfigureAwait(false);
        await control.WriteAsync(cookie, cancellationToken).ConfigureAwait(false);

        var tcp = new List<TcpConnectionStream>();
        var udp = new List<AsyncUdpSocket>();
        var stats = new List<Iperf3StreamStats>();
        using var sendStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sendAbort = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var receiveStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var senders = new List<Task>();
        var receivers = new List<Task>();
        double start = 0, seconds = 0;
        JsonObject? theirs = null;
        try
        {
            while (true)
            {
                var state = await Iperf3Wire.ReadStateAsync(control, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
                switch (state)
                {
                    case Iperf3State.ParamExchange:
                        // Like iperf3, always say the block size (a server's own UDP default would be its 128 KiB TCP block).
                        await Iperf3Wire.WriteJsonAsync(control, (p with { Length = block }).ToJson(), cancellationToken).ConfigureAwait(false);
                        break;
                    case Iperf3State.CreateStreams:
                        // iperf_create_streams: with --bidir our sending streams first, then the receiving ones.
                        int sending = p.Bidirectional ? p.Parallel : p.Reverse ? 0 : p.Parallel;
                        for (int i = 0; i < p.StreamCount; i++)
                        {
                            stats.Add(new Iperf3StreamStats(Iperf3StreamStats.IdOf(i), sender: i < sending));
                            if (p.Udp) udp.Add(await ConnectUdpAsync(server, p, block, cancellationToken).ConfigureAwait(false));
                            else
                            {
                                var s = await ip.ConnectTcpAsync(server, Iperf3ServerTest.StreamOptions(p), cancellationToken).ConfigureAwait(false);
                                tcp.Add(s);
                                await s.WriteAsync(cookie, cancellationToken).ConfigureAwait(false);
                            }
                        }
                        break;
                    case Iperf3State.TestStart:
                        break;
                    case Iperf3State.TestRunning:
                        start = Iperf3Streams.Now;
                        StartStreams(p, block, tcp, udp, stats, start, senders, receivers, sendStop.Token, sendAbort.Token, receiveStop.Token);
                        await RunUntilDoneAsync(control, p, stats, block, cancellationToken).ConfigureAwait(false);
                        seconds = Iperf3Streams.Now - start;
                        await sendStop.CancelAsync().ConfigureAwait(false);
                        sendAbort.CancelAfter(TimeSpan.FromSeconds(2)); // a write under way gets this long to finish
                        await Task.WhenAll(senders).ConfigureAwait(false);
                        for (int i = 0; i < tcp.Count; i++)
                            if (stats[i].Sender) Iperf3ServerTest.ShutdownQuietly(tcp[i]);
                        await Iperf3Wire.WriteStateAsync(control, Iperf3State.TestEnd, cancellationToken).ConfigureAwait(false);
                        break;
                    case Iperf3State.ExchangeResults:
                        // The server closes its sending streams at TEST_END; take in what is in flight before reporting.
                        await DrainAsync(receivers, stats, cancellationToken).ConfigureAwait(false);
                        await receiveStop.CancelAsync().ConfigureAwait(false);
                        await Task.WhenAll(receivers).ConfigureAwait(false);
                        for (int i = 0; i < tcp.Count; i++)
                            if (stats[i].Sender) stats[i].Retransmits = await tcp[i].InspectAsync(c => c.Retransmissions, cancellationToken).ConfigureAwait(false);
                        await Iperf3Wire.WriteJsonAsync(control, OurResults(p, stats, seconds), cancellationToken).ConfigureAwait(false);
                        theirs = await Iperf3Wire.ReadJsonAsync(control, Iperf3Wire.MaxResultsJson, TimeSpan.FromSeconds(30), "results", cancellationToken).ConfigureAwait(false);
                        break;
                    case Iperf3State.DisplayResults:
                        foreach (var s in tcp) await s.DisposeAsync().ConfigureAwait(false);
                        await Iperf3Wire.WriteStateAsync(control, Iperf3State.IperfDone, cancellationToken).ConfigureAwait(false);
                        control.ShutdownSend();
                        if (theirs is null) throw new Iperf3ProtocolException("DISPLAY_RESULTS before the results");
                        return Summarize(p, stats, theirs, seconds);
                    case Iperf3State.AccessDenied:
                        throw new Iperf3ProtocolException("the server is busy (ACCESS_DENIED)");
                    case Iperf3State.ServerError:
                        var codes = new byte[8];
                        await Iperf3Wire.ReadExactAsync(control, codes, TimeSpan.FromSeconds(10), "the error number", cancellationToken).ConfigureAwait(false);
                        throw new Iperf3ProtocolException(Iperf3Server.Format(
                            $"SERVER_ERROR {System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(codes)} (errno {System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(codes.AsSpan(4))})"));
                    case Iperf3State.ServerTerminate:
                        throw new Iperf3ProtocolException("the server ended the test (SERVER_TERMINATE)");
                    default:
                        throw new Iperf3ProtocolException($"unexpected state {(int)state}");
                }
            }
        }
        finally
        {
            await sendStop.CancelAsync().ConfigureAwait(false);
            await sendAbort.CancelAsync().ConfigureAwait(false);
            await receiveStop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(senders.Concat(receivers)).ConfigureAwait(false);
            foreach (var s in tcp) await s.DisposeAsync().ConfigureAwait(false);
            foreach (var u in udp) await u.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Opens a connection, retrying refusals and timeouts until <see cref="ConnectTimeout"/> (the server or our address may not be up yet).</summary>
    private async Task<TcpConnectionStream> ConnectAsync(IPEndPoint server, TcpSocketOptions options, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await ip.ConnectTcpAsync(server, options, cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or TimeoutException && clock.Elapsed < ConnectTimeout)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>iperf_udp_connect: our own port, connected to the server's, the 4-byte hello, and its answer (with -R a data datagram may come first).</summary>
    private async Task<AsyncUdpSocket> ConnectUdpAsync(IPEndPoint server, Iperf3Parameters p, int block, CancellationToken cancellationToken)
    {
        var any = server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
        var socket = await ip.BindUdpAsync(new IPEndPoint(any, 0), cancellationToken).ConfigureAwait(false);
        try
        {
            await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
            await socket.SendAsync(Iperf3Wire.UdpConnectMessage.ToArray(), cancellationToken).ConfigureAwait(false);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            cts.CancelAfter(TimeSpan.FromSeconds(30));
            var buffer = new byte[Math.Max(block, 64)];
            int seen = 0, allowed = 4 + (p.Reverse || p.Bidirectional ? 2 * block : 0);
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer, cts.Token).ConfigureAwait(false);
                var d = buffer.AsSpan(0, r.ReceivedBytes);
                if (d.Length == 4 && (d.SequenceEqual(Iperf3Wire.UdpConnectReply) || d.SequenceEqual(Iperf3Wire.LegacyUdpConnectReply))) return socket;
                seen += d.Length;
                if (seen >= allowed) throw new Iperf3ProtocolException("no UDP connect reply");
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await socket.DisposeAsync().ConfigureAwait(false);
            throw new Iperf3ProtocolException("no UDP connect reply within 30 s");
        }
        catch
        {
            await socket.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static void StartStreams(Iperf3Parameters p, int block, List<TcpConnectionStream> tcp, List<AsyncUdpSocket> udp, List<Iperf3StreamStats> stats,
        double start, List<Task> senders, List<Task> receivers, CancellationToken sendStop, CancellationToken sendAbort, CancellationToken receiveStop)
    {
        var budget = new Iperf3Budget(p.Bytes, p.Blocks);
        for (int i = 0; i < stats.Count; i++)
        {
            var s = stats[i];
            var pacer = new Iperf3Pacer(p.Bandwidth);
            if (p.Udp)
            {
                var socket = udp[i];
                if (s.Sender) senders.Add(Task.Run(() => Iperf3Streams.SendUdpAsync(socket, null, s, block, p.UdpCounters64, budget, pacer, start, sendStop), CancellationToken.None));
                else receivers.Add(Task.Run(() => ReceiveUdpAsync(socket, s, p.UdpCounters64, block, start, receiveStop), CancellationToken.None));
                continue;
            }
            var connection = tcp[i];
            if (s.Sender) senders.Add(Task.Run(() => Iperf3Streams.SendTcpAsync(connection, s, block, budget, pacer, start, sendStop, sendAbort), CancellationToken.None));
            else receivers.Add(Task.Run(() => Iperf3Streams.ReceiveTcpAsync(connection, s, block, start, receiveStop), CancellationToken.None));
        }
    }

    private static async Task ReceiveUdpAsync(AsyncUdpSocket socket, Iperf3StreamStats stats, bool counters64, int block, double start, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Max(block, 2048)];
        try
        {
            while (true)
            {
                var r = await socket.ReceiveFromAsync(buffer, cancellationToken).ConfigureAwait(false);
                double now = Iperf3Streams.Now;
                Iperf3Streams.AccountUdp(stats, buffer.AsSpan(0, r.ReceivedBytes), counters64, now);
                stats.EndTime = now - start;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// iperf_run_client's end test: -t elapsed, or -n bytes / -k blocks sent (or, with -R, received), counted over all
    /// streams. A state byte from the server meanwhile is an error (it only speaks after our TEST_END).
    /// </summary>
    private static async Task RunUntilDoneAsync(TcpConnectionStream control, Iperf3Parameters p, List<Iperf3StreamStats> stats, int block, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        long last = 0;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var early = Iperf3Wire.ReadStateAsync(control, Timeout.InfiniteTimeSpan, cts.Token);
        try
        {
            while (true)
            {
                var done = await Task.WhenAny(early, Task.Delay(5, cancellationToken)).ConfigureAwait(false);
                if (done == early)
                {
                    var state = await early.ConfigureAwait(false);
                    throw new Iperf3ProtocolException(state == Iperf3State.ServerError ? "SERVER_ERROR during the test" : $"state {(int)state} during the test");
                }
                long sent = stats.Where(s => s.Sender).Sum(s => s.Bytes), received = stats.Where(s => !s.Sender).Sum(s => s.Bytes);
                // UDP: a lost datagram still counts towards -n (by sequence number), and a test by bytes whose sender
                // has gone quiet for 2 s is over (iperf3 itself would wait for bytes that never come).
                if (p.Udp) received = Math.Max(received, stats.Where(s => !s.Sender).Sum(s => s.Packets) * block);
                if (received != last) { last = received; quiet.Restart(); }
                if (p.Udp && p.Time == 0 && received > 0 && quiet.Elapsed > TimeSpan.FromSeconds(2)) return;
                long sentBlocks = stats.Where(s => s.Sender).Sum(s => s.Blocks), receivedBlocks = stats.Where(s => !s.Sender).Sum(s => s.Blocks);
                if (p.Bytes > 0 && (sent >= p.Bytes || received >= p.Bytes)) return;
                if (p.Blocks > 0 && (sentBlocks >= p.Blocks || receivedBlocks >= p.Blocks)) return;
                if (p.Bytes == 0 && p.Blocks == 0 && clock.Elapsed.TotalSeconds >= p.Time) return;
            }
        }
        finally
        {
            await cts.CancelAsync().ConfigureAwait(false);
            try
            {
                await early.ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or Iperf3ProtocolException or IOException or SocketException)
            {
            }
        }
    }

    /// <summary>Waits (3 s at most) until our receivers have stopped hearing anything for 100 ms: the server has stopped sending.</summary>
    private static async Task DrainAsync(List<Task> receivers, List<Iperf3StreamStats> stats, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var quiet = Stopwatch.StartNew();
        long last = -1;
        while (!receivers.All(r => r.IsCompleted) && clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            long now = stats.Where(s => !s.Sender).Sum(s => s.Bytes);
            if (now != last) { last = now; quiet.Restart(); }
            else if (quiet.Elapsed > TimeSpan.FromMilliseconds(100)) break;
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    private static JsonObject OurResults(Iperf3Parameters p, List<Iperf3StreamStats> stats, double seconds)
    {
        var streams = new JsonArray();
        foreach (var s in stats)
        {
            var j = s.ToJson();
            j["end_time"] = seconds;
            streams.Add(j);
        }
        bool sends = stats.Any(s => s.Sender);
        return new JsonObject
        {
            ["cpu_util_total"] = 0.0,
            ["cpu_util_user"] = 0.0,
            ["cpu_util_system"] = 0.0,
            ["sender_has_retransmits"] = !sends ? -1 : p.Udp ? 0 : 1,
            ["streams"] = streams,
        };
    }

    /// <summary>Pairs our counts with the server's (same stream ids) into the summary.</summary>
    private static Iperf3ClientResult Summarize(Iperf3Parameters p, List<Iperf3StreamStats> stats, JsonObject theirs, double seconds)
    {
        var peer = new Dictionary<int, (long Bytes, double Jitter, long Errors, long Packets, long Retransmits)>();
        if (theirs["streams"] is JsonArray streams)
        {
            foreach (var node in streams)
            {
                if (node is not JsonObject s) continue;
                int id = (int)Num(s, "id");
                peer[id] = ((long)Num(s, "bytes"), Num(s, "jitter"), (long)Num(s, "errors"), (long)Num(s, "packets"), (long)Num(s, "retransmits"));
            }
        }
        long Peer(Iperf3StreamStats s) => peer.TryGetValue(s.Id, out var v) ? v.Bytes : 0;
        var ours = stats.Where(s => s.Sender).ToList();       // we send, they receive
        var theirsSend = stats.Where(s => !s.Sender).ToList(); // they send, we receive
        bool forward = !p.Reverse || p.Bidirectional;
        var primary = forward ? ours : theirsSend;
        long senderBytes = forward ? ours.Sum(s => s.Bytes) : theirsSend.Sum(Peer);
        long receiverBytes = forward ? ours.Sum(Peer) : theirsSend.Sum(s => s.Bytes);
        double jitter = 0;
        long lost = 0, packets = 0, retransmits = -1;
        if (p.Udp)
        {
            foreach (var s in primary)
            {
                if (forward && peer.TryGetValue(s.Id, out var v)) { jitter = Math.Max(jitter, v.Jitter); lost += v.Errors; packets += v.Packets; }
                else if (!forward) { jitter = Math.Max(jitter, s.Jitter); lost += s.Errors; packets += s.Packets; }
            }
        }
        else
        {
            retransmits = forward ? ours.Sum(s => Math.Max(0, s.Retransmits)) : theirsSend.Sum(s => peer.TryGetValue(s.Id, out var v) ? Math.Max(0, v.Retransmits) : 0);
        }
        return new Iperf3ClientResult
        {
            Parameters = p,
            Seconds = Math.Max(seconds, 1e-6),
            SenderBytes = senderBytes,
            ReceiverBytes = receiverBytes,
            ReverseSenderBytes = p.Bidirectional ? theirsSend.Sum(Peer) : 0,
            ReverseReceiverBytes = p.Bidirectional ? theirsSend.Sum(s => s.Bytes) : 0,
            JitterMs = jitter * 1000,
            Lost = lost,
            Packets = packets,
            Retransmits = retransmits,
        };
    }

    private static double Num(JsonObject o, string name) => Iperf3Wire.TryGetNumber(o[name], out double d) ? d : 0;
}
