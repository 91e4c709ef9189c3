using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NetStack.Network;
using NetStack.Samples.Tlstunnel;
using NetStack.Samples.Tlstunnel.Config;
using NetStack.Samples.Tlstunnel.Control;
using NetStack.Samples.Tlstunnel.Transport;
using NetStack.Samples.Tlstunnel.Tunnel;
using NetStack.Tap;

// tlstunnel: TLS demultiplexing by server name on a NetStack address (MirageOS's tlstunnel, in .NET).
if (args.Length > 0 && args[0] == "ctl") return await CtlClient.RunAsync(args[1..], Console.Out, Console.Error);

if (!TunnelOptions.TryParse(args, out var o, out var error))
{
    Console.Error.WriteLine($"tlstunnel: {error}");
    Console.Error.WriteLine("try 'tlstunnel --help'");
    return 2;
}
if (o.Help)
{
    Console.WriteLine(TunnelOptions.Usage);
    return 0;
}
if (o.Version)
{
    var v = typeof(TunnelOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
    Console.WriteLine($"tlstunnel {v.Split('+')[0]} (NetStack {typeof(IpStack).Assembly.GetName().Version})");
    return 0;
}

using var loggerFactory = new ConsoleLoggerFactory(Console.Out);
var log = loggerFactory.CreateLogger("tlstunnel");

ControlAuth? auth = null;
if (o.SecretFile is not null)
{
    var secret = ControlAuth.ReadSecretFile(o.SecretFile, out error);
    if (secret is null)
    {
        Console.Error.WriteLine($"tlstunnel: --secret-file {error}");
        return 1;
    }
    auth = new ControlAuth(secret);
}

await using var state = new TunnelState(o.Config!, log);
if (!state.Load(out error))
{
    Console.Error.WriteLine($"tlstunnel: --config {o.Config}: {error}");
    return 1;
}

IpStack? stack = null;
TapDevice? tap = null;
var kernel = new KernelTransport(o.Kernel ? o.BindAddresses : null);
ITunnelTransport front = kernel;
if (!o.Kernel)
{
    try
    {
        tap = new TapDevice(new TunTapOptions { Name = o.Tap, HardwareAddress = o.Mac, Mtu = o.Mtu });
    }
    catch (Exception e) when (e is TapException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException)
    {
        Console.Error.WriteLine($"tlstunnel: cannot open TAP '{o.Tap}': {e.Message.ReplaceLineEndings(" ")}");
        return 1;
    }
    stack = new IpStack(tap, new InterfaceConfig
    {
        Name = o.Tap,
        Ipv4Addresses = o.Ipv4Addresses,
        Ipv4Gateway = o.Ipv4Gateway,
        Ipv6Addresses = o.Ipv6Addresses,
        Ipv6Gateway = o.Ipv6Gateway,
    }, new IpStackOptions
    {
        Name = "tlstunnel",
        LoggerFactory = loggerFactory,
        // A half-open connection holds a full TCB with its buffers: beyond this many per listener, SYN cookies answer.
        Tcp = new NetStack.Transport.Tcp.TcpSettings { SynQueueLength = o.SynQueue },
    });
    await stack.StartAsync();
    front = new NetStackTransport(stack);
}

int exit = 0;
using var metrics = new TunnelMetrics();
await using (var tracker = new ConnectionTracker(o.MaxConnections, o.IdleTimeout))
{
    var server = new TunnelServer(front, kernel, state, tracker, metrics, log, new TunnelServerOptions
    {
        HttpsPort = o.HttpsPort,
        HttpPort = o.HttpPort,
        ControlPort = o.ControlPort,
        Backlog = o.Backlog,
        HandshakeTimeout = o.HandshakeTimeout,
    }, auth);
    try
    {
        await server.StartAsync(CancellationToken.None);
    }
    catch (SocketException e)
    {
        Console.Error.WriteLine($"tlstunnel: cannot listen: {e.SocketErrorCode} {e.Message}");
        exit = 1;
    }
    if (exit == 0)
    {
        state.StartWatching(TimeSpan.FromSeconds(1));
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we exit ourselves, after the drain
            stopped.TrySetResult();
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; _ = state.ReloadAsync(); }))
        {
            var addresses = string.Join(' ', o.Ipv4Addresses.Select(a => a.ToString()).Concat(o.Ipv6Addresses.Select(a => a.ToString())));
            Console.WriteLine($"tlstunnel: ready on {(o.Kernel ? "kernel sockets" : $"{tap} mac {stack!.Interface.HardwareAddress}")} addresses [{addresses}]"
                + $" https {o.HttpsPort}{(o.HttpPort == 0 ? "" : $" http {o.HttpPort}")}{(o.ControlPort is { } cp ? $" control {cp}" : "")} pid {Environment.ProcessId}");
            foreach (var c in state.Current.Certificates.Describe()) Console.WriteLine($"tlstunnel: certificate {c}");
            await stopped.Task;
        }
        await server.StopAsync(o.Drain);
    }
}
Console.WriteLine("tlstunnel: counters\n" + metrics.Describe().TrimEnd('\n'));
if (stack is not null) await stack.DisposeAsync();
tap?.Dispose();
return exit;
