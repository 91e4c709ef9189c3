using NetStack.Composition;
using NetStack.Link;
using NetStack.Network;
using NetStack.Transport.Udp;
using NetStack.Wire;

namespace NetStack.Tests.Link;

/// <summary>
/// UDP trains (Linux's UDP_SEGMENT / UDP GSO, issue 12 item 2): <see cref="UdpSocket.SendSegmented"/> hands IP one
/// super-datagram; a device with USO gets it whole (gso_type UDP_L4, gso_size = the segment size), any other device gets
/// the datagrams the link layer cuts in software. Either way the receiver sees equal-size datagrams, the last shorter.
/// </summary>
public sealed class UdpTrainTests
{
    private static readonly IpAddress A4 = Ipv4Address.Parse("192.0.2.10");
    private static readonly IpAddress B4 = Ipv4Address.Parse("192.0.2.11");
    private static readonly IpAddress A6 = Ipv6Address.Parse("2001:db8::a");
    private static readonly IpAddress B6 = Ipv6Address.Parse("2001:db8::b");

    /// <summary>
    /// An Ethernet port to one peer. With <paramref name="uso"/> it offers checksum offload and USO, records each
    /// offloaded frame, and cuts it into wire frames for the peer as a kernel would.
    /// </summary>
    private sealed class Port(MacAddress mac, bool uso) : QueuePort(mac)
    {
        public List<byte[]> Wire { get; } = [];
        public List<(int Length, FrameTransmitInfo Info)> Offloaded { get; } = [];
        public override int MaxFrameSize => uso ? 65535 + EthernetFrame.HeaderLength : 1514;

        public override DeviceCapabilities Capabilities => uso
            ? DeviceCapabilities.Basic(this) with { Offloads = DeviceOffloads.TransmitChecksum | DeviceOffloads.Uso, GsoMaxSize = 65535 }
            : DeviceCapabilities.Basic(this);

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now)
        {
            Assert.True(frame.Length <= 1514, $"a {frame.Length}-byte frame on the wire");
            Wire.Add(frame.ToArray());
            base.Transmit(frame, now);
        }

        public override void Transmit(ReadOnlySpan<byte> frame, Instant now, in FrameTransmitInfo info)
        {
            Offloaded.Add((frame.Length, info));
            Assert.True(SoftwareSegmentation.Transmit(this, frame, now, info) > 0, "the header does not describe the frame");
        }
    }

    private sealed class Pair : TwoStacks<Port>
    {
        public readonly UdpLayer UdpA;
        public readonly UdpLayer UdpB;

        public Pair(bool uso) : base(new Port(MacAddress.Parse("02:00:00:00:00:0a"), uso), new Port(MacAddress.Parse("02:00:00:00:00:0b"), uso: false), 11, 12)
        {
            UdpA = new UdpLayer(A);
            UdpB = new UdpLayer(B);
            Settle();
        }
    }

    private static byte[] Pattern(int n, int seed)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 7 + seed);
        return b;
    }

    private static bool IsUdp(byte[] frame) =>
        frame.Length > 14 + 40 && (frame[12], frame[13]) switch
        {
            (0x08, 0x00) => frame[14 + 9] == (byte)IpProtocol.Udp,
            (0x86, 0xDD) => frame[14 + 6] == (byte)IpProtocol.Udp,
            _ => false,
        };

    private static List<byte[]> Drain(UdpSocket s)
    {
        var got = new List<byte[]>();
        var buffer = new byte[65536];
        while (s.TryReceive(buffer, out _, out int n)) got.Add(buffer.AsSpan(0, n).ToArray());
        return got;
    }

    private static void AssertTrain(byte[] payload, int segmentSize, List<byte[]> got)
    {
        int expected = (payload.Length + segmentSize - 1) / segmentSize;
        Assert.Equal(expected, got.Count);
        for (int i = 0; i < expected; i++)
        {
            int start = i * segmentSize;
            Assert.Equal(payload.AsSpan(start, Math.Min(segmentSize, payload.Length - start)).ToArray(), got[i]);
        }
    }

    public static TheoryData<bool, bool> Cases => new() { { false, false }, { true, false }, { false, true }, { true, true } };

    /// <summary>
    /// The first train to a neighbour not resolved yet waits whole while it is resolved (as its datagrams: ARP's and
    /// NDP's queues hold <see cref="UdpSocket.MaxSegments"/> packets, as Linux's unres_qlen_bytes holds a 64 KB train),
    /// and arrives whole; a packet beyond the queue is a counted drop (NeighborQueueFull), never a silent one.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void A_whole_train_waits_for_address_resolution_and_more_is_a_counted_drop(bool ipv6, bool uso)
    {
        var p = new Pair(uso);
        var (a, b) = ipv6 ? (A6, B6) : (A4, B4);
        using var tx = p.UdpA.Bind(new IpEndpoint(a, 5000));
        using var rx = p.UdpB.Bind(new IpEndpoint(b, 6000));
        long dropsBefore = p.A.Statistics.TotalDrops + p.B.Statistics.TotalDrops;
        var train = Pattern(1000 * UdpSocket.MaxSegments, 3);
        Assert.Equal(IpSendResult.Sent, tx.SendSegmented(train, 1000, new IpEndpoint(b, 6000), IpSendOptions.Default, p.Now));
        Assert.DoesNotContain(p.PortA.Wire, f => IsUdp(f)); // waiting for the neighbour
        Assert.Equal(IpSendResult.QueueFull, tx.Send(new byte[1], new IpEndpoint(b, 6000), IpSendOptions.Default, p.Now));
        Assert.Equal(1, p.A.Statistics.Drops(DropReason.NeighborQueueFull));
        p.Run(TimeSpan.FromMilliseconds(50));
        AssertTrain(train, 1000, Drain(rx));
        Assert.Equal(UdpSocket.MaxSegments, p.PortA.Wire.Count(IsUdp));
        Assert.Equal(dropsBefore + 1, p.A.Statistics.TotalDrops + p.B.Statistics.TotalDrops);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_train_arrives_as_equal_datagrams_the_last_shorter(bool ipv6, bool uso)
    {
        var p = new Pair(uso);
        var (a, b) = ipv6 ? (A6, B6) : (A4, B4);
        using var tx = p.UdpA.Bind(new IpEndpoint(a, 5000));
        using var rx = p.UdpB.Bind(new IpEndpoint(b, 6000));
        // Address resolution first (a train to an unresolved neighbour: the test below).
        Assert.Equal(IpSendResult.Sent, tx.Send(new byte[1], new IpEndpoint(b, 6000), IpSendOptions.Default, p.Now));
        p.Run(TimeSpan.FromMilliseconds(50));
        Assert.Single(Drain(rx));
        var first = Pattern(10_500, 1);
        Assert.Equal(IpSendResult.Sent, tx.SendSegmented(first, 1000, new IpEndpoint(b, 6000), IpSendOptions.Default, p.Now));
        p.Run(TimeSpan.FromMilliseconds(50));
        AssertTrain(first, 1000, Drain(rx));

        p.PortA.Wire.Clear();
        p.PortA.Offloaded.Clear();
        long softwareBefore = p.A.Statistics.SegmentsBuiltInSoftware;
        long dropsBefore = p.A.Statistics.TotalDrops + p.B.Statistics.TotalDrops;
        var second = Pattern(1200 * 40 + 17, 2);
        Assert.Equal(IpSendResult.Sent, tx.SendSegmented(second, 1200, new IpEndpoint(b, 6000), IpSendOptions.Default, p.Now));
        p.Run(TimeSpan.FromMilliseconds(50));
        AssertTrain(second, 1200, Drain(rx));
        Assert.Equal(41, p.PortA.Wire.Count(IsUdp)); // on the wire: 41 datagrams, however they left the stack
        Assert.Equal(2, p.A.Statistics.UdpSuperDatagramsSent);
        if (uso)
        {
            var (length, info) = Assert.Single(p.PortA.Offloaded);
            Assert.Equal(VirtioGsoType.UdpL4, info.Virtio.GsoType);
            Assert.Equal(1200, info.Virtio.GsoSize);
            Assert.True(info.Virtio.NeedsChecksum);
            Assert.Equal(EthernetFrame.HeaderLength + (ipv6 ? 40 : 20) + 8 + second.Length, length);
            Assert.Equal(softwareBefore, p.A.Statistics.SegmentsBuiltInSoftware);
        }
        else
        {
            Assert.Empty(p.PortA.Offloaded);
            Assert.Equal(softwareBefore + 41, p.A.Statistics.SegmentsBuiltInSoftware);
        }
        Assert.Equal(dropsBefore, p.A.Statistics.TotalDrops + p.B.Statistics.TotalDrops);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_train_a_datagram_of_which_exceeds_the_MTU_or_with_too_many_datagrams_is_refused(bool ipv6)
    {
        var p = new Pair(uso: true);
        var (a, b) = ipv6 ? (A6, B6) : (A4, B4);
        using var tx = p.UdpA.Bind(new IpEndpoint(a, 5000));
        var to = new IpEndpoint(b, 6000);
        Assert.Equal(IpSendResult.TooBig, tx.SendSegmented(new byte[3000], 1500, to, IpSendOptions.Default, p.Now));
        Assert.Equal(IpSendResult.TooBig, tx.SendSegmented(new byte[(UdpSocket.MaxSegments + 1) * 100], 100, to, IpSendOptions.Default, p.Now));
        Assert.Equal(IpSendResult.TooBig, tx.SendSegmented(new byte[65530], 1400, to, IpSendOptions.Default, p.Now));
        Assert.Throws<ArgumentOutOfRangeException>(() => tx.SendSegmented(new byte[100], 0, to, IpSendOptions.Default, p.Now));
        Assert.Equal(0, p.A.Statistics.UdpSuperDatagramsSent);
    }

    [Fact]
    public void A_train_no_longer_than_one_segment_is_one_plain_datagram()
    {
        var p = new Pair(uso: true);
        using var tx = p.UdpA.Bind(new IpEndpoint(A4, 5000));
        using var rx = p.UdpB.Bind(new IpEndpoint(B4, 6000));
        Assert.Equal(IpSendResult.Sent, tx.SendSegmented(Pattern(800, 3), 1000, new IpEndpoint(B4, 6000), IpSendOptions.Default, p.Now));
        p.Run(TimeSpan.FromMilliseconds(50));
        AssertTrain(Pattern(800, 3), 1000, Drain(rx));
        Assert.Equal(0, p.A.Statistics.UdpSuperDatagramsSent);
    }
}
