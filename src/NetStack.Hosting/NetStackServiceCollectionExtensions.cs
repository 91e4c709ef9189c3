using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network.Ipv6;
using NetStack.Tap;

namespace NetStack.Hosting;

/// <summary>
/// <c>services.AddNetStack(...)</c>: one <see cref="IpStack"/> as a singleton, configured from <see cref="NetStackHostOptions"/>
/// (validated when the host starts), started and stopped with the host by a hosted service, logging to the host's
/// <see cref="ILoggerFactory"/> and metering through its <see cref="IMeterFactory"/>. See docs/hosting.md.
/// </summary>
public static class NetStackServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddNetStack(IServiceCollection, Action{NetStackHostOptions}, Func{IServiceProvider, INetDevice}?)"/> names settings under.</summary>
    public const string DefaultSectionName = "NetStack";

    /// <summary>
    /// Adds the stack, its settings bound from <paramref name="configuration"/> (a section such as
    /// <c>builder.Configuration.GetSection("NetStack")</c>); <paramref name="deviceFactory"/> makes the device when
    /// <c>Device:Kind</c> is <c>Custom</c>.
    /// </summary>
    public static IServiceCollection AddNetStack(this IServiceCollection services, IConfiguration configuration,
        Func<IServiceProvider, INetDevice>? deviceFactory = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        string path = configuration is IConfigurationSection section ? section.Path : "";
        services.AddOptions<NetStackHostOptions>().Bind(configuration);
        return AddCore(services, path, deviceFactory);
    }

    /// <summary>Adds the stack, its settings given in code by <paramref name="configure"/>.</summary>
    public static IServiceCollection AddNetStack(this IServiceCollection services, Action<NetStackHostOptions> configure,
        Func<IServiceProvider, INetDevice>? deviceFactory = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<NetStackHostOptions>().Configure(configure);
        return AddCore(services, DefaultSectionName, deviceFactory);
    }

    private static IServiceCollection AddCore(IServiceCollection services, string path, Func<IServiceProvider, INetDevice>? deviceFactory)
    {
        if (services.Any(d => d.ServiceType == typeof(NetStackDeviceOwner)))
            throw new InvalidOperationException("AddNetStack was called twice: one stack per service collection.");
        // Every wrong setting is reported by name when the host starts, before any device is opened.
        services.AddOptions<NetStackHostOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<NetStackHostOptions>>(new NetStackHostOptionsValidator(path, deviceFactory is not null));
        services.TryAddSingleton(_ => new IpStackLink());
        services.AddSingleton(sp => new NetStackDeviceOwner(sp, path, deviceFactory));
        services.AddSingleton(CreateStack);
        services.AddHostedService<NetStackHostedService>();
        return services;
    }

    private static IpStack CreateStack(IServiceProvider sp)
    {
        var o = sp.GetRequiredService<IOptions<NetStackHostOptions>>().Value;
        var owner = sp.GetRequiredService<NetStackDeviceOwner>();
        var settings = owner.Settings;
        var options = new IpStackOptions
        {
            Name = o.Name,
            LoggerFactory = sp.GetService<ILoggerFactory>(),
            MeterFactory = sp.GetService<IMeterFactory>(),
            EnableMetrics = o.EnableMetrics,
            DnsServers = settings.DnsServers,
            ReadyRequiresIpv6Router = o.Readiness.RequireIpv6Router,
            Stack = new StackOptions { Ipv6 = new Ipv6Settings { OptimisticDad = o.Ipv6.OptimisticDad } },
        };
        return new IpStack(owner.Device, settings.Config, options);
    }
}

/// <summary>Opens the configured device (once) and closes it when the container is disposed, after the stack.</summary>
internal sealed class NetStackDeviceOwner : IDisposable
{
    private readonly INetDevice? _owned;

    public NetStackDeviceOwner(IServiceProvider sp, string section, Func<IServiceProvider, INetDevice>? factory)
    {
        var o = sp.GetRequiredService<IOptions<NetStackHostOptions>>().Value; // throws OptionsValidationException when wrong
        var errors = new List<string>();
        Settings = NetStackHostOptionsValidator.Parse(o, section, factory is not null, errors);
        if (errors.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(NetStackHostOptions), errors);
        string key = section.Length == 0 ? "Device" : $"{section}:Device";
        var d = o.Device;
        try
        {
            Device = Settings.Kind switch
            {
                NetStackDeviceKind.Tap => _owned = new TapDevice(TunTap(d, o)),
                NetStackDeviceKind.Tun => _owned = new TunDevice(TunTap(d, o)),
                NetStackDeviceKind.Pcap => _owned = new PcapLiveDevice(d.Name!, Settings.Config.HardwareAddress, o.Mtu ?? 1500),
                NetStackDeviceKind.Simulated => sp.GetRequiredService<IpStackLink>().A,
                _ => factory!(sp),
            };
        }
        catch (TapException e)
        {
            // One line the operator can act on, naming the setting ("opening TAP 'tap0' needs CAP_NET_ADMIN (run as root)").
            throw new InvalidOperationException($"{key} ({Settings.Kind} '{d.Name}'): {e.Message}", e);
        }
    }

    public ParsedSettings Settings { get; }

    public INetDevice Device { get; }

    private TunTapOptions TunTap(NetStackDeviceOptions d, NetStackHostOptions o) => new()
    {
        Name = d.Name,
        OpenMode = Settings.OpenMode,
        Mtu = o.Mtu,
        HardwareAddress = Settings.Config.HardwareAddress,
        Offloads = d.Offloads ? TunOffloads.Default : TunOffloads.None,
    };

    public void Dispose() => (_owned as IDisposable)?.Dispose();
}

/// <summary>Starts the stack with the host (waiting until it is ready, as configured) and stops it with the host.</summary>
internal sealed partial class NetStackHostedService(IpStack stack, IOptions<NetStackHostOptions> options, ILogger<NetStackHostedService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await stack.StartAsync(cancellationToken).ConfigureAwait(false);
        var r = options.Value.Readiness;
        if (!r.WaitOnStart) return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(r.Timeout);
        try
        {
            await stack.WaitForReadyAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var now = await stack.GetReadinessAsync(CancellationToken.None).ConfigureAwait(false);
            throw new TimeoutException($"{stack.Name}: not ready after {r.Timeout.TotalSeconds:0.#} s (Readiness:Timeout): {now.Reason}.");
        }
        LogReady(logger, stack.Name, stack.Interface.ToString());
    }

    public Task StopAsync(CancellationToken cancellationToken) => stack.StopAsync(cancellationToken);

    [LoggerMessage(1, LogLevel.Information, "{Stack}: started by the host on {Interface}")]
    private static partial void LogReady(ILogger logger, string stack, string @interface);
}
