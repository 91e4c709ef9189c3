using System.Buffers.Binary;
using NetStack.Link;
using NetStack.Network;
using NetStack.Network.Ipv4;
using NetStack.Samples.Traceroute;
using NetStack.Wire;
using NetStack.Composition;

namespace NetStack.Tests.Traceroute;

/// <summary>
/// The probe senders and the traceroute node over a scripted raw-IP device: every probe the stack hands to the device
/// is answered by a crafted ICMP message (queued at once, as an answer that arrives while the loop is still in its
/// turn), so each test controls exactly what comes back: codes Linux never reports, extension objects, the timing.
/// </summary>
public class ProbeMatchingTests
{
    private static readonly Ipv4Address Us = Ipv4Address.Parse("198.51.100.2");
    private static readonly IpAddress Target = IpAddress.Parse("203.0.113.10");

    /// <summary>A TUN-like device: frames are IP packets; <see cref="Answer"/> may queue a reply to each one sent.</summary>
    private sealed class ScriptedIpDevice : INetDevice
    {
        public readonly Queue<byte[]> Incoming = new();
        public readonly List<byte[]> Sent = [];
        public Func<byte[], byte[]?>? Answer { get; set; }
        public Medium Medium => Medium.Ip;
        public int Mtu => 1500;
        public int MaxFrameSize => 1500;
        public MacAddress HardwareAddress => MacAddress.Zero;

        public bool TryReceive(Span<byte> buffer, Instant now, out int length)
        {
            length = 0;
            if (!Incoming.TryDequeue(out var f)) return false;
            f.CopyTo(buffer);
            length = f.Length;
            return true;
        }

        public void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            var f = frame.ToArray();
            Sent.Add(f);
            if (Answer?.Invoke(f) is { } reply) Incoming.Enqueue(reply);
        }
    }

    /// <summary>An ICMPv4 error from <paramref name="from"/> quoting <paramref name="probe"/>; with an RFC 4884 extension when given.</summary>
    private static byte[] IcmpError(string from, byte type, byte code, byte[] probe, ushort nextHopMtu = 0, IcmpExtensionRepr? extension = null)
    {
        int quote = extension is null ? Math.Min(probe.Length, 28) : 128;
        int extLength = extension?.BufferLength ?? 0;
        var icmp = new byte[8 + quote + extLength];
        icmp[0] = type;
        icmp[1] = code;
        if (extension is not null) icmp[5] = 128 / 4; // RFC 4884 §4.1: length of the original datagram in 32-bit words
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(6), nextHopMtu);
        probe.AsSpan(0, Math.Min(probe.Length, quote)).CopyTo(icmp.AsSpan(8));
        extension?.Write(icmp.AsSpan(8 + quote));
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(2), Checksum.Compute(icmp));
        var repr = new Ipv4Repr(Ipv4Address.Parse(from), Us, IpProtocol.Icmp, icmp.Length, 60);
        var packet = new byte[repr.BufferLength];
        int hl = repr.Write(packet);
        icmp.CopyTo(packet.AsSpan(hl));
        return packet;
    }

    private static int TtlOf(byte[] probe) => probe[8];

    /// <summary>A stack on <paramref name="device"/> with one traced engine; returns the node and the text output.</summary>
    private static (TracerouteNode Node, TracerouteEngine Engine, StringWriter Output) Setup(ScriptedIpDevice device, string[] args,
        StampingDevice? stamps = null)
    {
        var options = TracerouteOptions.Parse([.. args, Target.ToString()], out var error) ?? throw new InvalidOperationException(error);
        var stack = new NetworkStack(new StackOptions(), new SeededRandom(7));
        INetDevice dev = stamps ?? (INetDevice)device;
        var iface = stack.AddInterface(dev, new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("198.51.100.2/24")], EnableIpv6 = false }, Instant.FromSeconds(1));
        stack.AddIpv4Route(new Ipv4Route(new Ipv4Cidr(Ipv4Address.Any, 0), Ipv4Address.Parse("198.51.100.1"), iface.Index));
        var sender = ProbeSenderFactory.Create(stack, options, new IpAddress(Us), Target, new SeededRandom(9));
        sender.Stamps = stamps;
        var output = new StringWriter();
        var engine = new TracerouteEngine(options, sender, ProbeSenderFactory.DataLength(options, sender), null, output);
        sender.Attach(engine);
        var node = new TracerouteNode(stack) { Sender = sender, Engine = engine };
        engine.WriteHeader(Target.ToString(), Target);
        return (node, engine, output);
    }

    private static string RunToEnd(TracerouteNode node, TracerouteEngine engine, StringWriter output)
    {
        var now = Instant.FromSeconds(1);
        for (int guard = 0; guard < 10_000 && !engine.IsComplete; guard++)
        {
            var next = node.Poll(now);
            if (engine.IsComplete) break;
            now = Instant.Max(now + TimeSpan.FromMilliseconds(1), next);
        }
        Assert.True(engine.IsComplete, output.ToString());
        return output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(21)]
    [InlineData(255)]
    public void Unreachable_codes_above_15_are_not_reported_as_the_linux_kernel_drops_them(byte code)
    {
        // icmp_unreach(): "code > NR_ICMP_UNREACH" is dropped, so traceroute 2.1 never sees it and prints "*".
        var device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p) : IcmpError("192.0.2.2", 3, code, p);
        var (node, engine, output) = Setup(device, ["-n", "-q", "1", "-m", "2", "-w", "1"]);
        var text = RunToEnd(node, engine, output);
        Assert.EndsWith(" 2  *\n", text);
        Assert.DoesNotContain("!<", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Fragmentation_needed_for_a_probe_sent_without_df_is_not_reported_but_with_df_it_is()
    {
        // Without -F traceroute 2.1's UDP sockets are IP_PMTUDISC_DONT and the kernel reports no "fragmentation needed".
        var device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p) : IcmpError("192.0.2.2", 3, 4, p, nextHopMtu: 1400);
        var (node, engine, output) = Setup(device, ["-n", "-q", "1", "-m", "2", "-w", "1"]);
        Assert.EndsWith(" 2  *\n", RunToEnd(node, engine, output));

        device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p) : IcmpError("192.0.2.2", 3, 4, p, nextHopMtu: 1400);
        (node, engine, output) = Setup(device, ["-F", "-n", "-q", "1", "-m", "2", "-w", "1"]);
        Assert.Matches(@" 2  192\.0\.2\.2  \d+\.\d{3} ms !F-1400\n$", RunToEnd(node, engine, output));
    }

    [Theory]
    [InlineData("-I")]
    [InlineData("-T")]
    public void Fragmentation_needed_without_df_is_reported_to_the_icmp_and_tcp_methods(string method)
    {
        // Their ICMP arrives through raw sockets, whose raw_err() queues "fragmentation needed" whatever the socket's
        // IP_MTU_DISCOVER (Linux traceroute 2.1 prints "!F-1400" without -F; CraftedAnswerTests shows it in the lab).
        var device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p) : IcmpError("192.0.2.2", 3, 4, p, nextHopMtu: 1400);
        var (node, engine, output) = Setup(device, [method, "-n", "-q", "1", "-m", "2", "-w", "1"]);
        Assert.Matches(@" 2  192\.0\.2\.2  \d+\.\d{3} ms !F-1400\n$", RunToEnd(node, engine, output));
    }

    [Fact]
    public void Extension_objects_other_than_mpls_print_as_linux_prints_them()
    {
        // RFC 4884 / RFC 5837 (class 2, c-type 14: interface information): "<2/14:0000000c,c0000201>" with -e.
        byte[] data = [0x00, 0x00, 0x00, 0x0C, 0xC0, 0x00, 0x02, 0x01];
        var extension = new IcmpExtensionRepr(new[] { new IcmpExtensionObjectRepr(2, 14, data) });
        var device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p, extension: extension) : IcmpError("203.0.113.10", 3, 3, p);
        var (node, engine, output) = Setup(device, ["-e", "-n", "-q", "2", "-w", "1"]);
        var text = RunToEnd(node, engine, output);
        Assert.Matches(@"\n 1  198\.51\.100\.1 <2/14:0000000c,c0000201>  \d+\.\d{3} ms  \d+\.\d{3} ms\n", text);

        // Without -e nothing of it is printed; an object whose data is not whole 32-bit words spoils the extension (Linux prints none).
        device = new ScriptedIpDevice();
        device.Answer = p => TtlOf(p) == 1 ? IcmpError("198.51.100.1", 11, 0, p, extension: extension) : IcmpError("203.0.113.10", 3, 3, p);
        (node, engine, output) = Setup(device, ["-n", "-q", "1", "-w", "1"]);
        Assert.DoesNotContain("<", RunToEnd(node, engine, output), StringComparison.Ordinal);
        var odd = new IcmpExtensionRepr(new[] { new IcmpExtensionObjectRepr(2, 14, new byte[] { 1, 2, 3, 4, 5, 6 }) });
        var buffer = new byte[odd.BufferLength];
        odd.Write(buffer);
        Assert.True(IcmpExtension.TryParse(buffer, out var parsed, out _));
        Assert.Null(RawProbeSender.FormatExtension(parsed));
    }

    [Fact]
    public void An_answer_read_in_the_last_poll_of_a_turn_is_handed_on_in_that_turn_not_at_the_next_deadline()
    {
        // The device answers every probe at once: the answer is read by the node's last Stack.Poll of the turn, after the
        // senders were drained. It must reach the scheduler in this turn (lost wake-up: the TAP has nothing more to wake
        // the loop with, so it would wait for the -w deadline).
        var device = new ScriptedIpDevice();
        device.Answer = p => IcmpError("203.0.113.10", 3, 3, p);
        var (node, engine, output) = Setup(device, ["-n", "-q", "1", "-N", "1", "-w", "5"]);
        var now = Instant.FromSeconds(1);
        var next = node.Poll(now);
        Assert.True(engine.IsComplete || next <= now, $"next poll at {next} (now {now}): the answer waits for the deadline\n{output}");
        for (int i = 0; i < 10 && !engine.IsComplete; i++) next = node.Poll(now);
        Assert.True(engine.IsComplete, output.ToString());
        Assert.Single(device.Sent);
    }

    [Fact]
    public void Round_trips_run_from_the_probe_frame_to_the_answer_frame_not_from_the_turn()
    {
        // The device's clock: every reading is 1 ms after the previous one. A probe is stamped right before its frame goes
        // out and the answer right after its frame is read (one reading each); the turn's own time plays no part.
        long ticks = 0;
        var device = new ScriptedIpDevice();
        var stamps = new StampingDevice(device, () => Instant.FromSeconds(10) + TimeSpan.FromMilliseconds(++ticks));
        device.Answer = p =>
        {
            ticks += 7; // the answer comes back 7 ms of device time later
            return IcmpError("203.0.113.10", 3, 3, p);
        };
        var (node, engine, output) = Setup(device, ["-n", "-q", "1", "-N", "1"], stamps);
        RunToEnd(node, engine, output);
        Assert.Equal(TimeSpan.FromMilliseconds(8), engine.Probes[0].RoundTrip);
    }
}
