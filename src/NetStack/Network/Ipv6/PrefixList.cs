using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>One on-link prefix (RFC 4861 §5.1 Prefix List entry).</summary>
internal readonly record struct OnLinkPrefix(Ipv6Cidr Prefix, int InterfaceIndex, Instant ValidUntil, bool Permanent);

/// <summary>
/// The Prefix List of RFC 4861 §5.1: prefixes that are on-link, each with an invalidation timer, per
/// interface. Bounded: a new prefix beyond the limit is refused (counted by the caller). Pure.
/// </summary>
internal sealed class PrefixList
{
    private readonly List<OnLinkPrefix> _entries = [];
    private readonly int _limit;

    public PrefixList(int limit) => _limit = limit;

    public IReadOnlyList<OnLinkPrefix> Entries => _entries;

    /// <summary>Adds a prefix that never expires (configured addresses, the link-local prefix).</summary>
    public bool AddPermanent(Ipv6Cidr prefix, int interfaceIndex)
    {
        var p = new Ipv6Cidr(prefix.Prefix, prefix.PrefixLength);
        int i = Find(p, interfaceIndex);
        if (i >= 0) { _entries[i] = _entries[i] with { Permanent = true, ValidUntil = Instant.MaxValue }; return true; }
        if (_entries.Count >= _limit) return false;
        _entries.Add(new OnLinkPrefix(p, interfaceIndex, Instant.MaxValue, true));
        return true;
    }

    /// <summary>
    /// RFC 4861 §6.3.4 for a Prefix Information option with the L flag: a new prefix with a non-zero valid
    /// lifetime is added; a known one gets its timer reset to the valid lifetime; a lifetime of zero times it out
    /// immediately. Returns false only when a new prefix did not fit.
    /// </summary>
    public bool Update(Ipv6Cidr prefix, int interfaceIndex, uint validLifetime, Instant now)
    {
        var p = new Ipv6Cidr(prefix.Prefix, prefix.PrefixLength);
        int i = Find(p, interfaceIndex);
        if (i >= 0)
        {
            if (_entries[i].Permanent) return true;
            if (validLifetime == 0) { _entries.RemoveAt(i); return true; }
            _entries[i] = _entries[i] with { ValidUntil = NdpConstants.Expiry(now, validLifetime) };
            return true;
        }
        if (validLifetime == 0) return true; // §6.3.4: a new prefix with zero lifetime is ignored
        if (_entries.Count >= _limit) return false;
        _entries.Add(new OnLinkPrefix(p, interfaceIndex, NdpConstants.Expiry(now, validLifetime), false));
        return true;
    }

    /// <summary>Removes the entries of expired prefixes; returns true when any was removed.</summary>
    public bool Expire(Instant now)
    {
        bool removed = false;
        for (int i = _entries.Count - 1; i >= 0; i--)
        {
            if (_entries[i].Permanent || now < _entries[i].ValidUntil) continue;
            _entries.RemoveAt(i);
            removed = true;
        }
        return removed;
    }

    public Instant NextDeadline
    {
        get
        {
            var next = Instant.MaxValue;
            foreach (var e in _entries) if (!e.Permanent) next = Instant.Min(next, e.ValidUntil);
            return next;
        }
    }

    /// <summary>The longest on-link prefix holding <paramref name="address"/> (RFC 4861 §5.2), on any interface or on the one asked.</summary>
    public bool TryMatch(Ipv6Address address, int interfaceIndex, Instant now, out OnLinkPrefix match)
    {
        match = default;
        int best = -1;
        foreach (var e in _entries)
        {
            if (interfaceIndex >= 0 && e.InterfaceIndex != interfaceIndex) continue;
            if (!e.Permanent && now >= e.ValidUntil) continue;
            if (e.Prefix.PrefixLength > best && e.Prefix.Contains(address))
            {
                best = e.Prefix.PrefixLength;
                match = e;
            }
        }
        return best >= 0;
    }

    public void RemoveInterface(int interfaceIndex) => _entries.RemoveAll(e => e.InterfaceIndex == interfaceIndex);

    private int Find(Ipv6Cidr p, int interfaceIndex)
    {
        for (int i = 0; i < _entries.Count; i++)
            if (_entries[i].Prefix == p && _entries[i].InterfaceIndex == interfaceIndex) return i;
        return -1;
    }
}
