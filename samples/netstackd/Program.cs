using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using NetStack.Link;
using NetStack.Samples.Netstackd;
using NetStack.Samples.Netstackd.Services;
using NetStack.Samples.Netstackd.Services.Iperf3;
using NetStack.Tap;
using NetStack.Transport.Tcp;
using NetStack.Network;

// netstackd: a NetStack host on a TAP (or a pcap device) serving echo, discard, chargen and HTTP to real clients.
return await NetstackdOptions.InvokeAsync(args, Console.Out, Console.Error, RunAsync);

static async Task<int> RunAsync(NetstackdOptions o)
{
// The stack's log events (IpStack, StackHost, the TAP) go to standard error, one line each; standard output keeps
// netstackd's own lines (the ready line, one per connection, the summary).
using var loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(o.LogLevel)
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
    .AddSimpleConsole(format => { format.SingleLine = true; format.TimestampFormat = "HH:mm:ss.fff "; format.UseUtcTimestamp = true; }));

INetDevice device;
string deviceName = o.Tap ?? o.Pcap!;
try
{
    device = o.Tap is not null
        ? new TapDevice(new TunTapOptions { Name = o.Tap, Logger = loggerFactory.CreateLogger<TapDevice>(), HardwareAddress = o.Mac, Mtu = o.Mtu, QueueLength = o.QueueLength, Offloads = o.NoOffloads ? TunOffloads.None : TunOffloads.Default })
        : new PcapLiveDevice(o.Pcap!, o.Mac, o.Mtu ?? 1500);
}
catch (Exception e) when (e is TapException or IOException or UnauthorizedAccessException or DllNotFoundException or InvalidOperationException or ArgumentException or TypeInitializationException)
{
    Console.Error.WriteLine($"netstackd: cannot open {(o.Tap is not null ? "TAP" : "pcap device")} '{deviceName}': {e.Message.ReplaceLineEndings(" ")}");
    return 1;
}

FileStream? record = null;
if (o.Record is not null)
{
    try
    {
        record = new FileStream(o.Record, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        Console.Error.WriteLine($"netstackd: cannot write --record '{o.Record}': {e.Message}");
        (device as IDisposable)?.Dispose();
        return 1;
    }
}

var config = new InterfaceConfig
{
    Name = deviceName,
    Ipv4Addresses = o.Ipv4Addresses,
    Ipv4Gateway = o.Ipv4Gateway,
    Ipv6Addresses = o.Ipv6Addresses,
    Ipv6Gateway = o.Ipv6Gateway,
    Dhcpv4 = o.Dhcp,
    // RFC 4862: SLAAC beside static addresses is the host default (Linux: accept_ra=1, autoconf=1); --no-slaac turns it off.
    Slaac = !o.NoSlaac,
};
var faults = o.HasFaults
    ? new FaultProfile { DropRate = o.FaultDrop, ReorderRate = o.FaultReorder, DuplicateRate = o.FaultDuplicate }
    : null;
var (congestion, congestionSource) = o.Congestion is { } given
    ? (given, "--cc")
    : HostCongestionControl.Resolve(HostCongestionControl.ReadKernelName());
var tcp = o.SynQueue is not null || congestion != CongestionAlgorithm.Cubic
    ? new TcpSettings { SynQueueLength = o.SynQueue, Congestion = congestion }
    : null;
await using var stack = new NetstackdStack(device, config, new NetstackdStackOptions { Faults = faults, Seed = o.Seed, Record = record, Tcp = tcp, LoggerFactory = loggerFactory, LoopNice = o.LoopNice, Receive = o.Receive });
await stack.StartAsync();

using var stop = new CancellationTokenSource();
var services = new List<(string Name, ServiceLog Log, Task Run)>();
try
{
    async Task AddTcp(int? port, string name, Func<AsyncTcpListenerFactory, ServiceLog, TcpService> make)
    {
        if (port is not { } p) return;
        var listener = await stack.Ip.ListenTcpAsync(new IPEndPoint(IPAddress.Any, p), backlog: o.Backlog);
        var log = new ServiceLog(Console.Out);
        var service = make(new AsyncTcpListenerFactory(listener), log);
        services.Add((name, log, service.RunAsync(stop.Token)));
    }
    await AddTcp(o.TcpEcho, "tcp-echo", (l, log) => new EchoService(l.Listener, log));
    await AddTcp(o.Discard, "discard", (l, log) => new DiscardService(l.Listener, log));
    await AddTcp(o.Chargen, "chargen", (l, log) => new ChargenService(l.Listener, log));
    await AddTcp(o.Http, "http", (l, log) => new HttpFileServer(l.Listener, log, o.HttpRoot!));
    if (o.Iperf3.ServerPort is { } iperfPort)
    {
        var log = new ServiceLog(Console.Out);
        var server = await Iperf3Server.StartAsync(stack.Ip, iperfPort, log, o.Backlog, udpDefaultLength: stack.Device.Mtu - 40);
        services.Add(("iperf3", log, server.RunAsync(stop.Token)));
    }
    if (o.UdpEcho is { } udpPort)
    {
        var log = new ServiceLog(Console.Out);
        bool onLoop = Environment.GetEnvironmentVariable("NETSTACKD_UDP_ECHO_THREADPOOL") != "1"; // a measurement switch (bench/udp-latency)
        foreach (var any in new[] { IPAddress.Any, IPAddress.IPv6Any })
        {
            var socket = await stack.Ip.BindUdpAsync(new IPEndPoint(any, udpPort));
            services.Add(("udp-echo", log, new UdpEchoService(socket, log, onLoop).RunAsync(stop.Token)));
        }
    }
}
catch (SocketException e)
{
    Console.Error.WriteLine($"netstackd: cannot open a service socket: {e.SocketErrorCode}");
    return 1;
}

int exitCode = 0;
var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
void OnSignal(PosixSignalContext context)
{
    context.Cancel = true; // we exit ourselves, after the summary
    stopped.TrySetResult();
}
using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
{
    var addresses = string.Join(' ', o.Ipv4Addresses.Select(a => a.ToString()).Concat(o.Ipv6Addresses.Select(a => a.ToString())));
    Console.WriteLine($"netstackd: ready on {stack.Device} mac {stack.Interface.HardwareAddress} mtu {stack.Device.Mtu} addresses [{addresses}]"
        + $" serving [{string.Join(' ', services.Select(s => s.Name).Distinct())}]{(faults is null ? "" : $" faults drop={o.FaultDrop} reorder={o.FaultReorder} duplicate={o.FaultDuplicate}")}");
    Console.WriteLine($"netstackd: tcp congestion control {congestion.ToString().ToLowerInvariant()} ({congestionSource})");
    if (stack.Device is TunTapDevice tt)
        Console.WriteLine($"netstackd: offloads {tt.Offloads} (refused: {tt.RefusedOffloads}), virtio-net header {tt.VirtioHeaderSize} bytes");
    if (o.Dhcp)
    {
        _ = stack.Ip.WaitForDhcpv4LeaseAsync(stop.Token).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
                Console.WriteLine($"netstackd: DHCPv4 lease {t.Result.Address}/{t.Result.PrefixLength} routers [{string.Join(' ', t.Result.Routers)}] for {t.Result.LeaseTime}");
        }, TaskScheduler.Default);
    }
    if (o.Iperf3.ClientTarget is not null)
    {
        // One iperf3 test against the target, then exit (0 when the test completed).
        var client = Iperf3Client.RunFromCommandLineAsync(stack.Ip, o.Iperf3, stack.Device.Mtu, Console.Out, stop.Token);
        await Task.WhenAny(stopped.Task, client);
        if (client.IsCompleted) exitCode = await client;
    }
    else
    {
        await stopped.Task;
    }
}

await stop.CancelAsync();
await Task.WhenAll(services.Select(s => s.Run));
// Stop the loop first (a DHCP release may still go out) and close the recording, so that the counters are final and
// match the recorded file frame for frame.
await stack.DisposeAsync();
var counters = Counters.Describe(stack);
foreach (var name in services.Select(s => (s.Name, s.Log)).Distinct()) Console.WriteLine(name.Log.Summary(name.Name));
Console.WriteLine(counters);
return exitCode;
}

/// <summary>Hands a listener to a service constructor (keeps the lambdas above short).</summary>
internal sealed record AsyncTcpListenerFactory(NetStack.Sockets.AsyncTcpListener Listener);
