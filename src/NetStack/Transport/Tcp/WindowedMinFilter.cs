namespace NetStack.Transport.Tcp;

/// <summary>
/// The minimum of the samples seen over the last <c>window</c> of time, kept with three samples in constant space
/// (Kathleen Nichols' windowed min/max estimator, the filter Linux keeps its min_rtt with over
/// <c>tcp_min_rtt_wlen</c> = 300 s). RFC 8985 §6.2 allows RACK.min_RTT to be such a windowed minimum, so that a
/// path whose RTT grows for good (a route change) stops being judged by a minimum that no longer exists.
/// The best sample is the minimum; the second and third are the best of the later quarter and half of the window,
/// which take over when the best one ages out. Time is virtual (<see cref="Instant"/>): no clock is read.
/// </summary>
internal struct WindowedMinFilter
{
    private readonly long _window; // µs
    private Sample _s0, _s1, _s2;  // best, second best (more recent), third best (most recent)
    private bool _any;

    private readonly record struct Sample(Instant At, long Value);

    /// <summary>A filter keeping the minimum over <paramref name="window"/> (at least 1 µs).</summary>
    public WindowedMinFilter(TimeSpan window)
    {
        _window = Math.Max(window.Ticks / 10, 1);
    }

    /// <summary>
    /// A filter over a window of <paramref name="window"/> units of any monotonic count passed as the
    /// <see cref="Instant"/>'s microseconds (BBR's BtlBw filter runs over round trips, draft-cardwell-iccrg-bbr §4.1.1;
    /// a maximum filter takes negated samples).
    /// </summary>
    public static WindowedMinFilter OverUnits(long window) => new(TimeSpan.FromTicks(Math.Max(window, 1) * 10));

    /// <summary>True once a sample was taken.</summary>
    public readonly bool HasValue => _any;

    /// <summary>The windowed minimum, or <paramref name="none"/> before the first sample.</summary>
    public readonly long Get(long none) => _any ? _s0.Value : none;

    /// <summary>Takes a sample <paramref name="value"/> at <paramref name="now"/>; returns the minimum.</summary>
    public long Update(Instant now, long value)
    {
        var s = new Sample(now, value);
        // A new overall minimum, or nothing in the window any more: the new sample is all three.
        if (!_any || value <= _s0.Value || Age(now, _s2) > _window)
        {
            _s0 = _s1 = _s2 = s;
            _any = true;
            return value;
        }
        if (value <= _s1.Value) _s1 = _s2 = s;
        else if (value <= _s2.Value) _s2 = s;

        long age = Age(now, _s0);
        if (age > _window)
        {
            // The best sample aged out: the later candidates move up, the new sample becomes the third.
            _s0 = _s1;
            _s1 = _s2;
            _s2 = s;
            if (Age(now, _s0) > _window)
            {
                _s0 = _s1;
                _s1 = _s2;
            }
        }
        else if (_s1.At == _s0.At && age > _window / 4)
        {
            // A quarter of the window passed with no second choice: take one from the later part of the window.
            _s1 = _s2 = s;
        }
        else if (_s2.At == _s1.At && age > _window / 2)
        {
            // Half of the window passed with no third choice: take one.
            _s2 = s;
        }
        return _s0.Value;
    }

    private static long Age(Instant now, Sample s) => now.Microseconds - s.At.Microseconds;
}
