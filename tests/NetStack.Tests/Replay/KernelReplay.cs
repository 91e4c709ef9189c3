using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv6;
using NetStack.Simulation;
using NetStack.Tests.Support;
using NetStack.Transport.Tcp;
using NetStack.Transport.Udp;
using NetStack.Wire;
using NetStack.Composition;
using SimFrame = NetStack.Simulation.CapturedFrame;

namespace NetStack.Tests.Replay;

/// <summary>
/// Replays a kernel golden capture (pcaps/golden/kernel-*.pcap, recorded by scripts/record-golden.sh) into our stack
/// configured as the kernel was: the kernel's MAC and addresses, DAD, router solicitation and gratuitous ARP off (the
/// script turns them off in the kernel, or they happen before its capture starts), a TCP listener where the case had one.
/// The peer's frames are fed at their capture times (virtual time, fixed seed); the kernel's frames are what we must send.
/// </summary>
internal static class KernelReplay
{
    public static readonly MacAddress KernelMac = MacAddress.Parse("00:00:5e:00:53:01");
    public static readonly MacAddress PeerMac = MacAddress.Parse("00:00:5e:00:53:02");
    public static readonly Ipv4Address KernelV4 = Ipv4Address.Parse("192.0.2.1");
    public static readonly Ipv6Address KernelV6 = Ipv6Address.Parse("2001:db8::1");
    public const ushort OpenTcpPort = 8080;

    /// <summary>
    /// How far our frame's time may be from the kernel's. The kernel answers in its receive path a few microseconds
    /// after the request (milliseconds on a loaded machine); we answer at the request's instant. The script's steps
    /// are 200 ms apart, so the tolerance cannot pair a frame with the wrong step.
    /// </summary>
    public static readonly TimeSpan TimeTolerance = TimeSpan.FromMilliseconds(50);

    /// <summary>The first captured frame is rebased to this instant; the stack starts 10 s earlier, as the kernel was set up before its capture.</summary>
    private static readonly Instant CaptureStart = Instant.FromSeconds(100);
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(10);

    public sealed record Outcome(IReadOnlyList<SimFrame> Expected, IReadOnlyList<SimFrame> Actual, NetworkStack Stack);

    /// <summary>
    /// Runs the case: kernel's frames (rebased) and ours, both in capture order, up to the end marker. With
    /// <paramref name="tcpListener"/>, a TCP listener on that address and <see cref="OpenTcpPort"/>, as the script starts one.
    /// </summary>
    public static Outcome Run(string golden, IpAddress? tcpListener, ulong seed)
    {
        var frames = PcapReplay.Read(Path.Combine(CapturePaths.Directory, "golden", golden));
        Assert.True(frames.Count > 0, $"{golden} is empty");
        long offset = CaptureStart.Microseconds - frames[0].Timestamp.Microseconds;
        var expected = frames.Where(f => IsFromKernel(f.Data))
            .Select(f => f with { Timestamp = new Instant(f.Timestamp.Microseconds + offset) }).ToList();

        var sim = new Simulator(seed, CaptureStart - Warmup);
        var device = new ReplayDevice(frames, CaptureStart, Medium.Ethernet, KernelMac, filter: f => !IsFromKernel(f));
        var stack = new NetworkStack(new StackOptions
        {
            // Linux sends no gratuitous ARP on address configuration (arp_notify = 0).
            Ipv4 = new Network.Ipv4.Ipv4Settings { GratuitousArpCount = 0 },
            // The script adds 2001:db8::1 with nodad and accept_dad = 0; the kernel's link-local address is EUI-64.
            Ipv6 = new Ipv6Settings { DupAddrDetectTransmits = 0, InterfaceIdentifiers = InterfaceIdentifierMode.ModifiedEui64 },
        }, new SeededRandom(seed));
        stack.AddInterface(device, new InterfaceConfig
        {
            Ipv4Addresses = [new Ipv4Cidr(KernelV4, 24)],
            Ipv6Addresses = [new Ipv6Cidr(KernelV6, 64)],
            Slaac = false, // accept_ra = 0 in the script: no router solicitations
        }, sim.Now);
        _ = new UdpLayer(stack);
        var tcp = new TcpLayer(stack, new SeededRandom(seed + 1));
        stack.RegisterTransport(IpProtocol.Tcp, tcp);
        if (tcpListener is { } address) tcp.Listen(new IpEndpoint(address, OpenTcpPort), backlog: 8);
        sim.AddNode("kernel-stand-in", stack, device);

        // Runs until the end marker (the last frame of every golden) has been fed.
        Assert.True(sim.RunUntil(() => device.Remaining == 0, CaptureStart + TimeSpan.FromMinutes(1)), "replay did not reach the end marker");
        // The capture started just before the first request: what we sent while warming up is not compared.
        var actual = device.Transmitted.Where(f => f.Timestamp >= CaptureStart).ToList();
        return new Outcome(expected, actual, stack);
    }

    private static bool IsFromKernel(ReadOnlySpan<byte> frame) => frame.Length >= 12 && MacAddress.Read(frame[6..]) == KernelMac;

    /// <summary>
    /// Compares ours with the kernel's after applying <paramref name="masks"/> to both, and fails with the per-field
    /// diff (<c>tshark -V</c> lines) of <see cref="PcapReplay.Compare"/> naming the masks in force.
    /// </summary>
    public static void AssertSameAsKernel(Outcome outcome, string golden, ulong seed, params FieldMask[] masks)
    {
        var expected = FieldMask.ApplyAll(masks, outcome.Expected);
        var actual = FieldMask.ApplyAll(masks, outcome.Actual);
        // Timestamps: ours may trail or lead the kernel's by up to the tolerance (reported as a time diff beyond it).
        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            if ((actual[i].Timestamp - expected[i].Timestamp).Duration() <= TimeTolerance)
                actual[i] = actual[i] with { Timestamp = expected[i].Timestamp };
        }
        var diff = PcapReplay.Compare(expected, actual, Medium.Ethernet, maxFrames: 10);
        if (diff is null) return;
        var masked = masks.Length == 0 ? "none" : string.Join(", ", masks.Select(m => m.Name));
        Assert.Fail($"seed {seed}: what we sent differs from what the kernel sent in {golden} (masked: {masked}; "
            + $"time tolerance {TimeTolerance.TotalMilliseconds} ms; '-' kernel, '+' ours)\n{diff}"
            + $"drops: {string.Join(", ", outcome.Stack.Statistics.NonZeroDrops())}");
    }
}
