using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NetStack.AspNetCore;
using NetStack.Tap;

// In Kestrel's namespace, beside UseSockets / UseQuic, so that builder.WebHost.UseNetStack(...) needs no extra using.
namespace Microsoft.AspNetCore.Hosting;

/// <summary>Serving an ASP.NET Core application over NetStack instead of the kernel's sockets.</summary>
public static class NetStackWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel listen on <paramref name="stack"/>: every IP endpoint (<c>Listen</c>, <c>ListenAnyIP</c>, URLs) is
    /// bound to the stack's TCP instead of a socket; other endpoints (Unix domain sockets, named pipes) keep Kestrel's
    /// own transports. HTTP/1.1, HTTP/2 (h2c and TLS, through Kestrel's TLS middleware) and connection middleware run
    /// unchanged; HTTP/3 needs QUIC, which the stack does not offer. The caller starts the stack before the host and
    /// stops it after.
    /// <code>
    /// builder.WebHost.UseNetStack(stack).ConfigureKestrel(k => k.ListenAnyIP(80));
    /// </code>
    /// </summary>
    /// <param name="builder">The web host builder (<c>WebApplicationBuilder.WebHost</c>).</param>
    /// <param name="stack">The stack to serve on.</param>
    /// <param name="configure">Transport options (backlog, TCP options, pipe bounds).</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder UseNetStack(this IWebHostBuilder builder, IpStack stack, Action<NetStackTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(stack);
        var options = new NetStackTransportOptions();
        configure?.Invoke(options);
        // Kestrel (with its socket transport) is registered first, so that ours comes after it: Kestrel asks the
        // transport registered last first, and the socket transport's later registration attempts are no-ops.
        builder.UseKestrel();
        return builder.ConfigureServices(services =>
            services.AddSingleton<IConnectionListenerFactory>(sp => new NetStackTransportFactory(stack, options,
                sp.GetService<ILoggerFactory>(), sp.GetService<IMemoryPoolFactory<byte>>())));
    }
}
