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
        // An IPv6 address the user gave with --address is used at once, without duplicate address detection (as
        // "ip addr add ... nodad"): a trace is short-lived and should not wait a second or two for DAD. Optimistic DAD
        // (RFC 4429) would do it too, but its solicitations from an optimistic source carry no link-layer address
        // (§2.2.2) and a Linux router ignores such a solicitation (ndisc_recv_ns), so the first hop then resolves only
        // once DAD is over. Without --address (SLAAC), addresses are optimistic.
        bool userV6 = config.Ipv6Addresses.Count > 0;
        var stack = new NetworkStack(new StackOptions
        {
            Ipv6 = userV6 ? new Ipv6Settings { DupAddrDetectTransmits = 0 } : new Ipv6Settings { OptimisticDad = true },
        }, SystemRandomSource.Instance);
        // Every frame's own time: probes stamped when handed to the device, answers when read off it.
        var stamped = new StampingDevice(device, () => StackHost.Now);
        var iface = stack.AddInterface(stamped, config, StackHost.Now);
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
        // NetStack's own resolver (servers from --dns, else the router-advertised ones, else /etc/resolv.conf's) for the
        // target's name and the hops' reverse names. Without -n and without any server, names are simply absent and
        // lines read "addr (addr)", as Linux traceroute prints when a lookup finds nothing.
        var servers = options.DnsServers.Select(IpAddress.Parse).ToList();
        bool literal = System.Net.IPAddress.TryParse(options.Host, out var hostIp);
        IHostNameSource? names = null;
        if (servers.Count == 0 && (!literal || !options.NoResolve)) servers.AddRange(ForwardLookup.FromResolvConf());
        if (servers.Count > 0) node.Resolver = new ResolverNameSource(udp, servers, SystemRandomSource.Instance);
        if (!options.NoResolve) names = (IHostNameSource?)node.Resolver ?? new NoNames();
        await using var host = new StackHost(node, [stamped]);
        host.Start();

        var target = literal ? IpAddress.FromIPAddress(hostIp!) : await ResolveNameAsync(options, host, node, cancellationToken).ConfigureAwait(false);
        // Source selection never picks a tentative address (RFC 4862 §5.4), but an optimistic one is usable at once
        // (RFC 4429); the wait ends at the first source whose scope fits the target (RFC 6724 rule 2): a probe from a
        // link-local source would die at the first router ("beyond scope of source address"). Only SLAAC or DHCP
        // addresses take a while.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(target.IsV6 ? 3 : 1);
        IpAddress source = default;
        while (true)
        {
            var (ok, s) = await host.InvokeAsync(() => (stack.TrySelectSource(target, out var src), src), cancellationToken).ConfigureAwait(false);
            if (ok)
            {
                source = s;
                if (target.IsV4 || !s.V6.IsLinkLocal || target.V6.IsLinkLocal) break;
            }
            if (DateTime.UtcNow >= deadline) break;
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        if (source == default) throw new TracerouteException("connect: Network is unreachable", 1);
        TextWriter? lines = options.Json ? null : new SynchronizedConsole(output);
        if (options.Source is not null)
        {
            source = CheckSource(options, target, a => host.InvokeAsync(() => stack.IsLocalAddress(a), cancellationToken).GetAwaiter().GetResult(), lines);
        }
        if (options.Mda)
        {
            var mdaResult = await RunMdaAsync(options, stack, node, host, stamped, source, target, names, lines, cancellationToken).ConfigureAwait(false);
            if (options.Json) JsonReport.Write(output, [mdaResult]);
            return 0;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        TraceResult? result = null;
        RawProbeSender? sender = null;
        await host.InvokeAsync(() =>
        {
            sender = ProbeSenderFactory.Create(stack, options, source, target, SystemRandomSource.Instance);
            sender.Stamps = stamped;
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
        await host.InvokeAsync(() => { sender!.Stamps = null; sender.Dispose(); }, CancellationToken.None).ConfigureAwait(false);
        if (options.Json && result is not null) JsonReport.Write(output, [result]);
        return 0;
    }

    /// <summary>
    /// -s ADDRESS: traceroute 2.1 binds its sockets to it. Another family than the target's is refused first ("IP version
    /// mismatch in addresses specified", exit 2); an address that is not ours fails bind() ("bind: Cannot assign requested
    /// address", exit 1) -- for the UDP methods after the header, as their sockets are bound per probe.
    /// </summary>
    public static IpAddress CheckSource(TracerouteOptions options, IpAddress target, Func<IpAddress, bool> isLocal, TextWriter? lines)
    {
        if (!System.Net.IPAddress.TryParse(options.Source, out var ip))
            throw new TracerouteException($"{options.Source}: Name or service not known\nCannot handle `-s' option with arg `{options.Source}' (argc 1)", 2);
        var source = IpAddress.FromIPAddress(ip);
        if (source.IsV4 != target.IsV4) throw new TracerouteException("IP version mismatch in addresses specified", 2);
        if (isLocal(source)) return source;
        if (options.Method is ProbeMethod.Udp or ProbeMethod.UdpFixed && lines is not null)
        {
            new TracerouteEngine(options, new NoSender(target.IsV4 ? 28 : 48), ProbeSenderFactory.DataLength(options, new NoSender(target.IsV4 ? 28 : 48)), null, lines)
                .WriteHeader(options.Host!, target);
        }
        throw new TracerouteException("\nbind: Cannot assign requested address", 1);
    }

    /// <summary>A sender that sends nothing (for the header alone).</summary>
    private sealed class NoSender(int headerLength) : IProbeSender
    {
        public int HeaderLength => headerLength;
        public SendOutcome Send(Probe probe, int dataLength, Instant now, out int mtu) => throw new InvalidOperationException();
    }

    /// <summary>The target's name: the hosts file, else DNS through the stack (traceroute 2.1's messages and exit 2 when it fails).</summary>
    private static async Task<IpAddress> ResolveNameAsync(TracerouteOptions options, StackHost host, TracerouteNode node, CancellationToken cancellationToken)
    {
        if (ForwardLookup.FromHostsFile(options.Host!, options.Family) is { } fromFile) return fromFile;
        if (node.Resolver is not { } resolver) throw new TracerouteException(options.HostError("Temporary failure in name resolution"), 2);
        var lookup = await host.InvokeAsync(() => new ForwardLookup(resolver, options.Host!, options.Family, StackHost.Now), cancellationToken).ConfigureAwait(false);
        host.Wake();
        while (true)
        {
            var (done, address, error) = await host.InvokeAsync(() => (lookup.TryGetResult(out var a, out var e), a, e), cancellationToken).ConfigureAwait(false);
            if (done)
            {
                if (error is not null) throw new TracerouteException(options.HostError(error), 2);
                return address;
            }
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// --mda on a device: <see cref="MdaTracer"/> runs hop batch after hop batch synchronously on a worker thread. It sets up
    /// each batch's engine on a staging node that nothing polls; the batch is then handed to the loop thread's node and
    /// waited for, so the loop thread never sees an engine that is still being set up.
    /// </summary>
    private static async Task<TraceResult> RunMdaAsync(TracerouteOptions options, NetworkStack stack, TracerouteNode node, StackHost host,
        StampingDevice stamped, IpAddress source, IpAddress target, IHostNameSource? names, TextWriter? lines, CancellationToken cancellationToken)
    {
        var sender = await host.InvokeAsync(() =>
        {
            var s = ProbeSenderFactory.Create(stack, options, source, target, SystemRandomSource.Instance);
            s.Stamps = stamped;
            return s;
        }, cancellationToken).ConfigureAwait(false);
        var staging = new TracerouteNode(stack);
        // Names are looked up in the runUntil conditions, which run on the loop thread.
        var mda = new MdaTracer(options, sender, names, lines);
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
            await host.InvokeAsync(() => { node.Engine = null; node.Sender = null; sender.Stamps = null; sender.Dispose(); }, CancellationToken.None).ConfigureAwait(false);
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
