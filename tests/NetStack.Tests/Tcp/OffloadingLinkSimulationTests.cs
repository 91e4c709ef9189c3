using NetStack.Link;
using NetStack.Wire;
using NetStack.Simulation;
using NetStack.Transport.Tcp;

namespace NetStack.Tests.Tcp;

/// <summary>
/// TCP between two stacks over an <see cref="InMemoryLink"/> with a veth's offloads (<see cref="LinkOptions.VethOffloads"/>,
/// issue 12), in the seeded simulator, both families: 64 KB TSO super-frames with partial checksums cross whole and reach
/// the receiver as one segment each with a trusted checksum, every byte arrives intact; with a <see cref="FaultInjector"/>
/// on the sending ends the wire frames, losses and retransmissions are exactly those of a link without offloads (loss
/// recovery per MSS); with loss on the receiving side the injector cuts each received super-frame into its wire segments
/// and loses segments, not super-frames, and TCP recovers.
/// </summary>
public sealed class OffloadingLinkSimulationTests
{
    private static readonly TcpSettings Settings = new() { SendBufferSize = 256 * 1024, ReceiveBufferSize = 256 * 1024 };

    [Theory]
    [InlineData(false, 41UL)]
    [InlineData(true, 42UL)]
    public void Super_frames_cross_whole_and_every_byte_arrives(bool v6, ulong seed)
    {
        Seeded.Run(seed, () =>
        {
            const int bytes = 4 << 20;
            using var pair = new SimTcpPair(seed, v6 ? IpVersion.V6 : IpVersion.V4, TimeSpan.FromMilliseconds(2), settings: Settings,
                linkOffloads: LinkOptions.VethOffloads, injectors: false);
            var o = pair.Transfer(bytes, TimeSpan.FromMinutes(5));
            Assert.True(o.Intact, $"seed {seed}: {o.Received} of {bytes} bytes");
            var link = pair.Link.AToBStatistics;
            Assert.True(link.SuperFrames > 0, $"seed {seed}: no super-frame crossed: {link}");
            Assert.Equal(0, link.SegmentedOnDelivery + link.OffloadDrops + link.MtuDrops + link.QueueDrops);
            Assert.Equal(0, pair.A.Statistics.SegmentsBuiltInSoftware);
            Assert.True(pair.A.Statistics.SuperFramesTransmitted > 0);
            Assert.Equal(link.SuperFrames, pair.B.Statistics.SuperFramesReceived);
            Assert.True(pair.B.Statistics.ChecksumOffloadedFrames > 0);
            Assert.True(link.Sent < bytes / 1448 / 4, $"seed {seed}: {link.Sent} frames for {bytes} bytes");
            Assert.Equal(0, pair.TcpA.Stats.Retransmissions);
            foreach (var reason in Enum.GetValues<DropReason>().Where(r => r.ToString().StartsWith("Offload", StringComparison.Ordinal)))
                Assert.Equal(0, pair.B.Statistics.Drops(reason));
        });
    }

    [Theory]
    [InlineData(false, 0.02, 43UL)]
    [InlineData(true, 0.02, 44UL)]
    public void With_a_fault_injector_between_loss_and_recovery_are_per_MSS_as_without_offloads(bool v6, double loss, ulong seed)
    {
        Seeded.Run(seed, () =>
        {
            const int bytes = 3 << 20;
            var family = v6 ? IpVersion.V6 : IpVersion.V4;
            using var plain = new SimTcpPair(seed, family, TimeSpan.FromMilliseconds(5), loss, Settings);
            var p = plain.Transfer(bytes, TimeSpan.FromMinutes(10));
            using var veth = new SimTcpPair(seed, family, TimeSpan.FromMilliseconds(5), loss, Settings, linkOffloads: LinkOptions.VethOffloads);
            var v = veth.Transfer(bytes, TimeSpan.FromMinutes(10));
            Assert.True(p.Intact && v.Intact, $"seed {seed}: intact {p.Intact} (no offloads), {v.Intact} (offloads)");
            Assert.True(veth.TcpA.Stats.Retransmissions > 0, $"seed {seed}: no loss recovery exercised");
            // The injector cut every super-frame into wire frames before its faults: the same frames, drops and retransmissions.
            Assert.True(veth.A.Statistics.SuperFramesTransmitted > 0, $"seed {seed}: the stack sent no super-frame");
            Assert.Equal(0, veth.Link.AToBStatistics.SuperFrames);
            Assert.Equal(plain.Link.AToBStatistics.Sent, veth.Link.AToBStatistics.Sent);
            Assert.Equal(plain.FaultA!.TransmitStatistics.Dropped, veth.FaultA!.TransmitStatistics.Dropped);
            Assert.Equal(plain.TcpA.Stats.SegmentsSent, veth.TcpA.Stats.SegmentsSent);
            Assert.Equal(plain.TcpA.Stats.Retransmissions, veth.TcpA.Stats.Retransmissions);
            Assert.Equal(p.Elapsed, v.Elapsed);
        });
    }

    [Theory]
    [InlineData(false, 45UL)]
    [InlineData(true, 46UL)]
    public void Received_super_frames_are_faulted_per_wire_segment_and_recovered(bool v6, ulong seed)
    {
        Seeded.Run(seed, () =>
        {
            const int bytes = 3 << 20;
            using var pair = new SimTcpPair(seed, v6 ? IpVersion.V6 : IpVersion.V4, TimeSpan.FromMilliseconds(5), settings: Settings,
                linkOffloads: LinkOptions.VethOffloads, receiveLossB: 0.05, injectors: false);
            var o = pair.Transfer(bytes, TimeSpan.FromMinutes(10));
            Assert.True(o.Intact, $"seed {seed}: {o.Received} of {bytes} bytes");
            Assert.True(pair.Link.AToBStatistics.SuperFrames > 0);
            Assert.True(pair.FaultB!.ReceiveStatistics.Dropped > 0, $"seed {seed}: nothing was dropped");
            Assert.True(pair.TcpA.Stats.Retransmissions > 0);
            // Faults count wire frames: more than the frames (super-frames among them) that crossed the link.
            Assert.True(pair.FaultB.ReceiveStatistics.Frames > pair.Link.AToBStatistics.Delivered,
                $"seed {seed}: {pair.FaultB.ReceiveStatistics} for {pair.Link.AToBStatistics}");
        });
    }
}
