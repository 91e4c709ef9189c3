using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>A source candidate: an address and the interface it belongs to.</summary>
internal readonly record struct SourceCandidate(Ipv6Address Address, int InterfaceIndex, Ipv6AddressState State, bool Temporary = false);

/// <summary>
/// RFC 6724 §5 source address selection, with the rules that apply to a host without mobility: 1 prefer the same
/// address, 2 prefer appropriate scope, 3 avoid deprecated, 5 prefer the outgoing interface, 6 prefer a matching label,
/// 7 prefer temporary addresses (RFC 8981; or public ones, the reversed sense the rule allows), 8 longest matching prefix. Pure.
/// </summary>
internal static class SourceAddressSelection
{
    // RFC 4291 §2.7 / RFC 6724 §3.1 scope values.
    public const int ScopeInterfaceLocal = 1;
    public const int ScopeLinkLocal = 2;
    public const int ScopeSiteLocal = 5;
    public const int ScopeGlobal = 14;

    /// <summary>RFC 6724 §3.1: the scope of an address (loopback and link-local unicast are link-local scope).</summary>
    public static int Scope(Ipv6Address a)
    {
        if (a.IsMulticast) return a.MulticastScope;
        if (a.IsLinkLocal || a.IsLoopback) return ScopeLinkLocal;
        if ((a.High >> 54) == (0xFEC0UL >> 6)) return ScopeSiteLocal; // deprecated fec0::/10
        return ScopeGlobal;
    }

    /// <summary>RFC 6724 §2.1 default policy table: the label of an address.</summary>
    public static int Label(Ipv6Address a)
    {
        if (a.IsLoopback) return 0;                                       // ::1/128
        if (a.IsIpv4Mapped) return 4;                                     // ::ffff:0:0/96
        if (a.High == 0 && (a.Low >> 32) == 0) return 3;                  // ::/96
        if ((a.High >> 48) == 0x2002) return 2;                           // 2002::/16
        if ((a.High >> 32) == 0x2001_0000) return 5;                      // 2001::/32 (Teredo)
        if ((a.High >> 57) == (0xFC >> 1)) return 13;                     // fc00::/7
        if ((a.High >> 54) == (0xFEC0UL >> 6)) return 11;                 // fec0::/10
        if ((a.High >> 48) == 0x3FFE) return 12;                          // 3ffe::/16
        return 1;                                                         // ::/0
    }

    /// <summary>
    /// Chooses the best source for <paramref name="destination"/> among <paramref name="candidates"/> (tentative,
    /// duplicate and invalid ones are never chosen: RFC 4862 §5.4, RFC 6724 §4). For a link-local destination
    /// only addresses of the outgoing interface are candidates (the scope zone, RFC 6724 §4).
    /// </summary>
    public static bool TrySelect(Ipv6Address destination, int outgoingInterface, ReadOnlySpan<SourceCandidate> candidates, out SourceCandidate best,
        bool preferTemporary = true)
    {
        best = default;
        bool found = false;
        int dstScope = Scope(destination);
        foreach (var c in candidates)
        {
            if (c.State is not (Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated)) continue;
            if (dstScope <= ScopeLinkLocal && outgoingInterface >= 0 && c.InterfaceIndex != outgoingInterface) continue;
            if (!found || Better(c, best, destination, dstScope, outgoingInterface, preferTemporary)) { best = c; found = true; }
        }
        return found;
    }

    /// <summary>True when <paramref name="a"/> is preferred over <paramref name="b"/> (RFC 6724 §5, rules in order).</summary>
    public static bool Better(SourceCandidate a, SourceCandidate b, Ipv6Address d, int dstScope, int outgoingInterface, bool preferTemporary = true)
    {
        // Rule 1: prefer the same address.
        if (a.Address == d) return true;
        if (b.Address == d) return false;
        // Rule 2: prefer appropriate scope.
        int sa = Scope(a.Address), sb = Scope(b.Address);
        if (sa < sb) return sa >= dstScope ? true : false;
        if (sb < sa) return sb >= dstScope ? false : true;
        // Rule 3: avoid deprecated addresses.
        bool da = a.State == Ipv6AddressState.Deprecated, db = b.State == Ipv6AddressState.Deprecated;
        if (da != db) return db;
        // Rule 5: prefer the outgoing interface.
        if (outgoingInterface >= 0)
        {
            bool ia = a.InterfaceIndex == outgoingInterface, ib = b.InterfaceIndex == outgoingInterface;
            if (ia != ib) return ia;
        }
        // Rule 6: prefer a matching label.
        int ld = Label(d);
        bool la = Label(a.Address) == ld, lb = Label(b.Address) == ld;
        if (la != lb) return la;
        // Rule 7: prefer temporary addresses; "an implementation MUST provide a mechanism ... to reverse the sense".
        if (a.Temporary != b.Temporary) return a.Temporary == preferTemporary;
        // Rule 8: longest matching prefix (CommonPrefixLen limited to the 64-bit prefix part, RFC 6724 §5).
        int pa = Math.Min(a.Address.CommonPrefixLength(d), 64), pb = Math.Min(b.Address.CommonPrefixLength(d), 64);
        return pa > pb;
    }
}
