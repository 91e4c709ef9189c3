using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NetStack.Hosting;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Tests.Api.Support;
using NetStack.Wire;

namespace NetStack.Tests.Hosting;

/// <summary>
/// <c>services.AddNetStack(...)</c> in a generic host: settings bound from configuration, every wrong setting reported by
/// name when the host starts (before any device is opened), and the stack started (ready) and stopped with the host,
/// logging to the host's loggers and metering through its <see cref="IMeterFactory"/>. The device is the in-memory
/// link (no root); a peer <see cref="IpStack"/> sits on its far end.
/// </summary>
public sealed class HostingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static HostApplicationBuilder NewBuilder() =>
        Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });

    private static IHost Build(Dictionary<string, string?> settings, ListLoggerFactory? logs = null)
    {
        var builder = NewBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMetrics();
        if (logs is not null) builder.Services.AddSingleton<ILoggerFactory>(logs);
        builder.Services.AddNetStack(builder.Configuration.GetSection("NetStack"));
        return builder.Build();
    }

    /// <summary>Builds a host over <see cref="Simulated"/> with <paramref name="changes"/> and starts it: the start must fail
    /// validation (before any device is opened); the host is disposed again.</summary>
    private static async Task<OptionsValidationException> StartFails(params (string Key, string? Value)[] changes)
    {
        using var host = Build(Simulated(changes));
        return await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
    }

    private static Dictionary<string, string?> Simulated(params (string Key, string? Value)[] more)
    {
        var d = new Dictionary<string, string?>
        {
            ["NetStack:Name"] = "hosted",
            ["NetStack:Device:Kind"] = "simulated",
            ["NetStack:MacAddress"] = "02:00:00:00:00:0a",
            ["NetStack:Ipv4:Addresses:0"] = "192.0.2.2/24",
            ["NetStack:Ipv4:Gateway"] = "192.0.2.1",
            ["NetStack:Ipv6:Addresses:0"] = "2001:db8::2/64",
            ["NetStack:Ipv6:Gateway"] = "fe80::1",
            ["NetStack:Ipv6:Slaac"] = "false",
            ["NetStack:DnsServers:0"] = "192.0.2.53",
            ["NetStack:DnsServers:1"] = "2001:db8::53",
            ["NetStack:Mtu"] = "1400",
        };
        foreach (var (k, v) in more)
        {
            if (v is null) d.Remove(k); // absent
            else d[k] = v;
        }
        return d;
    }

    [Fact]
    public void Settings_bind_from_configuration_into_the_stack()
    {
        using var host = Build(Simulated());
        var o = host.Services.GetRequiredService<IOptions<NetStackHostOptions>>().Value;
        Assert.Equal("simulated", o.Device.Kind);
        Assert.Equal(["192.0.2.2/24"], o.Ipv4.Addresses);
        Assert.Equal(1400, o.Mtu);
        var stack = host.Services.GetRequiredService<IpStack>();
        Assert.Same(stack, host.Services.GetRequiredService<IpStack>());
        Assert.Equal("hosted", stack.Name);
        Assert.Equal([Ipv4Cidr.Parse("192.0.2.2/24")], stack.Config.Ipv4Addresses);
        Assert.Equal(Ipv4Address.Parse("192.0.2.1"), stack.Config.Ipv4Gateway);
        Assert.Equal([new Ipv6Cidr(Ipv6Address.Parse("2001:db8::2"), 64)], stack.Config.Ipv6Addresses);
        Assert.Equal(Ipv6Address.Parse("fe80::1"), stack.Config.Ipv6Gateway);
        Assert.False(stack.Config.Slaac);
        Assert.Equal(1400, stack.Interface.Mtu);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:0a"), stack.Interface.HardwareAddress);
        Assert.Equal([IPAddress.Parse("192.0.2.53"), IPAddress.Parse("2001:db8::53")], stack.DnsServers);
    }

    public static TheoryData<string, string?, string> WrongSettings => new()
    {
        // key (the setting the message must name), value, what the message says
        { "NetStack:Ipv4:Addresses:0", "2001:db8::2/64", "is an IPv6 address, not an IPv4 one" },
        { "NetStack:Ipv6:Addresses:0", "192.0.2.9/24", "is an IPv4 address, not an IPv6 one" },
        { "NetStack:Ipv4:Addresses:0", "192.0.2.2/33", "out of range for IPv4 (0-32)" },
        { "NetStack:Ipv6:Addresses:0", "2001:db8::2/129", "out of range for IPv6 (0-128)" },
        { "NetStack:Ipv4:Addresses:0", "192.0.2.300/24", "not an address in CIDR notation" },
        { "NetStack:Ipv4:Gateway", "2001:db8::1", "is an IPv6 address" },
        { "NetStack:Ipv4:Gateway", "198.51.100.1", "on none of the subnets" },
        { "NetStack:Device:Kind", "tapp", "'tapp' is not a device kind (Tap, Tun, Pcap, Simulated, Custom)" },
        { "NetStack:Device:Kind", null, "missing" },
        { "NetStack:Device:Kind", "Custom", "needs a device factory" },
        { "NetStack:Device:OpenMode", "sometimes", "not an open mode" },
        { "NetStack:DnsServers:1", "dns.example", "not an IP address" },
        { "NetStack:Mtu", "1000", "below IPv6's minimum link MTU of 1280" },
        { "NetStack:Mtu", "70000", "out of range" },
        { "NetStack:MacAddress", "02:00:00:00:00", "not a MAC address" },
        { "NetStack:Readiness:RequireIpv6Router", "true", "NetStack:Ipv6:Slaac is false" },
    };

    [Theory]
    [MemberData(nameof(WrongSettings))]
    public async Task A_wrong_setting_fails_the_start_with_one_message_naming_it(string key, string? value, string says)
    {
        var e = await StartFails((key, value));
        Assert.Contains(key + ":", e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.Single(e.Failures);
    }

    [Theory]
    [InlineData("Tap")]
    [InlineData("tun")]
    [InlineData("Pcap")]
    public async Task A_device_without_a_name_fails_the_start_before_anything_is_opened(string kind)
    {
        var e = await StartFails(("NetStack:Device:Kind", kind));
        Assert.Equal($"NetStack:Device:Name: missing: a {Enum.Parse<NetStackDeviceKind>(kind, true)} device needs the name of the interface to open", Assert.Single(e.Failures));
    }

    [Fact]
    public async Task Several_wrong_settings_are_all_named_in_the_one_exception()
    {
        var e = await StartFails(("NetStack:Ipv4:Addresses:0", "192.0.2.2/40"), ("NetStack:Device:Name", "a-name-longer-than-fifteen"), ("NetStack:Device:Kind", "Tap"));
        Assert.Contains(e.Failures, f => f.StartsWith("NetStack:Ipv4:Addresses:0:", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("NetStack:Device:Name:", StringComparison.Ordinal) && f.Contains("15 characters", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_host_starts_the_stack_ready_and_stops_it_with_ILogger_and_the_meter_from_DI()
    {
        var logs = new ListLoggerFactory();
        using var host = Build(Simulated(), logs);
        var link = host.Services.GetRequiredService<IpStackLink>();
        await using var peer = new IpStack(link.B, new InterfaceConfig
        {
            Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")],
            Ipv6Addresses = [new Ipv6Cidr(Ipv6Address.Parse("2001:db8::1"), 64)],
            Slaac = false,
        }, new IpStackOptions { Name = "peer", Stack = new Composition.StackOptions { Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0 } } });
        await peer.StartAsync();

        await host.StartAsync().WaitAsync(Limit); // waits for DAD of 2001:db8::2 (Readiness:WaitOnStart)
        var stack = host.Services.GetRequiredService<IpStack>();
        Assert.Equal(Composition.InterfaceReadiness.Ready, await stack.GetReadinessAsync());
        Assert.Same(host.Services.GetRequiredService<IMeterFactory>(), stack.Metrics!.Meter.Scope);
        Assert.Contains(logs.Lines, l => l.Contains("hosted: up on", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("hosted: started by the host", StringComparison.Ordinal));

        // Right after the host started, both families work at once.
        await using var listener = await stack.ListenTcpAsync(new IPEndPoint(IPAddress.IPv6Any, 80));
        foreach (var server in new[] { "192.0.2.2", "2001:db8::2" })
        {
            var accepting = listener.AcceptAsync().AsTask();
            await using var c = await peer.ConnectTcpAsync(new IPEndPoint(IPAddress.Parse(server), 80)).WaitAsync(Limit);
            await using var s = await accepting.WaitAsync(Limit);
            await c.WriteAsync("hi"u8.ToArray());
            var buf = new byte[2];
            await s.ReadExactlyAsync(buf).AsTask().WaitAsync(Limit);
        }

        await host.StopAsync().WaitAsync(Limit);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stack.ListenTcpAsync(new IPEndPoint(IPAddress.Any, 81)));
        Assert.Contains(logs.Lines, l => l.Contains("hosted: stopped after", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Readiness_that_never_comes_fails_the_start_after_the_timeout_saying_what_was_awaited()
    {
        using var host = Build(Simulated(("NetStack:Ipv6:Slaac", "true"), ("NetStack:Ipv6:Addresses:0", null), ("NetStack:Ipv6:Gateway", null), ("NetStack:Ipv6:OptimisticDad", "true"),
            ("NetStack:Readiness:RequireIpv6Router", "true"), ("NetStack:Readiness:Timeout", "00:00:05")));
        var e = await Assert.ThrowsAsync<TimeoutException>(() => host.StartAsync().WaitAsync(Limit));
        // 5 s: DAD of the link-local address is long over; what is still awaited is the router.
        Assert.True(e.Message.Contains("no IPv6 default router", StringComparison.Ordinal), e.Message);
        await host.StopAsync();
    }

    [Fact]
    public async Task Code_only_settings_and_a_custom_device_factory()
    {
        using var link = new IpStackLink();
        var builder = NewBuilder();
        builder.Services.AddNetStack(o =>
        {
            o.Device.Kind = "Custom";
            o.Ipv4.Addresses.Add("192.0.2.7/24");
            o.Ipv6.Enabled = false;
        }, _ => link.A);
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(Limit);
        var stack = host.Services.GetRequiredService<IpStack>();
        Assert.Same(link.A, stack.Interface.Device);
        Assert.Equal([Ipv4Cidr.Parse("192.0.2.7/24")], stack.Config.Ipv4Addresses);
        await host.StopAsync().WaitAsync(Limit);
    }

    [Fact]
    public async Task Without_an_IMeterFactory_the_stack_has_its_own_meter()
    {
        var services = new ServiceCollection();
        services.AddNetStack(o =>
        {
            o.Device.Kind = "Simulated";
            o.Ipv6.Enabled = false;
        });
        await using var sp = services.BuildServiceProvider();
        var stack = sp.GetRequiredService<IpStack>();
        Assert.Null(stack.Metrics!.Meter.Scope);
        Assert.Equal(IpStackMetrics.MeterName, stack.Metrics.Meter.Name);
    }

    [Fact]
    public void Adding_two_stacks_to_one_collection_is_refused()
    {
        var services = new ServiceCollection();
        services.AddNetStack(o => o.Device.Kind = "Simulated");
        Assert.Throws<InvalidOperationException>(() => services.AddNetStack(o => o.Device.Kind = "Simulated"));
    }
}
