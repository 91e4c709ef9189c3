using NetStack.Network.Ipv6;

namespace NetStack.Tests.Ipv6;

public class RouterSolicitorTests
{
    private static readonly Instant T0 = Instant.FromSeconds(1);

    private static List<Instant> Run(RouterSolicitor s, int count)
    {
        var sent = new List<Instant>();
        while (sent.Count < count && s.IsActive)
        {
            var t = s.NextDeadline;
            Assert.True(s.Poll(t));
            sent.Add(t);
        }
        return sent;
    }

    [Fact]
    public void First_solicitation_is_delayed_at_most_MAX_RTR_SOLICITATION_DELAY_RFC4861_6_3_7()
    {
        for (ulong seed = 0; seed < 20; seed++)
        {
            var s = new RouterSolicitor(new SeededRandom(seed), continueWithBackoff: false);
            s.Start(T0);
            Assert.InRange(s.NextDeadline - T0, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void Without_backoff_three_solicitations_four_seconds_apart_RFC4861_6_3_7()
    {
        var s = new RouterSolicitor(new SeededRandom(3), continueWithBackoff: false);
        s.Start(T0);
        var sent = Run(s, 10);
        Assert.Equal(3, sent.Count);
        Assert.Equal(TimeSpan.FromSeconds(4), sent[1] - sent[0]);
        Assert.Equal(TimeSpan.FromSeconds(4), sent[2] - sent[1]);
    }

    [Fact]
    public void With_backoff_intervals_grow_to_the_one_hour_cap_RFC7559_2()
    {
        var s = new RouterSolicitor(new SeededRandom(4), continueWithBackoff: true);
        s.Start(T0);
        var sent = Run(s, 20);
        Assert.Equal(20, sent.Count);
        Assert.True(sent[4] - sent[3] > sent[3] - sent[2]);
        for (int i = 1; i < sent.Count; i++) Assert.True(sent[i] - sent[i - 1] <= TimeSpan.FromSeconds(3960));
        Assert.True(sent[19] - sent[18] >= TimeSpan.FromSeconds(3240));
    }

    [Fact]
    public void Router_advertisement_stops_solicitation()
    {
        var s = new RouterSolicitor(new SeededRandom(5), continueWithBackoff: true);
        s.Start(T0);
        s.Stop();
        Assert.False(s.IsActive);
        Assert.False(s.Poll(T0 + TimeSpan.FromHours(1)));
    }
}
