using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using NetStack.Interop.Tests.Netstackd;
using NetStack.Interop.Tests.Support;
using NetStack.Network;
using NetStack.Samples.Netstackd;
using NetStack.Sockets;
using NetStack.Tap;
using NetStack.Transport.Udp;
using NetStack.Wire;
using Xunit.Abstractions;

namespace NetStack.Interop.Tests.Tap;

/// <summary>
/// UDP trains (issue 12 item 2, Linux's UDP_SEGMENT) against this machine's kernel: <see cref="UdpSocket.SendSegmented"/>
/// into a TAP opened with USO (TUN_F_USO4/USO6, Linux 6.2 and later) leaves as one super-frame (gso_type UDP_L4) that the
/// kernel cuts into datagrams; without offloads the link layer cuts them in software. Either way a kernel UDP socket in
/// the namespace receives every datagram, equal-sized but the last, with the bytes sent.
/// </summary>
[Collection("netstackd")]
public sealed class TapUdpTrainTests(ITestOutputHelper output) : TapFileTest("tap-uso-")
{
    // The kernel's receiver: writes "ready" once bound, "hello" once a 1-byte datagram came (resolution is done), then the
    // length and SHA-256 of each longer datagram, one per line, until it has `count` of them (or 120 s passed).
    private const string Receiver = """
import hashlib, socket, sys
family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(120)
d = sys.argv[3]
open(d + '/ready', 'w').close()
want = int(sys.argv[4])
lines = []
try:
    while len(lines) < want:
        b = s.recv(65536)
        if len(b) == 1:
            open(d + '/hello', 'w').close()
            continue
        lines.append('%d %s' % (len(b), hashlib.sha256(b).hexdigest()))
except socket.timeout:
    pass
with open(d + '/got.tmp', 'w') as f:
    f.write('\n'.join(lines) + '\n')
import os
os.rename(d + '/got.tmp', d + '/got')
""";

    public static TheoryData<bool, bool> Cases => new() { { false, true }, { true, true }, { false, false }, { true, false } };

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public Task A_UDP_train_reaches_a_kernel_socket_as_its_datagrams(bool ipv6, bool offloads) => TrainsToKernel(ipv6, offloads, frontDoor: false);

    /// <summary>
    /// The same through the async front door (<see cref="AsyncUdpSocket.SendSegmentedAsync"/>, issue 12 item 2), called
    /// from the test's thread: the kernel receives every datagram of every train.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public Task A_UDP_train_from_AsyncUdpSocket_reaches_a_kernel_socket_as_its_datagrams(bool ipv6, bool offloads) =>
        TrainsToKernel(ipv6, offloads, frontDoor: true);

    private async Task TrainsToKernel(bool ipv6, bool offloads, bool frontDoor)
    {
        Root.Require();
        await using var s = await TapStackLab.StartAsync(new NetstackdStackOptions { Seed = 9 },
            new TunTapOptions { Offloads = offloads ? TunOffloads.Default : TunOffloads.None });
        var (lab, ns, tap, stack) = (s.Lab, s.Ns, s.Tap, s.Stack);
        bool uso = (tap.Offloads & (ipv6 ? TunOffloads.Uso6 : TunOffloads.Uso4)) != 0;
        output.WriteLine($"kernel {Environment.OSVersion.Version}, TAP offloads {tap.Offloads}: USO {(uso ? "on" : "off")}");
        if (offloads)
            Assert.True(uso, "this machine's kernel (>= 6.2) should take TUN_F_USO4|USO6 on a TAP"); // NOTES.md: kernel 6.18

        const int port = 9300;
        var trains = new (int Length, int SegmentSize)[] { (1200 * 40 + 17, 1200), (1000 * 10, 1000), (1400 * 46, 1400) };
        int expected = trains.Sum(t => (t.Length + t.SegmentSize - 1) / t.SegmentSize);
        var script = Path.Combine(Dir, "recv.py");
        await File.WriteAllTextAsync(script, Receiver);
        var kernel = TapStackLab.Kernel(ipv6, port);
        lab.StartIn(ns, "python3", script, kernel.Address.ToString(), port.ToString(CultureInfo.InvariantCulture), Dir,
            expected.ToString(CultureInfo.InvariantCulture));
        await WaitFor(() => File.Exists(Path.Combine(Dir, "ready")), TimeSpan.FromSeconds(60), "the kernel's receiver bound");

        await using var sender = await TrainSender.OpenAsync(stack, ipv6, frontDoor, kernel);
        // Resolution first (a train to an unresolved neighbour waits as at most 8 of its datagrams), and, for IPv6, our
        // address out of duplicate address detection: 1-byte datagrams until the receiver has seen one.
        var hello = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(Dir, "hello")))
        {
            Assert.True(hello.Elapsed < TimeSpan.FromSeconds(60), "no 1-byte datagram reached the kernel in 60 s");
            await sender.HelloAsync();
            await Task.Delay(100);
        }

        var sent = new List<byte[]>();
        long superBefore = await stack.Ip.InvokeAsync(st => st.Statistics.SuperFramesTransmitted);
        foreach (var (length, segmentSize) in trains)
        {
            var payload = new byte[length];
            RandomNumberGenerator.Fill(payload);
            await sender.SendTrainAsync(payload, segmentSize);
            for (int at = 0; at < length; at += segmentSize) sent.Add(payload.AsSpan(at, Math.Min(segmentSize, length - at)).ToArray());
        }
        await WaitFor(() => File.Exists(Path.Combine(Dir, "got")), TimeSpan.FromSeconds(180), "the kernel's receiver finished");
        var got = (await File.ReadAllLinesAsync(Path.Combine(Dir, "got"))).Where(l => l.Length > 0).ToList();
        var want = sent.Select(d => $"{d.Length} {Convert.ToHexStringLower(SHA256.HashData(d))}").ToList();
        Assert.Equal(want, got); // every datagram, in order (one TAP, one queue), bytes intact

        var counts = await stack.Ip.InvokeAsync(n => (Super: n.Statistics.SuperFramesTransmitted - superBefore, Udp: n.Statistics.UdpSuperDatagramsSent));
        output.WriteLine($"{(ipv6 ? "IPv6" : "IPv4")}: {expected} datagrams in {trains.Length} trains; super-frames to the TAP {counts.Super}, " +
            $"UDP super-datagrams {counts.Udp}, TAP drops {tap.Statistics.TransmitDrops}");
        Assert.Equal(trains.Length, counts.Udp);
        Assert.Equal(0, tap.Statistics.TransmitDrops);

        // USO: each train went to the TAP as one super-frame (the kernel cut it on the way to the socket); without: none.
        Assert.Equal(uso ? trains.Length : 0, counts.Super);
    }

    /// <summary>Sends 1-byte datagrams and trains to one destination, through the core socket on the loop or the async front door.</summary>
    private sealed class TrainSender : IAsyncDisposable
    {
        private readonly NetstackdStack _stack;
        private readonly IPEndPoint _to;
        private readonly IpEndpoint _toCore;
        private UdpSocket? _core;
        private AsyncUdpSocket? _async;

        private TrainSender(NetstackdStack stack, IPEndPoint to)
        {
            _stack = stack;
            _to = to;
            _toCore = IpEndpoint.FromIPEndPoint(to);
        }

        public static async Task<TrainSender> OpenAsync(NetstackdStack stack, bool ipv6, bool frontDoor, IPEndPoint to)
        {
            var s = new TrainSender(stack, to);
            if (frontDoor)
                s._async = await stack.Ip.BindUdpAsync(new IPEndPoint(ipv6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            else
                s._core = await stack.Ip.InvokeAsync(_ => stack.Udp.Bind(new IpEndpoint(ipv6 ? Ipv6Address.Unspecified : Ipv4Address.Any, 0)));
            return s;
        }

        public async Task HelloAsync()
        {
            if (_async is not null)
            {
                // While our IPv6 address is tentative (RFC 4862 §5.4) there is no source to send from: the front door
                // says so as a socket would (EADDRNOTAVAIL), and the caller tries again.
                try
                {
                    Assert.Equal(1, await _async.SendToAsync(new byte[1], _to));
                }
                catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressNotAvailable)
                {
                }
                return;
            }
            var core = _core!;
            await _stack.Ip.InvokeAsync(st => core.Send(new byte[1], _toCore, IpSendOptions.Default, st.Now));
        }

        public async Task SendTrainAsync(byte[] payload, int segmentSize)
        {
            if (_async is not null)
            {
                Assert.Equal(payload.Length, await _async.SendSegmentedAsync(payload, segmentSize, _to));
                return;
            }
            var core = _core!;
            var result = await _stack.Ip.InvokeAsync(st => core.SendSegmented(payload, segmentSize, _toCore, IpSendOptions.Default, st.Now));
            Assert.Equal(IpSendResult.Sent, result);
        }

        public async ValueTask DisposeAsync()
        {
            if (_async is not null) await _async.DisposeAsync();
        }
    }
}
