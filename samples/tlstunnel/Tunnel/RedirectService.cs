using System.Diagnostics;
using System.Net.Sockets;
using NetStack.Samples.Tlstunnel.Transport;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>Port 80: every request answered 308 to https (<see cref="HttpRedirect"/>), keep-alive and pipelining honoured, malformed requests 400 and closed.</summary>
internal sealed class RedirectService(TunnelServer server)
{
    /// <summary>A request body longer than this is not read: the answer says Connection: close.</summary>
    private const long MaxBodyToSkip = 1 << 20;

    public async Task HandleAsync(ITunnelConnection client, TrackedConnection tracked)
    {
        var clock = Stopwatch.StartNew();
        string outcome = "ok";
        int requests = 0;
        var token = tracked.Token;
        tracked.Established = true;                      // the idle limit applies from the start
        var buffer = new byte[HttpRedirect.MaxHead];
        int filled = 0;
        try
        {
            while (true)
            {
                int end;
                while ((end = HeadEnd(buffer.AsSpan(0, filled))) < 0)
                {
                    if (filled == buffer.Length)
                    {
                        outcome = "bad-request";
                        await client.Stream.WriteAsync(HttpRedirect.Response400, token).ConfigureAwait(false);
                        return;
                    }
                    int n = await client.Stream.ReadAsync(buffer.AsMemory(filled), token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        if (filled > 0) outcome = "truncated";
                        return;
                    }
                    tracked.Touch();
                    filled += n;
                }
                var request = HttpRedirect.Parse(buffer.AsSpan(0, end), out _);
                if (request is null)
                {
                    outcome = "bad-request";
                    await client.Stream.WriteAsync(HttpRedirect.Response400, token).ConfigureAwait(false);
                    return;
                }
                requests++;
                bool keepAlive = request.KeepAlive && request.BodyLength <= MaxBodyToSkip;
                await client.Stream.WriteAsync(HttpRedirect.Response308(request.Location, keepAlive), token).ConfigureAwait(false);
                if (!keepAlive) return;
                // Drop the head and the body (Content-Length) from the buffer, reading the rest of the body if needed.
                long skip = end + request.BodyLength;
                while (skip > filled)
                {
                    skip -= filled;
                    filled = await client.Stream.ReadAsync(buffer, token).ConfigureAwait(false);
                    if (filled == 0) return;
                    tracked.Touch();
                }
                Buffer.BlockCopy(buffer, (int)skip, buffer, 0, filled - (int)skip);
                filled -= (int)skip;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            outcome = tracked.CutReason ?? "reset";
        }
        finally
        {
            if (outcome is "ok" or "bad-request") client.ShutdownSend();
            else client.Abort();
            await client.DisposeAsync().ConfigureAwait(false);
            server.Metrics.Closed("http", outcome);
            server.Log.HttpConnection(client.RemoteEndPoint.ToString(), requests, clock.Elapsed.TotalMilliseconds, outcome);
        }
    }

    /// <summary>The length of the head including its empty line (CRLF CRLF, or LF LF as RFC 9112 §2.2 lets us accept), or -1.</summary>
    internal static int HeadEnd(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] != (byte)'\n') continue;
            if (i + 1 < data.Length && data[i + 1] == (byte)'\n') return i + 2;
            if (i + 2 < data.Length && data[i + 1] == (byte)'\r' && data[i + 2] == (byte)'\n') return i + 3;
        }
        return -1;
    }
}
