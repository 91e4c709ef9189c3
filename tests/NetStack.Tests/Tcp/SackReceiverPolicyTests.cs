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

    [Theory, BothFamilies]
    public void A_held_SACK_goes_before_a_new_range_would_leave_a_block_out_of_every_ACK(IpVersion family)
    {
        // RFC 2018 §4: report as many distinct blocks as possible. Timestamps on: three blocks per ACK. Holes at 0, 2, 4, ...
        // (x MSS); 1, 3, 5 are acknowledged at once (three duplicate ACKs), then 7, 9, 11, 13 wait (SACK compression).
        // Four new ranges do not fit in the one compressed ACK: without a flush the sender would never hear of 7 and would
        // retransmit it. The ACK owed for 7, 9, 11 goes when 13 arrives; 13 waits for the next one.
        var b = new TcpBench(family: family);
        b.Accept(handshakeRtt: TimeSpan.FromMilliseconds(10));
        var s = b.PeerSeq;
        SackBlock B(int k) => new(s + k * Mss, s + (k + 1) * Mss);
        foreach (int k in new[] { 1, 3, 5 })
        {
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
            Assert.Equal(s, b.Single().Ack);
        }
        foreach (int k in new[] { 7, 9, 11 }) b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
        b.Poll();
        b.Nothing(); // held
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 13 * Mss);
        var flushed = b.Single().Repr.SackBlocks;
        Assert.Equal(new[] { B(11), B(9), B(7) }, Enumerable.Range(0, flushed.Count).Select(x => flushed[x]));
        Assert.Equal(1, b.Layer.Stats.SacksFlushedForBlocks);
        b.Poll();
        b.Nothing(); // 13 is held in its turn
        b.Advance(TimeSpan.FromMilliseconds(1));
        var next = b.Single().Repr.SackBlocks;
        Assert.Equal(new[] { B(13), B(11), B(9) }, Enumerable.Range(0, next.Count).Select(x => next[x]));

        // A segment that extends a range reported since the last ACK makes no new block: it waits.
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 14 * Mss);
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 16 * Mss);
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 18 * Mss);
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 19 * Mss);
        b.Poll();
        b.Nothing();
        Assert.Equal(1, b.Layer.Stats.SacksFlushedForBlocks);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Under_random_loss_the_first_ACK_after_a_segment_reports_it(int seed)
    {
        // Segments sent in order in rounds of 20, 10 % of them lost (seeded), 3 % sent twice (spurious retransmissions),
        // each round's losses resent after the next round; ACK timers fire only between rounds (a loaded receiver's loop:
        // SACKs held for up to 20 segments). The first ACK sent after a segment arrives must report it, in a SACK block or
        // cumulatively: else the sender sees data sent after it delivered and not it, and RACK retransmits data we hold
        // (RFC 2018 §4: as many distinct blocks as possible, the most recent first; RFC 2883 §4 for the D-SACK blocks).
        var b = new TcpBench(new TcpSettings { ReceiveBufferSize = 1 << 20, ReceiveBufferMax = 1 << 20 }); // no reader
        b.Accept(handshakeRtt: TimeSpan.FromMilliseconds(10));
        var s = b.PeerSeq;
        var rng = new Random(seed);
        const int rounds = 30, per = 20;
        var log = new System.Text.StringBuilder();
        var pending = new HashSet<int>(); // arrived since the last ACK
        int acks = 0;
        long flushes = 0;
        void Check(int arriving = -1)
        {
            var sent = b.TakeSent();
            // ACKs owed for earlier segments may go just before the arriving one is taken (flushes, counted): it must be
            // reported in the next ACK after them.
            int flushed = (int)(b.Layer.Stats.SacksFlushedForBlocks - flushes);
            flushes = b.Layer.Stats.SacksFlushedForBlocks;
            for (int i = 0; i < sent.Count; i++)
            {
                if (i == flushed && arriving >= 0) pending.Add(arriving);
                var a = sent[i];
                acks++;
                var blocks = a.Repr.SackBlocks;
                log.Append($" ACK{(a.Ack - s) / Mss}[{string.Join(",", Enumerable.Range(0, blocks.Count).Select(x => $"{(blocks[x].Left - s) / Mss}-{(blocks[x].Right - s) / Mss}"))}]");
                foreach (int k in pending)
                {
                    var seq = s + k * Mss;
                    bool reported = seq < a.Ack;
                    for (int x = 0; x < blocks.Count && !reported; x++) reported = blocks[x].Left <= seq && seq + Mss <= blocks[x].Right;
                    Assert.True(reported, $"seed {seed}: segment {k} not reported in the first ACK after it:{log}");
                }
                pending.Clear();
            }
            if (sent.Count <= flushed && arriving >= 0) pending.Add(arriving);
        }
        void Arrive(int k)
        {
            log.Append($" {k}");
            b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
            b.Poll();
            Check(k);
        }
        var lostBefore = new List<int>();
        for (int r = 0; r <= rounds; r++)
        {
            var lost = new List<int>();
            for (int k = r * per; r < rounds && k < (r + 1) * per; k++)
            {
                if (k == 0 || rng.NextDouble() < 0.10) { lost.Add(k); continue; }
                Arrive(k);
                if (k > 4 && rng.NextDouble() < 0.03) Arrive(k - rng.Next(1, 5)); // received or lost: either way
            }
            foreach (int k in lostBefore) Arrive(k);
            lostBefore = lost;
            b.Advance(TimeSpan.FromMilliseconds(1));
            Check();
        }
        Assert.Empty(pending);
        Assert.True(acks < rounds * per / 2, $"seed {seed}: {acks} ACKs: SACKs are still compressed");
    }

    [Theory, BothFamilies]
    public void A_duplicate_of_out_of_order_data_is_D_SACKed_with_the_block_that_holds_it(IpVersion family)
    {
        // RFC 2883 §4: a duplicate above the cumulative ACK: the D-SACK block first, then the SACK block containing it.
        var b = new TcpBench(family: family);
        b.Accept(handshakeRtt: TimeSpan.FromMilliseconds(10));
        var s = b.PeerSeq;
        foreach (int k in new[] { 2, 3, 4 }) b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + k * Mss);
        Assert.Equal(3, b.TakeSent().Count); // three duplicate ACKs at once
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 7 * Mss);
        b.Poll();
        b.Nothing(); // compressed
        long before = b.Layer.Stats.DsacksSent;
        b.PeerSends(TcpFlags.Ack, Data(Mss), seq: s + 3 * Mss); // a spurious retransmission of data we hold
        var sent = b.TakeSent();
        Assert.Equal(2, sent.Count);
        // First the ACK held for 7 (the D-SACK block must not crowd a block out), then the D-SACK.
        var held = sent[0].Repr.SackBlocks;
        Assert.Equal(new[] { new SackBlock(s + 7 * Mss, s + 8 * Mss), new SackBlock(s + 2 * Mss, s + 5 * Mss) },
            Enumerable.Range(0, held.Count).Select(x => held[x]));
        var ack = sent[1];
        Assert.Equal(s, ack.Ack);
        var blocks = ack.Repr.SackBlocks;
        Assert.Equal(3, blocks.Count);
        Assert.Equal(new SackBlock(s + 3 * Mss, s + 4 * Mss), blocks[0]); // D-SACK
        Assert.Equal(new SackBlock(s + 2 * Mss, s + 5 * Mss), blocks[1]); // the block that holds it
        Assert.Equal(new SackBlock(s + 7 * Mss, s + 8 * Mss), blocks[2]);
        Assert.Equal(before + 1, b.Layer.Stats.DsacksSent);
    }
}
