using NetStack.Transport.Tcp;

namespace NetStack.Tests.Tcp;

/// <summary>
/// The windowed minimum behind RACK.min_RTT (RFC 8985 §6.2 allows a windowed min filter; Linux keeps the minimum RTT of
/// the last 300 s, tcp_min_rtt_wlen, with the same three-sample Kathleen Nichols filter). Virtual time.
/// </summary>
public sealed class WindowedMinFilterTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(300);
    private static readonly Instant T0 = Instant.FromSeconds(1000);

    private static Instant At(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    [Fact]
    public void Before_any_sample_there_is_no_minimum()
    {
        var f = new WindowedMinFilter(Window);
        Assert.False(f.HasValue);
        Assert.Equal(-1, f.Get(-1));
    }

    [Fact]
    public void A_new_lower_sample_takes_over_at_once()
    {
        var f = new WindowedMinFilter(Window);
        f.Update(At(0), 50_000);
        f.Update(At(10), 60_000);
        Assert.Equal(50_000, f.Get(0));
        Assert.Equal(20_000, f.Update(At(11), 20_000));
        Assert.Equal(20_000, f.Get(0));
    }

    [Fact]
    public void The_minimum_holds_for_the_whole_window()
    {
        var f = new WindowedMinFilter(Window);
        f.Update(At(0), 10_000);
        for (int s = 1; s <= 300; s++) Assert.Equal(10_000, f.Update(At(s), 80_000 + s));
    }

    [Fact]
    public void The_minimum_ages_out_after_the_window_and_the_best_later_sample_takes_over()
    {
        // The path's RTT grew for good (10 ms -> 80 ms or more): once the 10 ms sample is older than the window,
        // the minimum is the best of the samples still inside it.
        var f = new WindowedMinFilter(Window);
        f.Update(At(0), 10_000);
        for (int s = 1; s <= 300; s++) f.Update(At(s), s == 100 ? 80_000 : 90_000);
        Assert.Equal(10_000, f.Get(0));
        Assert.Equal(80_000, f.Update(At(301), 95_000)); // 10 ms aged out; 80 ms (t = 100 s) is in the window
        Assert.Equal(90_000, f.Update(At(401), 95_000)); // 80 ms aged out too
    }

    [Fact]
    public void After_a_silence_longer_than_the_window_the_next_sample_is_the_minimum()
    {
        var f = new WindowedMinFilter(Window);
        f.Update(At(0), 10_000);
        f.Update(At(1), 20_000);
        Assert.Equal(70_000, f.Update(At(1000), 70_000));
    }

    [Fact]
    public void The_value_is_always_a_sample_from_inside_the_window_and_never_below_its_minimum()
    {
        // Property over 5,000 random samples (fixed seed 1234): the filter forgets nothing lower that is still inside
        // the window, and never reports a sample that has aged out of it.
        var rng = new Random(1234);
        var f = new WindowedMinFilter(TimeSpan.FromSeconds(10));
        var samples = new List<(double T, long V)>();
        double t = 0;
        for (int i = 0; i < 5000; i++)
        {
            t += rng.NextDouble() * 0.5;
            long v = 1000 + rng.Next(100_000);
            samples.Add((t, v));
            long got = f.Update(At(t), v);
            long trueMin = samples.Where(s => s.T >= t - 10).Min(s => s.V);
            Assert.True(got >= trueMin, $"seed 1234, sample {i}: {got} below the window's minimum {trueMin}");
            Assert.Contains(samples, s => s.V == got && s.T >= t - 10); // a sample from inside the window
        }
    }

    [Fact]
    public void RACK_min_RTT_is_the_minimum_over_the_configured_window()
    {
        // RFC 8985 §6.2 step 1 with TcpSettings.MinRttWindow (300 s by default): an old low RTT stops counting once it
        // is older than the window, so the reordering window (min_RTT / 4) follows a path whose RTT grew.
        var rack = new RackLossDetector(Window);
        rack.OnRttSample(10_000, At(0));
        rack.OnRttSample(100_000, At(200));
        Assert.Equal(10_000, rack.MinRtt);
        rack.OnRttSample(100_000, At(301));
        Assert.Equal(100_000, rack.MinRtt);
        rack.OnRttSample(5_000, At(302));
        Assert.Equal(5_000, rack.MinRtt);
    }
}
