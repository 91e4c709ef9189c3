using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// RTT measurement from the segments' send times in µs (as Linux's tcp_mstamp), not from the 1 ms RFC 7323 timestamp
/// clock, which rounds a LAN's round trip to 0; Karn's rule (RFC 6298 §3) keeps retransmitted segments out. And the
/// delivery rate estimator runs only for a controller that reads its samples.
/// </summary>
public sealed class SendTimeRttTests
{
    private static readonly TimeSpan LanRtt = TimeSpan.FromMicroseconds(200);

    [Theory]
    [InlineData(1UL, false)]
    [InlineData(5UL, true)]
    public void On_a_200_us_LAN_SRTT_is_measured_in_microseconds(ulong seed, bool ipv6)
    {
        var sim = new TcpSimulation(seed, new PathConditions(LanRtt), ipv6: ipv6);
        var bulk = new BulkTransfer(sim, 2_000_000);
        Assert.True(bulk.Run(TimeSpan.FromSeconds(30)), $"seed {seed}: {bulk.Describe()}");
        Assert.True(bulk.Intact, $"seed {seed}: {bulk.Describe()}");
        var srtt = bulk.Client.SmoothedRtt;
        // The round trip is 200 µs; the first segment of an ACKed pair waits for the second's send, so a sample may
        // exceed it a little. A 1 ms timestamp clock gives samples of 0 or 1 ms here.
        Assert.True(srtt >= TimeSpan.FromMicroseconds(150) && srtt <= TimeSpan.FromMicroseconds(600),
            $"seed {seed}: SRTT {srtt.TotalMicroseconds} µs, link RTT 200 µs");
        var stats = sim.A.Stats;
        Assert.True(stats.RttSamplesFromSendTime > 100, $"seed {seed}: {stats.RttSamplesFromSendTime} send-time samples of {stats.RttSamples}");
    }

    [Theory]
    [InlineData(3UL)]
    [InlineData(9UL)]
    public void Under_loss_SRTT_stays_near_the_link_RTT_and_retransmissions_give_no_sample(ulong seed)
    {
        // 5 % loss both ways: many ACKs cover retransmitted segments (Karn: no sample from them) and many samples come
        // from newly SACKed segments; none of it may pull SRTT toward the RTO or the retransmission delay.
        var sim = new TcpSimulation(seed, new PathConditions(LanRtt, Loss: 0.05));
        var bulk = new BulkTransfer(sim, 1_000_000);
        Assert.True(bulk.Run(TimeSpan.FromSeconds(120)), $"seed {seed}: {bulk.Describe()}");
        Assert.True(bulk.Intact, $"seed {seed}: {bulk.Describe()}");
        var srtt = bulk.Client.SmoothedRtt;
        Assert.True(srtt >= TimeSpan.FromMicroseconds(150) && srtt <= TimeSpan.FromMilliseconds(2),
            $"seed {seed}: SRTT {srtt.TotalMicroseconds} µs, link RTT 200 µs");
    }

    [Fact]
    public void The_ACK_of_a_retransmitted_segment_gives_no_send_time_sample()
    {
        // RFC 6298 §3 (Karn): the ACK may be for either transmission. Without timestamps there is no other measure: SRTT
        // keeps the first data ACK's 10 ms though the ACK comes 1 ms after the retransmission and a full RTO after the original.
        var b = new TcpBench(new TcpSettings { Timestamps = false });
        var c = b.Accept(options: false);
        c.Send(new byte[100]);
        b.Poll();
        var timed = b.Single();
        b.Advance(TimeSpan.FromMilliseconds(10));
        b.PeerSends(TcpFlags.Ack, ack: timed.Seq + 100);
        Assert.Equal(TimeSpan.FromMilliseconds(10), c.SmoothedRtt); // the first sample
        long samples = b.Layer.Stats.RttSamples;
        c.Send(new byte[100]);
        b.Poll();
        var first = b.Single();
        b.RunUntil(b.Now + TimeSpan.FromSeconds(1));
        var rtx = b.TakeSent().Where(s => s.Payload.Length > 0).ToList();
        Assert.NotEmpty(rtx);
        Assert.Equal(first.Seq, rtx[0].Seq);
        b.Advance(TimeSpan.FromMilliseconds(1));
        b.PeerSends(TcpFlags.Ack, ack: first.Seq + 100);
        Assert.Equal(0, c.SendQueueLength);
        Assert.Equal(samples, b.Layer.Stats.RttSamples);
        Assert.Equal(TimeSpan.FromMilliseconds(10), c.SmoothedRtt);
    }

    [Fact]
    public void A_cumulative_ACK_is_timed_from_the_earliest_segment_it_acknowledges()
    {
        // Linux's tcp_clean_rtx_queue: seq_rtt from the first newly acknowledged segment's send time (RFC 6298 §2 input),
        // in µs: 250 µs after the first of two segments sent 50 µs apart.
        var b = new TcpBench(new TcpSettings { SendBufferSize = 1 << 20 });
        var c = b.Accept(handshakeRtt: TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(1), c.SmoothedRtt);
        int seg = c.SendMss;
        c.Send(new byte[seg]);
        b.Poll();
        var s0 = b.Single();
        b.Advance(TimeSpan.FromMicroseconds(50));
        c.Send(new byte[seg]);
        b.Poll();
        b.Single();
        b.Advance(TimeSpan.FromMicroseconds(200));
        b.PeerSends(TcpFlags.Ack, ack: s0.Seq + 2 * seg);
        // RFC 6298 §2.3: SRTT = 7/8 · 1000 + 1/8 · 250 µs.
        Assert.Equal(TimeSpan.FromMicroseconds((7 * 1000 + 250) / 8), c.SmoothedRtt);
    }

    [Theory]
    [InlineData(CongestionAlgorithm.Cubic, false)]
    [InlineData(CongestionAlgorithm.NewReno, false)]
    [InlineData(CongestionAlgorithm.Bbr, true)]
    public void Delivery_rate_samples_are_taken_only_for_a_controller_that_reads_them(CongestionAlgorithm cc, bool sampled)
    {
        var sim = new TcpSimulation(2, new PathConditions(TimeSpan.FromMilliseconds(10), RateBytesPerSecond: 2_000_000),
            new TcpSettings { Congestion = cc });
        var bulk = new BulkTransfer(sim, 500_000);
        Assert.True(bulk.Run(TimeSpan.FromSeconds(60)), bulk.Describe());
        Assert.True(bulk.Intact, bulk.Describe());
        Assert.Equal(sampled, bulk.Client.LastRateSample.IsValid);
    }
}
