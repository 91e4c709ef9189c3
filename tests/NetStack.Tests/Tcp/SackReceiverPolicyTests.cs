using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// The receiver's ACK policy under loss (issue 13, loss recovery): SACK blocks repeat the most recently reported ones
/// (RFC 2018 §4), so one lost ACK does not hide a block from the sender; and SACK compression as Linux's tcp_comp_sack:
/// the first three duplicate ACKs for one RCV.NXT go at once (RFC 5681 §4.2), later SACKs wait min(1 ms, RTT/20) or
/// 44 segments and go as one.
/// </summary>
public sealed class SackReceiverPolicyTests
{
    private const int Mss = 1000;

    private static byte[] Data(int n) => new byte[n];

    [Theory, BothFamilies]
    public void Blocks_after_the_first_repeat_the_most_recently_reported_ones(IpVersion family)
    {
        // Holes at 0, 2, 4, 6, 8 (x MSS); blocks arrive 9, 7, 5, 3, 1. With four blocks held the ACK for block 1 must
        // repeat 3 and 5 (reported in the last ACKs), not the lowest ranges in sequence order.
        var b = new TcpBench(new TcpSettings { SackCompressionDelay = TimeSpan.Zero }, family: family);
        b.Accept(); // timestamps on: three blocks fit
        var s = b.PeerSeq;
        foreach (int k in new[] { 9, 7, 5, 3, 1 })
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
        var acks = b.TakeSent();
        Assert.Equal(5, acks.Count);
        SackBlock B(int k) => new(s + k * Mss, s + (k + 1) * Mss);
        var last = acks[^1].Repr.SackBlocks;
        Assert.Equal(3, last.Count);
        Assert.Equal(B(1), last[0]); // RFC 2018 §4: the most recent segment first
        Assert.Equal(B(3), last[1]); // then the blocks of the previous ACK, most recent first
        Assert.Equal(B(5), last[2]);
        var before = acks[^2].Repr.SackBlocks;
        Assert.Equal(new[] { B(3), B(5), B(7) }, new[] { before[0], before[1], before[2] });

        // A block that grew is repeated as it is now: 4 fills 3..5 into one range 3..6.
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 4 * Mss);
        var merged = b.Single().Repr.SackBlocks;
        Assert.Equal(new SackBlock(s + 3 * Mss, s + 6 * Mss), merged[0]);
        Assert.Equal(B(1), merged[1]);
        Assert.Equal(B(7), merged[2]); // 5 was merged into the first: the next most recent one, then
    }

    [Theory, BothFamilies]
    public void A_block_completed_while_SACKs_were_held_is_reported_in_the_next_ACK(IpVersion family)
    {
        // Holes at 0, 2, 6 and 9..10 (x MSS). 1, 3, 4 are acknowledged at once (three duplicate ACKs); 5, 7, 8, 11 wait
        // (SACK compression). The ACK that goes then must carry 7..9, which no ACK reported yet, right after 11.
        var b = new TcpBench(family: family);
        b.Accept();
        var s = b.PeerSeq;
        foreach (int k in new[] { 1, 3, 4 })
        {
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
            Assert.Equal(s, b.Single().Ack);
        }
        foreach (int k in new[] { 5, 7, 8, 11 }) b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
        b.Poll();
        b.Nothing();
        b.Advance(TimeSpan.FromMilliseconds(1));
        var sack = b.Single().Repr.SackBlocks;
        Assert.Equal(3, sack.Count);
        Assert.Equal(new SackBlock(s + 11 * Mss, s + 12 * Mss), sack[0]);
        Assert.Equal(new SackBlock(s + 7 * Mss, s + 9 * Mss), sack[1]);
        Assert.Equal(new SackBlock(s + 3 * Mss, s + 6 * Mss), sack[2]);
    }

    [Theory, BothFamilies]
    public void Each_block_is_reported_in_three_ACKs_so_one_lost_ACK_hides_nothing(IpVersion family)
    {
        // Ten blocks arriving from the highest down: every block is in the ACK that reports it first and the next two.
        var b = new TcpBench(new TcpSettings { SackCompressionDelay = TimeSpan.Zero }, family: family);
        b.Accept();
        var s = b.PeerSeq;
        var order = Enumerable.Range(1, 10).Select(i => 2 * (11 - i)).ToArray(); // 20, 18, ..., 2
        foreach (int k in order) b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
        var acks = b.TakeSent();
        Assert.Equal(order.Length, acks.Count);
        for (int i = 0; i < order.Length; i++)
        {
            var block = new SackBlock(s + order[i] * Mss, s + (order[i] + 1) * Mss);
            for (int j = i; j < Math.Min(i + 3, order.Length); j++)
            {
                var blocks = acks[j].Repr.SackBlocks;
                Assert.Contains(block, Enumerable.Range(0, blocks.Count).Select(x => blocks[x]));
            }
        }
    }

    [Theory, BothFamilies]
    public void After_three_duplicate_ACKs_SACKs_are_compressed_into_one_within_RTT_over_20(IpVersion family)
    {
        var b = new TcpBench(family: family); // default: at most 1 ms, 44 segments
        var c = b.Accept(handshakeRtt: TimeSpan.FromMilliseconds(10));
        Assert.Equal(TimeSpan.FromMilliseconds(10), c.SmoothedRtt);
        var s = b.PeerSeq;
        // A hole at s; ten segments beyond it.
        for (int i = 1; i <= 3; i++)
        {
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + i * Mss);
            Assert.Equal(s, b.Single().Ack); // the first three duplicate ACKs go at once (RFC 5681 §4.2)
        }
        for (int i = 4; i <= 10; i++) b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + i * Mss);
        b.Poll();
        b.Nothing(); // held
        Assert.Equal(7, b.Layer.Stats.SacksCompressed);
        b.Advance(TimeSpan.FromMicroseconds(499));
        b.Nothing();
        b.Advance(TimeSpan.FromMicroseconds(1));
        var ack = b.Single(); // one ACK for the seven, RTT/20 = 500 µs after the first was held
        Assert.Equal(s, ack.Ack);
        Assert.Equal(new SackBlock(s + Mss, s + 11 * Mss), ack.Repr.SackBlocks[0]);

        // The hole filled: an immediate ACK (RFC 5681 §4.2), and the count starts again for the new RCV.NXT.
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s);
        Assert.Equal(s + 11 * Mss, b.Single().Ack);
    }

    [Fact]
    public void A_compressed_SACK_goes_at_once_after_44_segments_and_a_duplicate_at_once()
    {
        var b = new TcpBench();
        b.Accept();
        var s = b.PeerSeq;
        for (int i = 1; i <= 3; i++) b.PeerSends(TcpFlags.Ack, Data(100), seq: s + i * 100);
        Assert.Equal(3, b.TakeSent().Count);
        for (int i = 4; i <= 3 + 44; i++) b.PeerSends(TcpFlags.Ack, Data(100), seq: s + i * 100);
        b.Poll();
        b.Nothing(); // 44 held
        b.PeerSends(TcpFlags.Ack, Data(100), seq: s + 48 * 100);
        b.Poll();
        var ack = b.Single(); // the 45th goes at once (Linux: tcp_comp_sack_nr = 44)
        Assert.Equal(new SackBlock(s + 100, s + 49 * 100), ack.Repr.SackBlocks[0]);
        // A duplicate below RCV.NXT is answered at once with its D-SACK (RFC 2883 §4), holes or not.
        b.PeerSends(TcpFlags.Ack, Data(100), seq: s + 49 * 100);
        b.Poll();
        b.Nothing(); // held again (the count restarted with the ACK)
        b.PeerSends(TcpFlags.Ack, Data(100), seq: s);
        Assert.Equal(s + 50 * 100, b.Single().Ack); // the hole filled: at once
        b.PeerSends(TcpFlags.Ack, Data(100), seq: s + 200);
        var dsack = b.Single();
        Assert.Equal(new SackBlock(s + 200, s + 300), dsack.Repr.SackBlocks[0]);
    }

    [Fact]
    public void SACK_compression_off_sends_a_duplicate_ACK_for_every_out_of_order_segment()
    {
        var b = new TcpBench(new TcpSettings { SackCompressionDelay = TimeSpan.Zero });
        b.Accept();
        var s = b.PeerSeq;
        for (int i = 1; i <= 10; i++)
        {
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + i * Mss);
            Assert.Equal(s, b.Single().Ack);
        }
        Assert.Equal(0, b.Layer.Stats.SacksCompressed);
    }
}
