using System.Buffers.Binary;
using NetStack.Tests.Support;
using NetStack.Wire;
using SimFrame = NetStack.Simulation.CapturedFrame;

namespace NetStack.Tests.Replay;

/// <summary>The kernel replay harness itself: masks hide only what they name, and a real difference fails with the tshark field.</summary>
public class KernelReplayHarnessTests
{
    private const ulong Seed = 1;

    [Fact]
    public void Every_kernel_golden_holds_peer_requests_kernel_answers_and_ends_with_the_marker()
    {
        var goldens = Directory.EnumerateFiles(Path.Combine(CapturePaths.Directory, "golden"), "kernel-*.pcap").ToList();
        Assert.Equal(14, goldens.Count);
        foreach (var path in goldens)
        {
            var frames = PcapReplay.Read(path);
            var last = frames[^1].Data;
            Assert.True(BinaryPrimitives.ReadUInt16BigEndian(last.AsSpan(12)) == 0x88B5, $"{path}: no end marker");
            Assert.Contains(frames, f => MacAddress.Read(f.Data.AsSpan(6)) == KernelReplay.KernelMac);
            Assert.All(frames, f => Assert.True(MacAddress.Read(f.Data.AsSpan(6)) == KernelReplay.KernelMac
                || MacAddress.Read(f.Data.AsSpan(6)) == KernelReplay.PeerMac, $"{path}: a frame from a third party"));
        }
    }

    [Fact]
    public void A_difference_outside_the_masks_fails_with_the_tshark_field_that_differs()
    {
        var outcome = KernelReplay.Run("kernel-tcp6-open.pcap", KernelReplay.KernelV6, Seed);
        var ours = outcome.Actual.ToList();
        int synAck = ours.FindIndex(f => f.Data.Length > 14 + 40 + 13 && f.Data[14 + 6] == (byte)IpProtocol.Tcp);
        var changed = (byte[])ours[synAck].Data.Clone();
        changed[14 + 7]--; // hop limit: not masked
        ours[synAck] = ours[synAck] with { Data = changed };

        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => KernelReplay.AssertSameAsKernel(outcome with { Actual = ours },
            "kernel-tcp6-open.pcap", Seed, FieldMask.Ipv6FlowLabel, FieldMask.TcpInitialSequenceNumber, FieldMask.TcpSynWindow, FieldMask.TcpSynOptions));
        Assert.Contains("Hop Limit: 63", e.Message, StringComparison.Ordinal);
        Assert.Contains("masked: IPv6 flow label, TCP ISN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_frame_later_than_the_tolerance_fails_with_its_time()
    {
        var outcome = KernelReplay.Run("kernel-arp.pcap", null, Seed);
        var late = outcome.Actual.Select(f => f with { Timestamp = f.Timestamp + TimeSpan.FromMilliseconds(60) }).ToList();
        var e = Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => KernelReplay.AssertSameAsKernel(outcome with { Actual = late }, "kernel-arp.pcap", Seed));
        Assert.Contains("time: expected", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SYN_option_mask_keeps_the_option_set_and_MSS_compared()
    {
        var outcome = KernelReplay.Run("kernel-tcp-open.pcap", KernelReplay.KernelV4, Seed);
        var kernelSynAck = outcome.Expected.Single(f => f.Data.Length > 14 + 20 + 13 && f.Data[14 + 9] == (byte)IpProtocol.Tcp);
        // The kernel's SYN-ACK with its MSS option lowered by one: still a difference after masking.
        var data = (byte[])kernelSynAck.Data.Clone();
        int options = 14 + 20 + 20;
        Assert.Equal(2, data[options]); // MSS first, as Linux writes it
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(options + 2), (ushort)(BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(options + 2)) - 1));
        FixTcpChecksum(data);
        var masks = new[] { FieldMask.Ipv4Identification, FieldMask.TcpInitialSequenceNumber, FieldMask.TcpSynWindow, FieldMask.TcpSynOptions };
        var a = FieldMask.ApplyAll(masks, [kernelSynAck]);
        var b = FieldMask.ApplyAll(masks, [kernelSynAck with { Data = data }]);
        Assert.False(a[0].Data.AsSpan().SequenceEqual(b[0].Data));
        // ...while a different window-scale shift and TSval are masked.
        data = (byte[])kernelSynAck.Data.Clone();
        int i = options;
        while (data[i] != 8) i += data[i] == 1 ? 1 : data[i + 1];
        data[i + 2] ^= 0xFF; // TSval
        i = options;
        while (data[i] != 3) i += data[i] == 1 ? 1 : data[i + 1];
        data[i + 2] = 2; // shift
        FixTcpChecksum(data);
        var c = FieldMask.ApplyAll(masks, [kernelSynAck with { Data = data }]);
        Assert.True(a[0].Data.AsSpan().SequenceEqual(c[0].Data));
    }

    /// <summary>Recomputes the TCP checksum of an Ethernet + IPv4 (no options) + TCP frame.</summary>
    private static void FixTcpChecksum(byte[] frame)
    {
        var segment = frame.AsSpan(14 + 20, BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(14 + 2)) - 20);
        segment[16..18].Clear();
        ulong pseudo = Checksum.PseudoHeaderV4(Ipv4Address.Read(frame.AsSpan(14 + 12)), Ipv4Address.Read(frame.AsSpan(14 + 16)), (byte)IpProtocol.Tcp, segment.Length);
        BinaryPrimitives.WriteUInt16BigEndian(segment[16..], Checksum.Compute(segment, pseudo));
    }

    [Fact]
    public void Identification_renumbering_keeps_fragments_of_one_datagram_together()
    {
        var kernel = KernelReplay.Run("kernel-icmp-echo-frag.pcap", null, Seed).Expected;
        var masked = FieldMask.ApplyAll([FieldMask.Ipv4Identification], kernel);
        var ids = masked.Where(f => BinaryPrimitives.ReadUInt16BigEndian(f.Data.AsSpan(12)) == 0x0800)
            .Select(f => BinaryPrimitives.ReadUInt16BigEndian(f.Data.AsSpan(14 + 4))).ToList();
        Assert.Equal([1, 1, 1], ids);
    }
}
