using NetStack.Wire;
using NetStack.Transport.Tcp;

namespace NetStack.Tests.Tcp;

/// <summary>
/// RFC 9293 §3.8.3 TCP connection failures: R1 gives the IP layer negative advice (MUST-20), R2 closes the connection
/// and can be set per connection (MUST-21), a SYN is retransmitted for at least 3 minutes (MUST-23); new acknowledgments
/// are forward progress for neighbour unreachability detection (RFC 4861 §7.3.1).
/// </summary>
public sealed class TcpConnectionFailureTests
{
    private static List<bool> AdviceKinds(TcpBench b) => b.Ip.Advice.Select(a => a.ForwardProgress).ToList();

    [Fact]
    public void The_third_retransmission_of_a_segment_gives_the_IP_layer_negative_advice_once_MUST_20()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.Ip.Advice.Clear();
        c.Send(new byte[10]);
        b.Poll();
        b.TakeSent();
        for (int timeouts = 1; timeouts <= 5; timeouts++)
        {
            b.RunUntil(b.Layer.NextDeadline);
            b.TakeSent();
            while (b.Layer.Stats.Timeouts < timeouts) { b.RunUntil(b.Layer.NextDeadline); b.TakeSent(); }
            Assert.Equal(timeouts >= 3 ? [false] : [], AdviceKinds(b));
        }
        Assert.All(b.Ip.Advice, a => Assert.Equal(TcpBench.Peer, a.Destination));
    }

    [Fact]
    public void SYN_retransmissions_get_the_same_advice_MUST_20()
    {
        var b = new TcpBench();
        b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(6)); // SYNs at 0, 1, 3 s
        Assert.Empty(b.Ip.Advice);
        b.RunUntil(b.Now + TimeSpan.FromSeconds(2)); // the third retransmission at 7 s
        Assert.Equal([false], AdviceKinds(b));
    }

    [Fact]
    public void An_active_open_keeps_retransmitting_its_SYN_for_three_minutes_MUST_23()
    {
        var b = new TcpBench();
        var c = b.Layer.Connect(new IpEndpoint(TcpBench.Peer, 80), b.Now);
        var start = b.Now;
        var syns = new List<double>();
        while (c.State == TcpState.SynSent)
        {
            foreach (var s in b.TakeSent()) syns.Add((b.Now - start).TotalSeconds);
            b.Advance(b.Layer.NextDeadline - b.Now);
        }
        Assert.Equal(new[] { 0.0, 1, 3, 7, 15, 31, 63, 123 }, syns);
        Assert.Equal(183, (b.Now - start).TotalSeconds);
        Assert.Equal(TcpError.TimedOut, c.Error);
    }

    [Fact]
    public void R2_is_set_per_connection_MUST_21()
    {
        var b = new TcpBench();
        var c = b.Accept();
        c.MaxRetransmissions = 2;
        c.Send(new byte[10]);
        b.RunUntil(b.Now + TimeSpan.FromMinutes(10));
        Assert.Equal(TcpError.TimedOut, c.Error);
        Assert.Equal(2, b.Layer.Stats.Timeouts);
    }

    [Fact]
    public void An_R2_of_int_MaxValue_never_gives_up()
    {
        // "an interactive application might set R2 to 'infinity', giving the user control over when to disconnect".
        var b = new TcpBench();
        var c = b.Accept();
        c.MaxRetransmissions = int.MaxValue;
        c.Send(new byte[10]);
        b.RunUntil(b.Now + TimeSpan.FromHours(2));
        Assert.Equal(TcpState.Established, c.State);
        Assert.True(b.Layer.Stats.Timeouts > 100, $"{b.Layer.Stats.Timeouts} timeouts");
        Assert.Throws<ArgumentOutOfRangeException>(() => c.MaxRetransmissions = 0);
    }

    [Fact]
    public void New_data_acknowledged_is_forward_progress_told_at_most_once_a_second()
    {
        var b = new TcpBench();
        var c = b.Accept();
        b.Ip.Advice.Clear();
        c.NoDelay = true;
        for (int i = 0; i < 3; i++)
        {
            c.Send(new byte[10]);
            b.Poll();
            b.TakeSent();
            b.Advance(TimeSpan.FromMilliseconds(100));
            b.PeerSends(TcpFlags.Ack, ack: b.OurSeq + 10 * (i + 1));
        }
        Assert.Equal([true], AdviceKinds(b));
        b.Advance(TimeSpan.FromSeconds(1));
        c.Send(new byte[10]);
        b.Poll();
        b.PeerSends(TcpFlags.Ack, ack: b.OurSeq + 40);
        Assert.Equal([true, true], AdviceKinds(b));
    }
}
