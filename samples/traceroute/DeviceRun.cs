using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Network.Ipv6;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;

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
        return await RunAsync(options, device, output).ConfigureAwait(false);
    }

    /// <summary>
    /// Traces on a device the caller opened and keeps owning (it is not disposed here), e.g. a TAP whose interface was
    /// moved into another network namespace. <paramref name="cancellationToken"/> abandons the trace (the loop stops).
    /// </summary>
    public static async Task<int> RunAsync(TracerouteOptions options, INetDevice device, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(device);
        if (options.Host is null) throw new TracerouteException("Specify \"host\" missing argument.", 2);
        var config = BuildConfig(options);
        var stack = new NetworkStack(new StackOptions(), SystemRandomSource.Instance);
        var iface = stack.AddInterface(device, config, StackHost.Now);
        foreach (var g in options.Gateways)
        {
            var gw = IpAddress.Parse(g);
            if (gw.IsV4) stack.AddIpv4Route(new Ipv4Route(new Ipv4Cidr(Ipv4Address.Any, 0), gw.V4, iface.Index));
            else stack.AddIpv6Route(new Ipv6Route(new Ipv6Cidr(Ipv6Address.Unspecified, 0), gw.V6, iface.Index));
        }
        // A full host: UDP answers stray datagrams with port unreachable, TCP answers the target's SYN-ACK with RST (as Linux).
        var udp = new UdpLayer(stack);
        stack.RegisterTransport(IpProtocol.Tcp, new TcpLayer(stack, SystemRandomSource.Instance));
        var node = new TracerouteNode(stack) { Clock = () => StackHost.Now };
        // Reverse names through NetStack's own resolver (servers from --dns); without a server, names are simply absent
        // and lines read "addr (addr)", as Linux traceroute prints when a lookup finds nothing.
        IHostNameSource? names = null;
        if (!options.NoResolve)
        {
            var servers = options.DnsServers.Select(IpAddress.Parse).ToList();
            if (servers.Count > 0)
            {
                node.Resolver = new ResolverNameSource(udp, servers, SystemRandomSource.Instance);
                names = node.Resolver;
            }
            else
            {
                names = new NoNames();
            }
        }
        await using var host = new StackHost(node, [device]);
        host.Start();

        var target = ResolveLiteral(options);
        // Give duplicate address detection (IPv6) and neighbour discovery a moment, as an interface coming up would.
        // Source selection never picks a tentative address (RFC 4862 §5.4), so the wait ends at the first source whose
        // scope fits the target (RFC 6724 rule 2): while a global address is still tentative only the link-local one is
        // usable, and a probe from it would die at the first router ("beyond scope of source address").
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(target.IsV6 ? 3 : 1);
        IpAddress source = default;
        while (DateTime.UtcNow < deadline)
        {
            var (ok, s) = await host.InvokeAsync(() => (stack.TrySelectSource(target, out var src), src), cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                source = s;
                if (target.IsV4 || !s.V6.IsLinkLocal || target.V6.IsLinkLocal) break;
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        if (source == default) throw new TracerouteException("connect: Network is unreachable");
        if (options.Source is not null) source = IpAddress.Parse(options.Source);
        TextWriter? lines = options.Json ? null : new SynchronizedConsole(output);
        if (options.Mda)
        {
            var mdaResult = await RunMdaAsync(options, stack, node, host, source, target, lines, cancellationToken).ConfigureAwait(false);
            if (options.Json) JsonReport.Write(output, [mdaResult]);
            return 0;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TraceResult? result = null;
        RawProbeSender? sender = null;
        await host.InvokeAsync(() =>
        {
            sender = ProbeSenderFactory.Create(stack, options, source, target, SystemRandomSource.Instance);
            var engine = new TracerouteEngine(options, sender, ProbeSenderFactory.DataLength(options, sender), names, lines);
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
        }, cancellationToken).ConfigureAwait(false);
        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await host.InvokeAsync(() => sender?.Dispose(), CancellationToken.None).ConfigureAwait(false);
        if (options.Json && result is not null) JsonReport.Write(output, [result]);
        return 0;
    }

    /// <summary>
    /// --mda on a device: <see cref="MdaTracer"/> runs hop batch after hop batch synchronously on a worker thread. It sets up
    /// each batch's engine on a staging node that nothing polls; the batch is then handed to the loop thread's node and
    /// waited for, so the loop thread never sees an engine that is still being set up.
    /// </summary>
    private static async Task<TraceResult> RunMdaAsync(TracerouteOptions options, NetworkStack stack, TracerouteNode node, StackHost host,
        IpAddress source, IpAddress target, TextWriter? lines, CancellationToken cancellationToken)
    {
        var sender = await host.InvokeAsync(() => ProbeSenderFactory.Create(stack, options, source, target, SystemRandomSource.Instance), cancellationToken).ConfigureAwait(false);
        var staging = new TracerouteNode(stack);
        var mda = new MdaTracer(options, sender, options.NoResolve ? null : new NoNames(), lines);
        void RunUntil(Func<bool> condition)
        {
            host.InvokeAsync(() => { node.Sender = sender; node.Engine = staging.Engine; }, cancellationToken).GetAwaiter().GetResult();
            while (!host.InvokeAsync(condition, cancellationToken).GetAwaiter().GetResult())
                Task.Delay(10, cancellationToken).GetAwaiter().GetResult();
        }
        try
        {
            await Task.Run(() => mda.Run(staging, RunUntil, options.Host!, target), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await host.InvokeAsync(() => { node.Engine = null; node.Sender = null; sender.Dispose(); }, CancellationToken.None).ConfigureAwait(false);
        }
        return mda.Result(options.Host!, target);
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

    /// <summary>No resolver configured: every address is known to have no name.</summary>
    private sealed class NoNames : IHostNameSource
    {
        public bool TryGetName(IpAddress address, out string? name)
        {
            name = null;
            return true;
        }
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
