using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Wire;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// Traces for real from a TAP interface (or a libpcap device): a NetStack stack on the device, addressed from
/// --address / --gateway (or SLAAC for IPv6), driven by the runtime's event loop with the monotonic clock.
/// </summary>
public static class DeviceRun
{
    public static async Task<int> RunAsync(TracerouteOptions options, TextWriter output)
    {
        if (options.Host is null) throw new TracerouteException("Specify \"host\" missing argument.", 2);
        INetDevice device;
        try
        {
            var mac = options.Mac is null ? (MacAddress?)null : MacAddress.Parse(options.Mac);
            device = options.Tap is not null
                ? new TapDevice(new TunTapOptions { Name = options.Tap, HardwareAddress = mac })
                : new PcapLiveDevice(options.Pcap!, mac);
        }
        catch (TapException e)
        {
            throw new TracerouteException($"traceroute: {e.Message}");
        }
        catch (Exception e) when (e is DllNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new TracerouteException($"traceroute: cannot open {options.Pcap}: {e.Message}");
        }
        using var _ = device as IDisposable;

        var config = BuildConfig(options);
        var stack = new NetworkStack(new StackOptions(), SystemRandomSource.Instance);
        var iface = stack.AddInterface(device, config, StackHost.Now);
        foreach (var g in options.Gateways)
        {
            var gw = IpAddress.Parse(g);
            if (gw.IsV4) stack.AddIpv4Route(new Ipv4Route(new Ipv4Cidr(Ipv4Address.Any, 0), gw.V4, iface.Index));
            else stack.AddIpv6Route(new Ipv6Route(new Ipv6Cidr(Ipv6Address.Unspecified, 0), gw.V6, iface.Index));
        }
        var node = new TracerouteNode(stack);
        await using var host = new StackHost(node, [device]);
        host.Start();

        var target = ResolveLiteral(options);
        // Give duplicate address detection (IPv6) and neighbour discovery a moment, as an interface coming up would.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(target.IsV6 ? 3 : 1);
        IpAddress source = default;
        while (DateTime.UtcNow < deadline)
        {
            var (ok, s) = await host.InvokeAsync(() => (stack.TrySelectSource(target, out var src), src)).ConfigureAwait(false);
            if (ok) { source = s; if (target.IsV4) break; }
            await Task.Delay(100).ConfigureAwait(false);
        }
        if (source == default) throw new TracerouteException("connect: Network is unreachable");
        if (options.Source is not null) source = IpAddress.Parse(options.Source);

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TraceResult? result = null;
        await host.InvokeAsync(() =>
        {
            var sender = ProbeSenderFactory.Create(stack, options, source, target, SystemRandomSource.Instance);
            var engine = new TracerouteEngine(options, sender, ProbeSenderFactory.DataLength(options, sender), null,
                options.Json ? null : new SynchronizedConsole(output));
            sender.Attach(engine);
            node.Sender = sender;
            node.Engine = engine;
            node.AfterPoll = () =>
            {
                if (!engine.IsComplete || done.Task.IsCompleted) return;
                result = TraceResult.From(options.Host, target, options, engine);
                done.TrySetResult();
            };
            engine.WriteHeader(options.Host, target);
            host.Wake();
            return true;
        }).ConfigureAwait(false);
        await done.Task.ConfigureAwait(false);
        if (options.Json && result is not null) JsonReport.Write(output, [result]);
        return 0;
    }

    private static InterfaceConfig BuildConfig(TracerouteOptions options)
    {
        var v4 = new List<Ipv4Cidr>();
        var v6 = new List<Ipv6Cidr>();
        foreach (var a in options.Addresses)
        {
            if (a.Contains(':', StringComparison.Ordinal)) v6.Add(Ipv6Cidr.Parse(a));
            else v4.Add(Ipv4Cidr.Parse(a));
        }
        if (v4.Count == 0 && v6.Count == 0 && !options.Dhcp)
            throw new TracerouteException("traceroute: give the interface an address (--address 198.51.100.3/24, repeatable) or --dhcp", 2);
        return new InterfaceConfig
        {
            Name = options.Tap ?? options.Pcap,
            Ipv4Addresses = v4,
            Ipv6Addresses = v6,
            Dhcpv4 = options.Dhcp,
            Slaac = true,
        };
    }

    private static IpAddress ResolveLiteral(TracerouteOptions options)
    {
        if (System.Net.IPAddress.TryParse(options.Host, out var ip)) return IpAddress.FromIPAddress(ip);
        throw new TracerouteException($"{options.Host}: Name or service not known (give an address, or --dns SERVER)", 2);
    }

    /// <summary>Writes from the loop thread straight through to the console.</summary>
    private sealed class SynchronizedConsole(TextWriter inner) : TextWriter
    {
        public override System.Text.Encoding Encoding => inner.Encoding;
        public override void Write(char value) { lock (inner) inner.Write(value); }
        public override void Write(string? value) { lock (inner) inner.Write(value); }
        public override void Flush() { lock (inner) inner.Flush(); }
    }
}
