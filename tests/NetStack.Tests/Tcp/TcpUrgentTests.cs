using NetStack.Transport.Tcp;
using NetStack.Wire;

namespace NetStack.Tests.Tcp;

/// <summary>
/// The urgent mechanism (RFC 9293 §3.8.5, §3.9.1.2, §3.10.7.4 sixth step; RFC 6093): the urgent pointer points to the
/// octet after the urgent data (MUST-62), urgent data of any length (MUST-31), the application is told when a pointer
/// arrives or advances (MUST-32) and can learn how much urgent data remains (MUST-33); the data stays in line.
/// </summary>
public sealed class TcpUrgentTests
{
    private static byte[] Bytes(int n, byte start = 0)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(start + i);
        return b;
    }

    [Fact]
    public void Urgent_data_over_several_segments_carries_URG_and_a_pointer_to_the_octet_after_it_in_each_MUST_31_MUST_62()
    {
        var b = new TcpBench();
        var c = b.Accept();
        var start = b.OurSeq;
        Assert.Equal(3000, c.SendUrgent(Bytes(3000)));
        b.Poll();
        var sent = b.TakeSent();
        Assert.Equal(3, sent.Count);
        Assert.All(sent, s =>
        {
            Assert.True(s.Has(TcpFlags.Urg), s.ToString());
            Assert.Equal(start + 3000, s.Seq + s.Repr.UrgentPointer);
        });
    }

    [Fact]
    public void Data_after_the_urgent_data_is_sent_without_URG_once_the_pointer_is_acknowledged()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.SendUrgent(Bytes(10));
        b.Poll();
        Assert.True(b.Single().Has(TcpFlags.Urg));
        b.PeerSends(TcpFlags.Ack, ack: b.OurSeq + 10);
        b.TakeSent();
        c.Send(Bytes(10));
        b.Poll();
        var next = b.Single();
        Assert.False(next.Has(TcpFlags.Urg), next.ToString());
        Assert.Equal(0, next.Repr.UrgentPointer);
    }

    [Fact]
    public void A_segment_sent_before_the_pointer_is_acknowledged_still_points_to_it()
    {
        // Normal data queued behind urgent data: the segment that holds both carries the pointer into its middle.
        var b = new TcpBench();
        var c = b.Accept();
        c.NoDelay = true;
        c.Send(Bytes(5));
        b.Poll();
        var first = b.Single();
        Assert.False(first.Has(TcpFlags.Urg));
        c.SendUrgent(Bytes(3));
        c.Send(Bytes(7));
        b.Poll();
        var second = b.Single();
        Assert.True(second.Has(TcpFlags.Urg));
        Assert.Equal(10, second.Payload.Length);
        Assert.Equal(3, second.Repr.UrgentPointer);
    }

    [Fact]
    public void Retransmitted_urgent_data_keeps_URG()
    {
        var b = new TcpBench();
        var c = b.Accept();
        var start = b.OurSeq;
        c.SendUrgent(Bytes(100));
        b.Poll();
        b.TakeSent();
        b.Advance(TimeSpan.FromSeconds(3)); // RTO
        var again = b.TakeSent().Single(s => s.Payload.Length > 0);
        Assert.True(again.Has(TcpFlags.Urg));
        Assert.Equal(start + 100, again.Seq + again.Repr.UrgentPointer);
    }

    [Fact]
    public void A_pointer_beyond_16_bits_is_sent_as_65535_and_becomes_exact_when_in_reach()
    {
        var b = new TcpBench(new TcpSettings { SendBufferSize = 256 * 1024 });
        var c = b.Accept();
        var start = b.OurSeq;
        Assert.Equal(100_000, c.SendUrgent(new byte[100_000]));
        b.Poll();
        // Acknowledge as segments go: each segment whose offset to the pointer fits in 16 bits carries it exactly.
        var end = start + 100_000;
        var sent = new List<SentSegment>();
        for (int round = 0; round < 100; round++)
        {
            var data = b.TakeSent().Where(s => s.Payload.Length > 0).ToList();
            if (data.Count == 0) break;
            sent.AddRange(data);
            b.PeerSends(TcpFlags.Ack, ack: data[^1].Seq + data[^1].Payload.Length);
        }
        Assert.Equal(end, sent[^1].Seq + sent[^1].Payload.Length);
        Assert.All(sent, s =>
        {
            Assert.True(s.Has(TcpFlags.Urg), s.ToString());
            Assert.Equal(end - s.Seq > ushort.MaxValue ? ushort.MaxValue : end - s.Seq, s.Repr.UrgentPointer);
        });
        Assert.Contains(sent, s => s.Repr.UrgentPointer < ushort.MaxValue);
    }

    [Fact]
    public void Nagle_does_not_hold_urgent_data()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.Send(Bytes(10));
        b.Poll();
        b.Single();
        c.SendUrgent(Bytes(1));
        b.Poll();
        var urgent = b.Single();
        Assert.True(urgent.Has(TcpFlags.Urg));
        Assert.Single(urgent.Payload);
    }

    [Fact]
    public void A_received_pointer_is_signalled_and_its_data_read_in_line_MUST_32_MUST_33()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh, data: Bytes(20));
        b.PeerSends(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Urg, data: Bytes(10, 20), urgentPointer: 4);
        Assert.Equal(1, c.UrgentSignals);
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Urgent));
        Assert.Equal(24, c.UrgentRemaining); // the 20 earlier bytes, then 4 urgent ones
        var buf = new byte[30];
        Assert.Equal(20, c.Receive(buf.AsSpan(0, 20)));
        Assert.Equal(4, c.UrgentRemaining);
        Assert.Equal(10, c.Receive(buf.AsSpan(20)));
        Assert.Equal(Bytes(30), buf); // in line, nothing taken out of band (RFC 6093 §6)
        Assert.Equal(0, c.UrgentRemaining);
        Assert.False(c.Readiness.HasFlag(TcpReadiness.Urgent));
    }

    [Fact]
    public void The_segments_of_one_urgent_sequence_signal_once()
    {
        // Each segment of one urgent write repeats the same pointer (smaller offsets from later sequence numbers).
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(100), urgentPointer: 300);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(100, 100), urgentPointer: 200);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(100, 200), urgentPointer: 100);
        Assert.Equal(1, c.UrgentSignals);
        Assert.Equal(300, c.UrgentRemaining);
        b.Advance(TimeSpan.FromMilliseconds(200));
        Assert.DoesNotContain(b.TakeSent(), s => s.Has(TcpFlags.Rst));
        Assert.Equal(300, c.ReceiveQueueLength);
    }

    [Fact]
    public void An_advancing_pointer_signals_again_MUST_32()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(10), urgentPointer: 10);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(10, 10), urgentPointer: 5);
        Assert.Equal(2, c.UrgentSignals);
        Assert.Equal(15, c.UrgentRemaining);
        Assert.Equal(2, b.Layer.Stats.UrgentReceived);
    }

    [Fact]
    public void A_pointer_ahead_of_the_data_counts_the_urgent_bytes_not_yet_arrived()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(10), urgentPointer: 1000);
        Assert.Equal(1000, c.UrgentRemaining);
        var buf = new byte[10];
        c.Receive(buf);
        Assert.Equal(990, c.UrgentRemaining);
        Assert.True(c.Readiness.HasFlag(TcpReadiness.Urgent));
    }

    [Fact]
    public void A_pointer_to_data_already_read_is_not_news()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack, data: Bytes(10));
        c.Receive(new byte[10]);
        // A retransmission of the old segment, now with URG pointing within what was read.
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, data: Bytes(10), seq: b.PeerSeq - 10, urgentPointer: 5);
        Assert.Equal(0, c.UrgentSignals);
        Assert.Equal(0, c.UrgentRemaining);
    }

    [Fact]
    public void URG_after_the_peer_FIN_is_ignored()
    {
        // RFC 9293 §3.10.7.4 sixth step: in CLOSE-WAIT "this should not occur since a FIN has been received": ignore.
        var b = new TcpBench();
        var c = b.Accept();
        b.PeerSends(TcpFlags.Ack | TcpFlags.Fin);
        Assert.Equal(TcpState.CloseWait, c.State);
        b.PeerSends(TcpFlags.Ack | TcpFlags.Urg, seq: b.PeerSeq, urgentPointer: 50);
        Assert.Equal(0, c.UrgentSignals);
        Assert.Equal(0, c.UrgentRemaining);
    }
}
