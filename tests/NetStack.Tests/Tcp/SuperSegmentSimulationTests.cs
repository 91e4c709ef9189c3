using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Simulation;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// TCP super-segments (issue 12 item 2) in the full-stack simulator: two stacks over an <see cref="InMemoryLink"/> with a
/// seeded <see cref="FaultInjector"/>. With <see cref="TcpSettings.SegmentationOffload"/> TCP hands IP 64 KB
/// super-segments that the link layer cuts in software (the in-memory link offers no TSO) or a TSO device takes whole;
/// the frames on the wire, their times and the byte stream are exactly those of the one-MSS-at-a-time path, with loss too.
/// </summary>
public sealed class SuperSegmentSimulationTests
{
    private const int Port = 5001;

    private sealed record Run(List<(long At, byte[] Frame)> Wire, bool Intact, TcpStatistics SenderTcp, StackStatistics Sender,
        List<(int Length, VirtioNetHeader Header)> Offloaded, int Mss);

    /// <summary>Records every frame a stack transmits, with its time (below it the wire frames, above it the stack).</summary>
    private sealed class WireRecorder(INetDevice inner, List<(long, byte[])> wire) : NetDeviceDecorator(inner)
    {
        public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            wire.Add((now.Microseconds, frame.ToArray()));
            Inner.Transmit(frame, now);
        }
    }

    /// <summary>A device that says it does TSO4/TSO6 and checksum offload (as a TAP with a virtio-net header does), records
    /// what it is handed, and then does the device's work in software (the base decorator's offloaded overload).</summary>
    private sealed class TsoDevice(INetDevice inner, List<(int, VirtioNetHeader)> offloaded) : NetDeviceDecorator(inner)
    {
        public override int MaxFrameSize => 65536 + EthernetFrame.HeaderLength;

        public override DeviceCapabilities Capabilities => Inner.Capabilities with
        {
            MaxFrameSize = MaxFrameSize,
            Offloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.Tso4 | DeviceOffloads.Tso6,
            GsoMaxSize = 65536,
        };

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
        {
            offloaded.Add((frame.Length, info.Virtio));
            base.Transmit(frame, now, info);
        }
    }

    private static Run Transfer(ulong seed, bool v6, bool superSegments, bool tsoDevice, double loss, int bytes)
    {
        var start = Instant.FromSeconds(1);
        var sim = new Simulator(seed, start);
        using var link = InMemoryLink.Ethernet(MacAddress.Parse("02:00:00:00:00:01"), MacAddress.Parse("02:00:00:00:00:02"),
            new LinkOptions { Latency = TimeSpan.FromMilliseconds(5) });
        var drop = new FaultProfile { DropRate = loss };
        using var faultA = new FaultInjector(link.A, sim.Random, transmit: drop);
        using var faultB = new FaultInjector(link.B, sim.Random, transmit: drop);
        var wire = new List<(long, byte[])>();
        var offloaded = new List<(int, VirtioNetHeader)>();
        INetDevice devA = new WireRecorder(faultA, wire);
        if (tsoDevice) devA = new TsoDevice(devA, offloaded);
        INetDevice devB = new WireRecorder(faultB, wire);
        var options = new StackOptions { Ipv6 = new NetStack.Network.Ipv6.Ipv6Settings { DupAddrDetectTransmits = 0 } };
        var a = new NetworkStack(options, sim.Random);
        var b = new NetworkStack(options, sim.Random);
        var cfgA = v6
            ? new InterfaceConfig { Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::1/64")], EnableIpv4 = false }
            : new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.1/24")], EnableIpv6 = false };
        var cfgB = v6
            ? new InterfaceConfig { Ipv6Addresses = [Ipv6Cidr.Parse("2001:db8::2/64")], EnableIpv4 = false }
            : new InterfaceConfig { Ipv4Addresses = [Ipv4Cidr.Parse("192.0.2.2/24")], EnableIpv6 = false };
        a.AddInterface(devA, cfgA, start);
        b.AddInterface(devB, cfgB, start);
        var settings = new TcpSettings { SendBufferSize = 256 * 1024, ReceiveBufferSize = 256 * 1024, SegmentationOffload = superSegments };
        var tcpA = new TcpLayer(a, sim.Random, settings);
        var tcpB = new TcpLayer(b, sim.Random, settings);
        a.RegisterTransport(IpProtocol.Tcp, tcpA);
        b.RegisterTransport(IpProtocol.Tcp, tcpB);

        var data = new byte[bytes];
        new Random((int)seed).NextBytes(data);
        var received = new byte[bytes];
        IpAddress addressB = v6 ? Ipv6Address.Parse("2001:db8::2") : Ipv4Address.Parse("192.0.2.2");
        var listener = tcpB.Listen(new IpEndpoint(addressB, Port), 4);
        var client = tcpA.Connect(new IpEndpoint(addressB, Port), start);
        TcpConnection? server = null;
        int sent = 0, got = 0;
        bool Step()
        {
            bool progress = false;
            if (sent < bytes)
            {
                int n = client.Send(data.AsSpan(sent));
                sent += n;
                progress |= n > 0;
                if (sent == bytes) client.Close();
            }
            if (server is null && !listener.TryAccept(out server)) return progress;
            int r;
            while (got < bytes && (r = server!.Receive(received.AsSpan(got))) > 0) { got += r; progress = true; }
            return progress;
        }
        sim.AddNode("A", new Driven(a, Step), devA);
        sim.AddNode("B", new Driven(b, Step), devB);
        sim.RunUntil(() => got == bytes, start + TimeSpan.FromMinutes(10));
        return new Run(wire, got == bytes && received.AsSpan().SequenceEqual(data), tcpA.Stats, a.Statistics, offloaded, client.SendMss);
    }

    private sealed class Driven(IPollable stack, Func<bool> step) : IPollable
    {
        public Instant Poll(Instant now)
        {
            step();
            var next = stack.Poll(now);
            return step() ? now : next;
        }
    }

    private static void AssertSameWire(Run expected, Run actual, string what)
    {
        Assert.Equal(expected.Wire.Count, actual.Wire.Count);
        for (int i = 0; i < expected.Wire.Count; i++)
        {
            Assert.True(expected.Wire[i].At == actual.Wire[i].At, $"{what}: frame {i} at {actual.Wire[i].At} µs, expected {expected.Wire[i].At} µs");
            Assert.True(expected.Wire[i].Frame.AsSpan().SequenceEqual(actual.Wire[i].Frame), $"{what}: frame {i} differs");
        }
    }

    [Theory]
    [InlineData(false, 0.0, 21UL)]
    [InlineData(true, 0.0, 22UL)]
    [InlineData(false, 0.02, 23UL)]
    [InlineData(true, 0.02, 24UL)]
    public void Super_segments_put_the_same_frames_on_the_wire_as_one_MSS_at_a_time(bool v6, double loss, ulong seed)
    {
        const int bytes = 3 << 20;
        var single = Transfer(seed, v6, superSegments: false, tsoDevice: false, loss, bytes);
        var super = Transfer(seed, v6, superSegments: true, tsoDevice: false, loss, bytes);
        var tso = Transfer(seed, v6, superSegments: true, tsoDevice: true, loss, bytes);
        Assert.True(single.Intact, $"seed {seed}: one-MSS transfer incomplete");
        Assert.True(super.Intact, $"seed {seed}: super-segment transfer incomplete");
        Assert.True(tso.Intact, $"seed {seed}: TSO-device transfer incomplete");
        Assert.Equal(0, single.SenderTcp.SuperSegmentsSent);
        Assert.True(super.SenderTcp.SuperSegmentsSent > 0, $"seed {seed}: no super-segment was sent");
        Assert.True(super.Sender.SegmentsBuiltInSoftware > 0, $"seed {seed}: nothing was segmented in software");
        Assert.True(tso.Sender.SuperFramesTransmitted > 0, $"seed {seed}: the TSO device got no super-frame");
        Assert.Equal(single.SenderTcp.SegmentsSent, super.SenderTcp.SegmentsSent);
        Assert.Equal(single.SenderTcp.Retransmissions, super.SenderTcp.Retransmissions);
        if (loss > 0) Assert.True(single.SenderTcp.Retransmissions > 0, $"seed {seed}: no loss recovery exercised");
        AssertSameWire(single, super, $"seed {seed}, software segmentation");
        AssertSameWire(single, tso, $"seed {seed}, TSO device");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_super_segment_never_exceeds_64_KB_with_headers_and_gso_size_is_the_MSS(bool v6)
    {
        var tso = Transfer(31, v6, superSegments: true, tsoDevice: true, loss: 0, bytes: 4 << 20);
        Assert.True(tso.Intact);
        var gso = tso.Offloaded.Where(o => o.Header.GsoType != VirtioGsoType.None).ToList();
        Assert.NotEmpty(gso);
        Assert.All(tso.Offloaded, o => Assert.True(o.Header.NeedsChecksum));
        foreach (var (length, h) in gso)
        {
            Assert.Equal(v6 ? VirtioGsoType.TcpV6 : VirtioGsoType.TcpV4, h.GsoType);
            Assert.True(length - EthernetFrame.HeaderLength <= 65535, $"IP packet of {length - EthernetFrame.HeaderLength} bytes");
            Assert.Equal(tso.Mss, h.GsoSize);
            Assert.True(h.GsoSize + h.HeaderLength - EthernetFrame.HeaderLength <= 1500, "a segment exceeds the MTU");
            Assert.True(length - h.HeaderLength > h.GsoSize, "a super-frame of one segment");
        }
        // The largest super-frames are full: 64 KB worth of MSS-sized segments once cwnd has opened.
        Assert.True(gso.Max(o => o.Length) > 60_000, $"largest super-frame {gso.Max(o => o.Length)} bytes");
    }
}
