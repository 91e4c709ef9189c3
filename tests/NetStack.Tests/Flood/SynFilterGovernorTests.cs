using NetStack.Tap.Receive;

namespace NetStack.Tests.Flood;

/// <summary>
/// The levels of the kernel SYN filter (<see cref="SynFilterGovernor"/>, shared by the receive thread and the loop-driven
/// <see cref="SynFilterDevice"/>) from windows of reading, in virtual time: raised one level per overloaded window with a
/// SYN flood, held while behind without one, lowered one a second only after the hold, never past its bounds.
/// </summary>
public class SynFilterGovernorTests
{
    private const long Window = SynFilterGovernor.WindowMicros;

    // 10,000 SYN/s = 1,000 per 100 ms window.
    private static SynFilterGovernor Make(int maxLevel = 10) => new(maxLevel, minSynRate: 10_000, hold: TimeSpan.FromSeconds(3));

    [Fact]
    public void An_overloaded_window_with_a_syn_flood_raises_the_level_one_at_a_time_up_to_the_maximum()
    {
        var g = Make(maxLevel: 4);
        long t = 0;
        for (int expected = 1; expected <= 4; expected++)
            Assert.Equal(expected, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 1_000));
        Assert.Equal(4, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 50_000));
        Assert.Equal(4, g.Level);
    }

    [Fact]
    public void Overload_without_a_syn_flood_or_a_flood_the_reader_keeps_up_with_does_not_raise_it()
    {
        var g = Make();
        long t = 0;
        // A bulk transfer: behind, but few unproven SYNs.
        for (int i = 0; i < 50; i++) Assert.Equal(0, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 999));
        // Many SYNs, but the reader found the TAP empty in every window.
        for (int i = 0; i < 50; i++) Assert.Equal(0, g.EndWindow(t += Window, overloaded: false, unprovenSyns: 100_000));
    }

    [Fact]
    public void The_level_holds_while_behind_and_falls_one_a_second_only_after_the_hold()
    {
        var g = Make();
        long t = 0;
        for (int i = 0; i < 3; i++) g.EndWindow(t += Window, overloaded: true, unprovenSyns: 5_000);
        Assert.Equal(3, g.Level);
        // Still behind, the filter letting few SYNs through: held, and the hold restarts with each such window.
        for (int i = 0; i < 40; i++) Assert.Equal(3, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 10));
        long lastOverload = t;
        // Keeping up: nothing changes before the hold (3 s) has passed.
        while (t + Window < lastOverload + 3_000_000) Assert.Equal(3, g.EndWindow(t += Window, overloaded: false, unprovenSyns: 0));
        t = lastOverload + 3_000_000;
        Assert.Equal(2, g.EndWindow(t, overloaded: false, unprovenSyns: 0));
        long step = t;
        // Then one level a second, to 0.
        while (t + Window < step + 1_000_000) Assert.Equal(2, g.EndWindow(t += Window, overloaded: false, unprovenSyns: 0));
        Assert.Equal(1, g.EndWindow(step + 1_000_000, overloaded: false, unprovenSyns: 0));
        Assert.Equal(0, g.EndWindow(step + 2_000_000, overloaded: false, unprovenSyns: 0));
        Assert.Equal(0, g.EndWindow(step + 9_000_000, overloaded: false, unprovenSyns: 0));
    }

    [Fact]
    public void A_refused_filter_starts_again_from_zero()
    {
        var g = Make();
        long t = 0;
        g.EndWindow(t += Window, overloaded: true, unprovenSyns: 2_000);
        g.EndWindow(t += Window, overloaded: true, unprovenSyns: 2_000);
        Assert.Equal(2, g.Level);
        g.Failed();
        Assert.Equal(0, g.Level);
        Assert.Equal(1, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 2_000));
    }

    [Fact]
    public void Bounds_are_clamped_to_the_program_and_the_rate_to_one_syn_a_window()
    {
        var g = new SynFilterGovernor(maxLevel: 99, minSynRate: 0, hold: TimeSpan.Zero);
        long t = 0;
        for (int i = 0; i < 40; i++) g.EndWindow(t += Window, overloaded: true, unprovenSyns: 1);
        Assert.Equal(SynShedFilter.MaxLevel, g.Level);
        Assert.Equal(SynShedFilter.MaxLevel, g.EndWindow(t += Window, overloaded: true, unprovenSyns: 0)); // held
        Assert.Equal(SynShedFilter.MaxLevel - 1, g.EndWindow(t += 1_000_000, overloaded: false, unprovenSyns: 0));
    }
}
