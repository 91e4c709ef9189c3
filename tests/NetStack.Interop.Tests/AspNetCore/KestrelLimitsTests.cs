using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using NetStack.Interop.Tests.Api;
using NetStack.Interop.Tests.Support;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.AspNetCore;

/// <summary>
/// Slowloris-style clients against Kestrel over NetStack: kernel sockets in the lab's namespace that stall, trickle or
/// flood. Kestrel's limits (MaxConcurrentConnections) and timeouts (RequestHeadersTimeout, KeepAliveTimeout) live above
/// the transport, so they must behave as they do on sockets: a trickling client is answered 408 and closed, a silent or
/// idle keep-alive connection is closed, connections over the limit are closed at once while those under it are served.
/// Kestrel checks its timeouts on a one-second heartbeat, hence the slack in the time bounds.
/// </summary>
public sealed class KestrelLimitsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private static readonly IPEndPoint Server = new(KernelPeer.OurV4, 8080);
    private static readonly IPEndPoint Server6 = new(KernelPeer.OurV6, 8080);

    private static Task<KestrelLab> StartAsync(Action<KestrelServerLimits> limits) =>
        KestrelLab.StartAsync(k =>
        {
            limits(k.Limits);
            k.Listen(IPAddress.IPv6Any, 8080);
        }, app => app.MapGet("/", () => "ok\n"));

    private static async Task<Socket> ConnectAsync(KestrelLab lab, IPEndPoint server)
    {
        var s = NetnsSocket.CreateTcp(lab.Namespace, server.AddressFamily);
        try
        {
            await s.ConnectAsync(server).WaitAsync(Limit);
            return s;
        }
        catch
        {
            s.Dispose();
            throw;
        }
    }

    /// <summary>Reads until the server closes (FIN: returns what came; RST: returns what came before it, flagged).</summary>
    private static async Task<(string Text, bool Reset, TimeSpan At)> ReadUntilClosedAsync(Socket s, Stopwatch clock, TimeSpan timeout)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                int n = await s.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return (text.ToString(), false, clock.Elapsed);
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (text.ToString(), true, clock.Elapsed);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Headers_trickled_slowly_are_answered_408_after_RequestHeadersTimeout(bool ipv6)
    {
        Root.Require();
        await using var lab = await StartAsync(l =>
        {
            l.RequestHeadersTimeout = TimeSpan.FromSeconds(2);
            l.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        });
        using var s = await ConnectAsync(lab, ipv6 ? Server6 : Server);
        var clock = Stopwatch.StartNew();
        await s.SendAsync("GET / HTTP/1.1\r\nHost: kestrel.test\r\n"u8.ToArray());
        // The classic slowloris: one more header line every 300 ms, never the blank line that ends the headers.
        using var stopTrickle = new CancellationTokenSource();
        var trickle = Task.Run(async () =>
        {
            try
            {
                for (int i = 0; !stopTrickle.IsCancellationRequested; i++)
                {
                    await Task.Delay(300, stopTrickle.Token);
                    await s.SendAsync(Encoding.ASCII.GetBytes($"X-Slow-{i}: {i}\r\n"), stopTrickle.Token);
                }
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });
        var (text, reset, at) = await ReadUntilClosedAsync(s, clock, Limit);
        await stopTrickle.CancelAsync();
        await trickle;
        output.WriteLine($"closed after {at.TotalSeconds:F2} s (reset: {reset}); got: {text.Split('\r')[0]}");
        Assert.StartsWith("HTTP/1.1 408 Request Timeout", text, StringComparison.Ordinal);
        Assert.InRange(at, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [SkippableFact]
    public async Task A_client_that_connects_and_sends_nothing_is_closed_after_KeepAliveTimeout()
    {
        Root.Require();
        // Kestrel waits for a request's first byte under KeepAliveTimeout; RequestHeadersTimeout starts with that byte.
        await using var lab = await StartAsync(l =>
        {
            l.RequestHeadersTimeout = TimeSpan.FromSeconds(60);
            l.KeepAliveTimeout = TimeSpan.FromSeconds(2);
        });
        using var s = await ConnectAsync(lab, Server);
        var clock = Stopwatch.StartNew();
        var (text, reset, at) = await ReadUntilClosedAsync(s, clock, Limit);
        output.WriteLine($"silent connection closed after {at.TotalSeconds:F2} s (reset: {reset})");
        Assert.Equal("", text);
        Assert.False(reset); // FIN
        Assert.InRange(at, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [SkippableFact]
    public async Task An_idle_keep_alive_connection_is_closed_with_FIN_after_KeepAliveTimeout()
    {
        Root.Require();
        await using var lab = await StartAsync(l => l.KeepAliveTimeout = TimeSpan.FromSeconds(2));
        using var s = await ConnectAsync(lab, Server);
        await s.SendAsync("GET / HTTP/1.1\r\nHost: kestrel.test\r\n\r\n"u8.ToArray());
        var buffer = new byte[4096];
        var first = new StringBuilder();
        while (!first.ToString().EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal)) // the chunked body's last chunk
        {
            int n = await s.ReceiveAsync(buffer).WaitAsync(Limit);
            Assert.NotEqual(0, n);
            first.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        Assert.StartsWith("HTTP/1.1 200 OK", first.ToString(), StringComparison.Ordinal);
        var clock = Stopwatch.StartNew(); // idle from here
        var (text, reset, at) = await ReadUntilClosedAsync(s, clock, Limit);
        output.WriteLine($"idle connection closed after {at.TotalSeconds:F2} s (reset: {reset})");
        Assert.Equal("", text);
        Assert.False(reset); // a graceful close: FIN
        Assert.InRange(at, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15));
    }

    [SkippableFact]
    public async Task Connections_over_MaxConcurrentConnections_are_closed_at_once_and_those_under_it_are_served()
    {
        Root.Require();
        const int max = 10, flood = 40;
        await using var lab = await StartAsync(l =>
        {
            l.MaxConcurrentConnections = max;
            l.RequestHeadersTimeout = TimeSpan.FromSeconds(60);
            l.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        });
        var held = new List<Socket>();
        try
        {
            // The first ten hold their connections open, silent.
            for (int i = 0; i < max; i++) held.Add(await ConnectAsync(lab, Server));
            // A flood of thirty more arrives at once: each is accepted by TCP and closed by Kestrel without a byte.
            var clock = Stopwatch.StartNew();
            var extra = await Task.WhenAll(Enumerable.Range(0, flood - max).Select(_ => ConnectAsync(lab, Server)));
            held.AddRange(extra);
            var closes = await Task.WhenAll(extra.Select(s => ReadUntilClosedAsync(s, clock, Limit)));
            output.WriteLine($"{extra.Length} connections over the limit closed within {closes.Max(c => c.At).TotalSeconds:F2} s");
            Assert.All(closes, c => Assert.Equal("", c.Text));
            Assert.All(closes, c => Assert.InRange(c.At, TimeSpan.Zero, TimeSpan.FromSeconds(30)));
            // The ten under the limit are still open and are served.
            foreach (var s in held.Take(max))
            {
                await s.SendAsync("GET / HTTP/1.1\r\nHost: kestrel.test\r\nConnection: close\r\n\r\n"u8.ToArray());
                var (text, _, _) = await ReadUntilClosedAsync(s, clock, Limit);
                Assert.StartsWith("HTTP/1.1 200 OK", text, StringComparison.Ordinal);
                Assert.Contains("\r\nok\n\r\n", text, StringComparison.Ordinal);
            }
            // With them gone, new connections are served again (Kestrel releases a slot when a connection ends).
            var deadline = Stopwatch.StartNew();
            string answer = "";
            while (deadline.Elapsed < Limit)
            {
                using var again = await ConnectAsync(lab, Server);
                await again.SendAsync("GET / HTTP/1.1\r\nHost: kestrel.test\r\nConnection: close\r\n\r\n"u8.ToArray());
                (answer, _, _) = await ReadUntilClosedAsync(again, deadline, Limit);
                if (answer.StartsWith("HTTP/1.1 200 OK", StringComparison.Ordinal)) break;
                await Task.Delay(100);
            }
            Assert.StartsWith("HTTP/1.1 200 OK", answer, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
    }
}
