using System.Buffers;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using NetStack.Samples.Tlstunnel.Config;
using NetStack.Samples.Tlstunnel.Transport;

namespace NetStack.Samples.Tlstunnel.Tunnel;

/// <summary>
/// Port 443: reads the ClientHello (<see cref="ClientHello"/>), routes by its server name and ALPN offer, refuses unknown
/// names with the alert unrecognized_name (RFC 6066 §3), terminates TLS 1.2/1.3 with <see cref="SslStream"/> (the
/// certificate chosen by SNI in <c>ServerOptionsSelectionCallback</c>), then relays plaintext to the backend in both
/// directions, half-closes included, until both sides are done. One log line per connection.
/// </summary>
internal sealed class HttpsFront(TunnelServer server)
{
    private const int BufferSize = 32 * 1024;

    public async Task HandleAsync(ITunnelConnection client, TrackedConnection tracked)
    {
        var clock = Stopwatch.StartNew();
        var token = tracked.Token;
        string name = "-", alpn = "-", backendText = "-", outcome = "ok";
        var counts = new long[2]; // [0] to backend, [1] to client
        SslStream? tls = null;
        ITunnelConnection? backend = null;
        try
        {
            tracked.Cancellation.CancelAfter(server.Options.HandshakeTimeout);
            var (hello, alert, reason) = await ClientHello.ReadAsync(client.Stream, token).ConfigureAwait(false);
            if (hello is null)
            {
                outcome = reason == "closed" ? "closed" : "bad-hello";
                if (reason != "closed") server.Metrics.HandshakeFailed("bad-hello");
                if (alert != 0) await SendAlertAsync(client, alert).ConfigureAwait(false);
                return;
            }
            var snapshot = server.State.Current;
            name = hello.ServerName ?? snapshot.DefaultName ?? "-";
            var decision = name == "-" ? new RouteDecision(RouteMatch.UnknownName, null, null) : snapshot.Routes.Lookup(name, hello.Alpn);
            if (decision.Match == RouteMatch.UnknownName)
            {
                outcome = "unknown-name";
                server.Metrics.HandshakeFailed("unknown-name");
                server.Log.UnknownName(client.RemoteEndPoint.ToString(), hello.ServerName ?? "(no SNI)");
                await SendAlertAsync(client, ClientHello.AlertUnrecognizedName).ConfigureAwait(false);
                return;
            }
            if (decision.Match == RouteMatch.NoApplicationProtocol)
            {
                outcome = "no-alpn";
                server.Metrics.HandshakeFailed("no-alpn");
                await SendAlertAsync(client, ClientHello.AlertNoApplicationProtocol).ConfigureAwait(false);
                return;
            }
            var route = decision.Route!;
            backendText = route.Backend.ToString();
            var options = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = snapshot.Certificates.Select(name),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ApplicationProtocols = decision.Alpn is { } a ? [new SslApplicationProtocol(a)] : null,
                ClientCertificateRequired = false,
                AllowRenegotiation = false,
            };
            tls = new SslStream(new ReplayStream(hello.Raw, client.Stream), leaveInnerStreamOpen: false);
            try
            {
                // The options were chosen from our own reading of the ClientHello; SslStream's own reading must agree.
                await tls.AuthenticateAsServerAsync((_, info, _, _) =>
                    ServerNames.Normalize(info.ServerName) == hello.ServerName
                        ? ValueTask.FromResult(options)
                        : throw new AuthenticationException("server name differs from the ClientHello read"), null, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
                outcome = token.IsCancellationRequested ? tracked.CutReason ?? "handshake-timeout" : "handshake-failed";
                server.Metrics.HandshakeFailed(outcome);
                return;
            }
            alpn = tls.NegotiatedApplicationProtocol.Protocol.Length == 0 ? "-" : tls.NegotiatedApplicationProtocol.ToString();
            // The handshake deadline no longer applies; the idle limit does.
            tracked.Cancellation.CancelAfter(Timeout.InfiniteTimeSpan);
            if (token.IsCancellationRequested) { outcome = tracked.CutReason ?? "handshake-timeout"; return; }
            tracked.Touch();
            tracked.Established = true;
            try
            {
                using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                connectTimeout.CancelAfter(server.Options.BackendConnectTimeout);
                backend = await server.BackendTransport(route.Backend).ConnectAsync(route.Backend.Host, route.Backend.Port, connectTimeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                outcome = token.IsCancellationRequested ? tracked.CutReason ?? "stopped" : "backend-unreachable";
                return;
            }
            outcome = await RelayAsync(tls, client, backend, tracked, counts).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            outcome = tracked.CutReason ?? (token.IsCancellationRequested ? "handshake-timeout" : "reset");
            if (!tracked.Established && outcome == "handshake-timeout") server.Metrics.HandshakeFailed(outcome);
        }
        finally
        {
            // After an alert the connection closes gracefully (the alert must not be lost to a reset); otherwise it resets.
            if (outcome is not ("ok" or "unknown-name" or "no-alpn" or "bad-hello")) client.Abort();
            if (backend is not null)
            {
                if (outcome != "ok") backend.Abort();
                await backend.DisposeAsync().ConfigureAwait(false);
            }
            if (tls is not null) await tls.DisposeAsync().ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
            server.Metrics.ToBackend(counts[0]);
            server.Metrics.ToClient(counts[1]);
            server.Metrics.Closed("https", outcome);
            server.Log.HttpsConnection(client.RemoteEndPoint.ToString(), name, alpn, backendText, counts[0], counts[1], clock.Elapsed.TotalMilliseconds, outcome);
        }
    }

    /// <summary>A fatal alert as the whole answer to a ClientHello, then FIN (the caller resets if the peer keeps sending).</summary>
    private static async Task SendAlertAsync(ITunnelConnection client, byte description)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.Stream.WriteAsync(ClientHello.Alert(description), cts.Token).ConfigureAwait(false);
            client.ShutdownSend();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    /// <summary>Copies both ways until both directions ended; returns the outcome.</summary>
    private static async Task<string> RelayAsync(SslStream tls, ITunnelConnection client, ITunnelConnection backend, TrackedConnection tracked, long[] counts)
    {
        var token = tracked.Token;
        var up = Task.Run(async () =>
        {
            await PumpAsync(tls, backend.Stream, tracked, counts, 0, token).ConfigureAwait(false);
            backend.ShutdownSend();                                    // the client's close_notify / FIN -> FIN to the backend
        }, CancellationToken.None);
        var down = Task.Run(async () =>
        {
            await PumpAsync(backend.Stream, tls, tracked, counts, 1, token).ConfigureAwait(false);
            await tls.ShutdownAsync().ConfigureAwait(false);           // the backend's FIN -> close_notify, then FIN
            client.ShutdownSend();
        }, CancellationToken.None);
        try
        {
            // Either direction failing ends both.
            var first = await Task.WhenAny(up, down).ConfigureAwait(false);
            if (first.IsFaulted || first.IsCanceled) tracked.Cancellation.Cancel();
            await Task.WhenAll(up, down).ConfigureAwait(false);
            return "ok";
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or AuthenticationException)
        {
            tracked.Cancellation.Cancel();
            try { await Task.WhenAll(up, down).ConfigureAwait(false); }
            catch (Exception e2) when (e2 is IOException or SocketException or OperationCanceledException or ObjectDisposedException or AuthenticationException) { }
            return tracked.CutReason ?? (e is OperationCanceledException ? "stopped" : "reset");
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, TrackedConnection tracked, long[] counts, int index, CancellationToken token)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int n = await from.ReadAsync(buffer.AsMemory(0, BufferSize), token).ConfigureAwait(false);
                if (n == 0) return;
                tracked.Touch();
                await to.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
                Interlocked.Add(ref counts[index], n);
                tracked.Touch();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
