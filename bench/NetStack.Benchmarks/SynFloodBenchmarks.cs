using BenchmarkDotNet.Attributes;
using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Benchmarks;

/// <summary>
/// The cost of one SYN through the whole stack (Ethernet, IPv4, TCP parse and checksum, listener lookup, and the answer
/// written to a device that discards it), per SYN, in batches of 1,024 different SYNs (issue 13 item 4):
/// <list type="bullet">
/// <item><see cref="CookieSynAck"/>: a SYN cookie (RFC 4987 §3.6) for a SYN from a resolved neighbour (SYN queue 0: no state);</item>
/// <item><see cref="CookieSynAckUnknownNeighbour"/>: the same from spoofed on-link sources the stack never saw, whose answers
/// meet the neighbour cache's limits on unresolved entries;</item>
/// <item><see cref="BudgetDrop"/>: a SYN beyond the listener's SYN budget (dropped before any answer);</item>
/// <item><see cref="RstForClosedPort"/>: the reference in the same run, a SYN to a closed port answered with RST (RFC 9293
/// §3.10.7.1): the same parsing and one reply, without cookie or options.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
public class SynFloodBenchmarks
{
    private const int Batch = 1024;
    private static readonly MacAddress Ours = new(0x02_00_00_00_00_01);
    private static readonly Ipv4Address Us = new(192, 0, 2, 1);

    private sealed class SinkDevice : INetDevice
    {
        public long Frames;
        public Medium Medium => Medium.Ethernet;
        public int Mtu => 1500;
        public int MaxFrameSize => 1514;
        public MacAddress HardwareAddress => Ours;
        public bool TryReceive(Span<byte> buffer, Instant now, out int length) { length = 0; return false; }
        public void Transmit(ReadOnlySpan<byte> frame, Instant now) => Frames++;
    }

    private sealed class Setup
    {
        public required NetworkStack Stack;
        public required NetworkInterface Interface;
        public required SinkDevice Device;
        public required TcpLayer Tcp;
        public Instant Now = Instant.FromSeconds(10);
    }

    private Setup _cookie = null!, _unknown = null!, _budget = null!, _closed = null!;
    private byte[][] _known = [], _spoofed = [];

    private static Setup Build(TcpSettings settings, bool listen)
    {
        var device = new SinkDevice();
        var stack = new NetworkStack(new StackOptions(), new SeededRandom(1));
        var iface = stack.AddInterface(device, new InterfaceConfig
        {
            Ipv4Addresses = [new Ipv4Cidr(Us, 16)], EnableIpv6 = false,
        }, Instant.FromSeconds(1));
        var tcp = new TcpLayer(stack, new SeededRandom(2), settings);
        stack.RegisterTransport(IpProtocol.Tcp, tcp);
        if (listen) tcp.Listen(new IpEndpoint(Ipv4Address.Any, 80), 128);
        return new Setup { Stack = stack, Interface = iface, Device = device, Tcp = tcp };
    }

    private static byte[] Syn(Ipv4Address src, MacAddress mac, ushort port, uint seq)
    {
        var tcp = new TcpRepr
        {
            SourcePort = port, DestinationPort = 80, SequenceNumber = new SeqNumber(seq), Flags = TcpFlags.Syn, Window = 64240,
            Mss = 1460, WindowScale = 7, SackPermitted = true, Timestamps = new TcpTimestamps(seq ^ 0x5555, 0),
        };
        var f = new byte[14 + 20 + tcp.HeaderLength];
        new EthernetRepr(mac, Ours, EtherType.Ipv4).Write(f);
        new Ipv4Repr(src, Us, IpProtocol.Tcp, tcp.HeaderLength).Write(f.AsSpan(14));
        tcp.Write(f.AsSpan(34), default, src, Us);
        return f;
    }

    private static byte[] ArpRequest(Ipv4Address src, MacAddress mac)
    {
        var f = new byte[14 + 28];
        new EthernetRepr(mac, MacAddress.Broadcast, EtherType.Arp).Write(f);
        ArpRepr.Request(mac, src, Us).Write(f.AsSpan(14));
        return f;
    }

    [GlobalSetup]
    public void GlobalSetup()
    {
        var cookies = new TcpSettings { SynQueueLength = 0, ListenerSynRate = 0 };
        _cookie = Build(cookies, listen: true);
        _unknown = Build(cookies, listen: true);
        _budget = Build(new TcpSettings { SynQueueLength = 0, ListenerSynRate = 1, ListenerSynBurst = 1 }, listen: true);
        _closed = Build(cookies, listen: false);
        // 256 resolved neighbours (their ARP requests for our address made entries, RFC 826), 4 SYNs each.
        _known = new byte[Batch][];
        for (int i = 0; i < Batch; i++)
        {
            var src = new Ipv4Address(192, 0, 3, (byte)(i % 256));
            var mac = new MacAddress(0x02_66_00_00_00_00UL | (uint)(i % 256));
            _known[i] = Syn(src, mac, (ushort)(10000 + i), (uint)i * 7919u);
        }
        foreach (var s in new[] { _cookie, _closed, _budget })
            for (int i = 0; i < 256; i++)
                s.Stack.Receive(s.Interface, ArpRequest(new Ipv4Address(192, 0, 3, (byte)i), new MacAddress(0x02_66_00_00_00_00UL | (uint)i)), s.Now);
        // 1,024 spoofed sources in 192.0.4.0/22 the stack never heard of.
        _spoofed = new byte[Batch][];
        for (int i = 0; i < Batch; i++)
            _spoofed[i] = Syn(new Ipv4Address(192, 0, (byte)(4 + i / 256), (byte)(i % 256)), new MacAddress(0x02_77_00_00_00_00UL | (uint)i), (ushort)(20000 + i), (uint)i * 104729u);
    }

    private static long Feed(Setup s, byte[][] frames)
    {
        for (int i = 0; i < frames.Length; i++)
        {
            s.Now += TimeSpan.FromMicroseconds(1);
            s.Stack.Receive(s.Interface, frames[i], s.Now);
        }
        s.Stack.Poll(s.Now);
        return s.Device.Frames;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long CookieSynAck() => Feed(_cookie, _known);

    [Benchmark(OperationsPerInvoke = Batch)]
    public long CookieSynAckUnknownNeighbour() => Feed(_unknown, _spoofed);

    [Benchmark(OperationsPerInvoke = Batch)]
    public long BudgetDrop() => Feed(_budget, _known);

    [Benchmark(OperationsPerInvoke = Batch, Baseline = true)]
    public long RstForClosedPort() => Feed(_closed, _known);
}
