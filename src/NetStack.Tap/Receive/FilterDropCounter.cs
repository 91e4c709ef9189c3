namespace NetStack.Tap.Receive;

/// <summary>
/// What the kernel SYN filter dropped, from the TAP's kernel TX "dropped" counter. The tun driver keeps no count of a
/// socket filter's verdicts of its own: <c>tun_net_xmit</c> frees a frame the filter refuses (drop reason SOCKET_FILTER)
/// and counts it in the interface's <c>tx_dropped</c>, as it counts a frame that finds its queue full; and a classic BPF
/// program cannot count. So this sums the counter's rise over the intervals in which the filter is attached: read just
/// before attaching (<see cref="Attach"/>), while attached (<see cref="Sample"/>, every window of the filter's driver)
/// and just after detaching (<see cref="Detach"/>). A frame dropped for a full queue while the filter is up counts too
/// (the kernel does not tell them apart); a queue the filter keeps short rarely fills. A reading that went down (the
/// counter reset) starts over from it; a missing reading (null: the counter cannot be read) is skipped.
/// Deterministic (the readings come in); one thread updates it, any thread reads <see cref="Total"/>.
/// </summary>
public sealed class FilterDropCounter
{
    private long _base, _total;
    private bool _haveBase;

    /// <summary>Frames dropped while the filter was attached (as far as the readings go).</summary>
    public long Total => Interlocked.Read(ref _total);

    /// <summary>True between <see cref="Attach"/> and <see cref="Detach"/>.</summary>
    public bool Attached { get; private set; }

    /// <summary>The filter is about to be attached; <paramref name="reading"/> is the counter now.</summary>
    public void Attach(long? reading)
    {
        if (Attached) { Sample(reading); return; }
        Attached = true;
        _haveBase = false;
        Sample(reading);
    }

    /// <summary>The filter is attached; <paramref name="reading"/> is the counter now: its rise since the last reading counts.</summary>
    public void Sample(long? reading)
    {
        if (!Attached || reading is not { } r) return;
        if (_haveBase && r > _base) Interlocked.Add(ref _total, r - _base);
        _base = r;
        _haveBase = true;
    }

    /// <summary>The filter was just detached; <paramref name="reading"/> is the counter now (its last rise counts).</summary>
    public void Detach(long? reading)
    {
        Sample(reading);
        Attached = false;
        _haveBase = false;
    }
}
