using NetStack.Wire;

namespace NetStack.Tap.Receive;

/// <summary>
/// The proven sources (a completed TCP handshake lately, RFC 4987 §3) that the kernel SYN filter names: at most
/// <see cref="SynShedFilter.MaxAddressesPerFamily"/> (64) of each family, the most recently proven, each good for the
/// given lifetime. A source proven again is refreshed in place; a new one beyond the limit takes the place of the least
/// recently proven of its family, and when that one was still within its lifetime it is a proven source the filter can no
/// longer name (its SYNs are then sampled like an unproven source's): counted in <see cref="Unnamed"/>, so that the limit
/// shows. Deterministic (time comes in); the caller serializes updates; <see cref="Unnamed"/> is read from any thread.
/// </summary>
public sealed class NamedProvenSources(TimeSpan lifetime)
{
    private readonly List<(IpAddress Address, long At)> _v4 = [], _v6 = [];
    private readonly long _lifetimeMicros = lifetime.Ticks / 10;
    private long _unnamed;

    /// <summary>Proven sources pushed out of the named set while still proven (more than 64 of a family at once).</summary>
    public long Unnamed => Interlocked.Read(ref _unnamed);

    /// <summary>The addresses named now, both families.</summary>
    public int Count => _v4.Count + _v6.Count;

    /// <summary>Records that <paramref name="source"/> completed a handshake at <paramref name="now"/>; true when the named set changed.</summary>
    public bool Note(IpAddress source, Instant now)
    {
        var list = source.IsV4 ? _v4 : _v6;
        int oldest = -1;
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Address == source)
            {
                list[i] = (source, now.Microseconds);
                return false;
            }
            if (oldest < 0 || list[i].At < list[oldest].At) oldest = i;
        }
        if (list.Count < SynShedFilter.MaxAddressesPerFamily)
        {
            list.Add((source, now.Microseconds));
            return true;
        }
        if (now.Microseconds - list[oldest].At <= _lifetimeMicros) Interlocked.Increment(ref _unnamed);
        list[oldest] = (source, now.Microseconds);
        return true;
    }

    /// <summary>The addresses named now (a copy).</summary>
    public IpAddress[] ToArray()
    {
        var all = new IpAddress[Count];
        int n = 0;
        foreach (var e in _v4) all[n++] = e.Address;
        foreach (var e in _v6) all[n++] = e.Address;
        return all;
    }
}
