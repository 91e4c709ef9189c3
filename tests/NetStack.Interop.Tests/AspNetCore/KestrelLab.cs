using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using NetStack.Interop.Tests.Api;
using NetStack.Interop.Tests.Support;

namespace NetStack.Interop.Tests.AspNetCore;

/// <summary>
/// A Kestrel application served by NetStack (<c>UseNetStack</c>) on a TAP whose kernel side lives in a namespace made for
/// the test (<see cref="KernelPeer"/>: the kernel is 192.0.2.1 / 2001:db8::1, the stack 192.0.2.2 / 2001:db8::2); kernel
/// clients (curl, sockets) run in the namespace. Disposal stops the application, then the stack, then removes the lab.
/// </summary>
internal sealed class KestrelLab : IAsyncDisposable
{
    private KestrelLab(KernelPeer peer, WebApplication app)
    {
        Peer = peer;
        App = app;
    }

    public KernelPeer Peer { get; }
    public WebApplication App { get; }
    public string Namespace => Peer.Namespace;

    public static async Task<KestrelLab> StartAsync(Action<KestrelServerOptions> kestrel, Action<WebApplication> map)
    {
        var peer = await KernelPeer.StartAsync();
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseNetStack(peer.Stack).ConfigureKestrel(kestrel);
            var app = builder.Build();
            map(app);
            try
            {
                await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch
            {
                await app.DisposeAsync();
                throw;
            }
            return new KestrelLab(peer, app);
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Runs <c>sh -c <paramref name="script"/></c> in the namespace and waits up to <paramref name="timeout"/> (bulk
    /// transfers outlast <see cref="NetnsLab"/>'s 15 s command limit under load); kills only that process on timeout.
    /// </summary>
    public async Task<CommandResult> ShAsync(string script, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "netns", "exec", Namespace, "sh", "-c", script }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            throw new TimeoutException($"'{script}' did not finish within {timeout}: {await stderr}");
        }
        return new CommandResult("sh -c " + script, p.ExitCode, await stdout, await stderr);
    }

    /// <summary>curl in the namespace with <paramref name="arguments"/> (already quoted for sh); fails the test on a non-zero exit.</summary>
    public async Task<string> CurlAsync(string arguments, TimeSpan? timeout = null)
    {
        var r = await ShAsync("curl -sS --max-time 120 " + arguments, timeout ?? TimeSpan.FromMinutes(3));
        Assert.True(r.Succeeded, $"{r.Command} exited {r.ExitCode}: {r.StandardError}");
        return r.StandardOutput;
    }

    public static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
            await App.DisposeAsync();
        }
        finally
        {
            await Peer.DisposeAsync();
        }
    }
}
