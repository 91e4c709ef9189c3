using System.Net.Sockets;
using System.Text;
using NetStack.Samples.Tlstunnel.Config;
using NetStack.Samples.Tlstunnel.Transport;
using NetStack.Samples.Tlstunnel.Tunnel;

namespace NetStack.Samples.Tlstunnel.Control;

/// <summary>
/// The control port: one signed request line per connection (<see cref="ControlAuth"/>), one answer (<c>ok</c> and lines,
/// or <c>error REASON</c>), then close. Commands: <c>list</c>, <c>stats</c>, <c>add NAME BACKEND [via=kernel|stack] [alpn=P]</c>,
/// <c>remove NAME [alpn=P]</c>.
/// </summary>
internal sealed class ControlServer(TunnelServer server, ControlAuth auth)
{
    private const int MaxLine = 4096;

    public async Task HandleAsync(ITunnelConnection client, TrackedConnection tracked)
    {
        string remote = client.RemoteEndPoint.ToString();
        tracked.Cancellation.CancelAfter(server.Options.ControlTimeout);
        var token = tracked.Token;
        string outcome = "ok";
        try
        {
            var line = await ReadLineAsync(client.Stream, token).ConfigureAwait(false);
            string answer;
            if (line is null)
            {
                outcome = "bad-request";
                answer = "error malformed\n";
                server.Log.ControlRefused(remote, "no request line");
            }
            else
            {
                var result = auth.Verify(line, out var command);
                if (result != AuthResult.Ok)
                {
                    outcome = "refused";
                    answer = $"error {ReasonOf(result)}\n";
                    server.Log.ControlRefused(remote, ReasonOf(result));
                }
                else
                {
                    answer = Execute(command);
                    server.Log.ControlCommand(remote, command, answer.Split('\n')[0]);
                }
            }
            await client.Stream.WriteAsync(Encoding.UTF8.GetBytes(answer), token).ConfigureAwait(false);
            client.ShutdownSend();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            outcome = tracked.CutReason ?? "timeout";
            client.Abort();
        }
        finally
        {
            await client.DisposeAsync().ConfigureAwait(false);
            server.Metrics.Closed("control", outcome);
        }
    }

    public static string ReasonOf(AuthResult r) => r switch
    {
        AuthResult.Malformed => "malformed",
        AuthResult.StaleTimestamp => "stale-timestamp",
        AuthResult.BadMac => "bad-mac",
        AuthResult.ReplayedNonce => "replayed-nonce",
        AuthResult.TooManyNonces => "busy",
        _ => "ok",
    };

    /// <summary>Runs an authenticated command; the answer's first line is <c>ok</c> or <c>error REASON</c>.</summary>
    internal string Execute(string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return "error empty command\n";
        switch (words[0])
        {
            case "list" when words.Length == 1:
                return "ok\n" + string.Concat(server.State.Current.Routes.Routes.Select(r => r + "\n"));
            case "stats" when words.Length == 1:
                // managed_bytes: the live managed heap after a full collection (what is really held, unlike RSS).
                return "ok\n" + server.Metrics.Describe() + $"open {server.Tracker.Count}\nmanaged_bytes {GC.GetTotalMemory(forceFullCollection: true)}\n";
            case "add" when words.Length >= 3:
            {
                var name = ServerNames.NormalizePattern(words[1]);
                if (name is null) return $"error '{words[1]}' is not a host name or *.wildcard\n";
                bool kernel = false;
                string? alpn = null;
                foreach (var option in words.Skip(3))
                {
                    if (option is "via=kernel") kernel = true;
                    else if (option is "via=stack") kernel = false;
                    else if (option.StartsWith("alpn=", StringComparison.Ordinal) && TunnelConfig.IsAlpn(option[5..])) alpn = option[5..];
                    else return $"error unknown option '{option}'\n";
                }
                var backend = Backend.Parse(words[2], kernel, out var error);
                if (backend is null) return $"error {error}\n";
                var route = new Route(name, alpn, backend, RouteOrigin.Control);
                server.State.Add(route);
                return $"ok\n{route}\n";
            }
            case "remove" when words.Length is 2 or 3:
            {
                var name = ServerNames.NormalizePattern(words[1]);
                if (name is null) return $"error '{words[1]}' is not a host name or *.wildcard\n";
                string? alpn = null;
                if (words.Length == 3)
                {
                    if (!words[2].StartsWith("alpn=", StringComparison.Ordinal)) return $"error unknown option '{words[2]}'\n";
                    alpn = words[2][5..];
                }
                return server.State.Remove(name, alpn) ? "ok\n" : $"error no route for {name}\n";
            }
            default:
                return $"error unknown command '{words[0]}'\n";
        }
    }

    private static async Task<string?> ReadLineAsync(Stream stream, CancellationToken token)
    {
        var buffer = new byte[MaxLine];
        int filled = 0;
        while (filled < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(filled), token).ConfigureAwait(false);
            if (n == 0) return null;
            int nl = buffer.AsSpan(filled, n).IndexOf((byte)'\n');
            filled += n;
            if (nl >= 0)
            {
                int end = filled - n + nl;
                if (end > 0 && buffer[end - 1] == '\r') end--;
                try
                {
                    return new UTF8Encoding(false, true).GetString(buffer, 0, end);
                }
                catch (DecoderFallbackException)
                {
                    return null;
                }
            }
        }
        return null;
    }
}
