using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NetStack.Samples.Tlstunnel.Control;

/// <summary><c>tlstunnel ctl</c>: signs one command, sends it to the control port over the kernel's sockets and prints the answer.</summary>
public static class CtlClient
{
    public const string Usage =
        "usage: tlstunnel ctl --server HOST:PORT --secret-file FILE [--timestamp UNIX-SECONDS] [--replay-of FILE] [--save FILE]\n" +
        "                     (list | stats | add NAME BACKEND [via=kernel] [alpn=P] | remove NAME [alpn=P])\n" +
        "Exit status: 0 when the answer is ok, 1 when it is an error, 2 for a bad command line or no answer.\n" +
        "--timestamp, --save and --replay-of are for testing the server: a chosen time stamp, keep the signed request, send a saved one again.";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        string? serverText = null, secretFile = null, save = null, replay = null;
        long? timestamp = null;
        var command = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help": await output.WriteLineAsync(Usage).ConfigureAwait(false); return 0;
                case "--server" when i + 1 < args.Length: serverText = args[++i]; break;
                case "--secret-file" when i + 1 < args.Length: secretFile = args[++i]; break;
                case "--save" when i + 1 < args.Length: save = args[++i]; break;
                case "--replay-of" when i + 1 < args.Length: replay = args[++i]; break;
                case "--timestamp" when i + 1 < args.Length:
                    if (!long.TryParse(args[++i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ts)) { await error.WriteLineAsync("tlstunnel ctl: --timestamp is not a number").ConfigureAwait(false); return 2; }
                    timestamp = ts;
                    break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal)) { await error.WriteLineAsync($"tlstunnel ctl: unknown option '{args[i]}'").ConfigureAwait(false); return 2; }
                    command.Add(args[i]);
                    break;
            }
        }
        if (serverText is null || !IPEndPoint.TryParse(serverText, out var endpoint) || endpoint.Port == 0)
        {
            await error.WriteLineAsync("tlstunnel ctl: --server ADDRESS:PORT is needed").ConfigureAwait(false);
            return 2;
        }
        string line;
        if (replay is not null)
        {
            line = (await File.ReadAllTextAsync(replay).ConfigureAwait(false)).TrimEnd('\n');
        }
        else
        {
            if (secretFile is null || command.Count == 0) { await error.WriteLineAsync(Usage).ConfigureAwait(false); return 2; }
            var secret = ControlAuth.ReadSecretFile(secretFile, out var why);
            if (secret is null) { await error.WriteLineAsync($"tlstunnel ctl: {why}").ConfigureAwait(false); return 2; }
            var now = timestamp is { } t ? DateTimeOffset.FromUnixTimeSeconds(t) : DateTimeOffset.UtcNow;
            line = ControlAuth.Sign(secret, string.Join(' ', command), now);
        }
        if (save is not null) await File.WriteAllTextAsync(save, line + "\n").ConfigureAwait(false);
        try
        {
            using var client = new TcpClient(endpoint.AddressFamily);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), timeout.Token).ConfigureAwait(false);
            client.Client.Shutdown(SocketShutdown.Send);
            var answer = await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync(timeout.Token).ConfigureAwait(false);
            await output.WriteAsync(answer).ConfigureAwait(false);
            if (answer.Length == 0) return 2;
            return answer.StartsWith("ok", StringComparison.Ordinal) ? 0 : 1;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            await error.WriteLineAsync($"tlstunnel ctl: {endpoint}: {e.Message}").ConfigureAwait(false);
            return 2;
        }
    }
}
