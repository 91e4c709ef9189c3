using CsCheck;
using NetStack.Network;
using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>Hostile input is normal input: random segments never throw; steady-state data transfer does not allocate.</summary>
public sealed class TcpRobustnessTests
{
    [Fact]
    public void Random_segments_at_every_state_never_throw()
    {
        var gen =
            from flags in Gen.UShort[0, 0x1FF]
            from seqDelta in Gen.Int[-70000, 70000]
            from ackDelta in Gen.Int[-70000, 70000]
            from window in Gen.UShort
            from len in Gen.Int[0, 300]
            from ts in Gen.UInt
            from nsack in Gen.Int[0, 3]
            from sackDelta in Gen.Int[-5000, 5000].Array[6]
            select (flags, seqDelta, ackDelta, window, len, ts, nsack, sackDelta);
        gen.Array[1, 30].Sample(segments =>
        {
            var b = new TcpBench(new TcpSettings { TimeWait = TimeSpan.FromSeconds(1) });
            var c = b.Accept();
            c.Send(new byte[5000]);
            b.Poll();
            foreach (var (flags, seqDelta, ackDelta, window, len, ts, nsack, sackDelta) in segments)
            {
                var sack = new TcpSackBlocks();
                for (int i = 0; i < nsack; i++) sack.TryAdd(new SackBlock(b.OurSeq + sackDelta[2 * i], b.OurSeq + sackDelta[2 * i + 1]));
                b.PeerSends((TcpFlags)flags, data: new byte[len], seq: b.PeerSeq + seqDelta, ack: b.OurSeq + ackDelta, window: window, sack: sack, tsVal: ts);
                if (c.Receive(new byte[1000]) > 0 && c.State == TcpState.CloseWait) c.Close();
                b.Advance(TimeSpan.FromMilliseconds(300));
                b.TakeSent();
            }
            b.RunUntil(b.Now + TimeSpan.FromMinutes(30));
        }, iter: 300);
    }

    [Fact]
    public void Garbage_to_a_listener_never_throws()
    {
        Gen.Byte.Array[20, 80].Sample(bytes =>
        {
            var ip = new CapturingIpLayer(TcpBench.Us);
            var layer = new TcpLayer(ip, new SeededRandom(1));
            layer.Listen(new IpEndpoint(TcpBench.Us, 80), 2);
            bytes[2] = 0; bytes[3] = 80;
            if (TcpSegment.TryParse(bytes, out var seg, out _))
            {
                // Give it a valid checksum so it reaches the state machine.
                var repr = seg.ToRepr();
                var buf = new byte[repr.BufferLength(seg.Payload.Length)];
                repr.Write(buf, seg.Payload, TcpBench.Peer, TcpBench.Us);
                bytes = buf;
            }
            layer.Receive(new IpPacketInfo(TcpBench.Peer, TcpBench.Us, IpProtocol.Tcp, 64, 0, 0, 0, false), bytes, Instant.FromSeconds(1));
            layer.Poll(Instant.FromSeconds(100));
        }, iter: 5_000);
    }

    [Fact]
    public void Steady_state_receiving_and_acknowledging_does_not_allocate()
    {
        // DESIGN.md principle 4: no allocation per packet in steady state.
        var b = new TcpBench();
        var c = b.Accept();
        var layerField = b.Layer;
        var info = new IpPacketInfo(TcpBench.Peer, TcpBench.Us, IpProtocol.Tcp, 64, 0, 0, 0, false);
        const int count = 200;
        var segments = new byte[count][];
        var seq = b.PeerSeq;
        for (int i = 0; i < count; i++)
        {
            var repr = new TcpRepr
            {
                SourcePort = TcpBench.PeerPort, DestinationPort = TcpBench.UsPort, SequenceNumber = seq, AckNumber = b.OurSeq,
                Flags = TcpFlags.Ack, Window = 65535, Timestamps = new TcpTimestamps(10_000u + (uint)i, b.LastOurTsVal),
            };
            segments[i] = new byte[repr.BufferLength(1000)];
            repr.Write(segments[i], new byte[1000], TcpBench.Peer, TcpBench.Us);
            seq += 1000;
        }
        var sink = new byte[4096];
        // Warm up (JIT, first-use paths) with the first half, then measure the second half.
        var now = b.Now;
        for (int i = 0; i < count / 2; i++) { layerField.Receive(info, segments[i], now); c.Receive(sink); }
        b.Ip.Sent.Clear();
        b.Ip.Sent.Capacity = 1000;
        b.Ip.Options.Capacity = b.Ip.Options.Count + 1000;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = count / 2; i < count; i++) { layerField.Receive(info, segments[i], now); c.Receive(sink); layerField.Poll(now); }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long capturedArrays = b.Ip.Sent.Sum(s => (long)s.Bytes.Length + 32); // the fake IP layer's own copies
        Assert.True(allocated <= capturedArrays + 64, $"allocated {allocated} bytes for {count / 2} segments ({b.Ip.Sent.Count} sent, {capturedArrays} by the fake)");
    }
}
