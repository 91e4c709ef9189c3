using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>The RFC 4862 states of an interface address.</summary>
public enum Ipv6AddressState
{
    /// <summary>Under duplicate address detection: not used as a source, not accepted as a destination (RFC 4862 §5.4).</summary>
    Tentative,
    /// <summary>Valid and preferred: usable without restriction.</summary>
    Preferred,
    /// <summary>Valid but its preferred lifetime has run out: kept for existing communication, avoided for new (§5.5.4).</summary>
    Deprecated,
    /// <summary>DAD found another node using it: never used (§5.4.5).</summary>
    Duplicate,
    /// <summary>Its valid lifetime ran out: removed.</summary>
    Invalid,
}

/// <summary>Where an interface address came from.</summary>
public enum Ipv6AddressOrigin
{
    /// <summary>A link-local address formed from the interface identifier (RFC 4862 §5.3).</summary>
    LinkLocal,
    /// <summary>An address configured by the user.</summary>
    Static,
    /// <summary>An address autoconfigured from a router-advertised prefix (RFC 4862 §5.5.3).</summary>
    Slaac,
    /// <summary>A temporary (privacy) address of a SLAAC prefix, with a random identifier (RFC 8981).</summary>
    Temporary,
}

/// <summary>
/// One address of an interface and its lifecycle (RFC 4862 §5.5.4): tentative until DAD succeeds,
/// preferred until the preferred lifetime ends, deprecated until the valid lifetime ends, then invalid.
/// </summary>
internal sealed class InterfaceAddress
{
    public InterfaceAddress(Ipv6Address address, int prefixLength, Ipv6AddressOrigin origin, Instant validUntil, Instant preferredUntil)
    {
        Address = address;
        PrefixLength = prefixLength;
        Origin = origin;
        ValidUntil = validUntil;
        PreferredUntil = preferredUntil;
    }

    public Ipv6Address Address { get; }
    public int PrefixLength { get; }
    public Ipv6AddressOrigin Origin { get; }
    public Ipv6AddressState State { get; private set; } = Ipv6AddressState.Tentative;
    public Instant ValidUntil { get; private set; }
    public Instant PreferredUntil { get; private set; }

    /// <summary>The RFC 7217 DAD_Counter this address was generated with (for regeneration after a conflict).</summary>
    public int DadCounter { get; init; }

    /// <summary>RFC 8981 §3.4: when a temporary address was created (its lifetimes count from there).</summary>
    public Instant CreatedAt { get; set; }

    /// <summary>RFC 8981 §3.8 DESYNC_FACTOR of a temporary address, taken off its preferred lifetime.</summary>
    public TimeSpan DesyncFactor { get; set; }

    /// <summary>RFC 8981 §3.5: its successor has been generated (done once, REGEN_ADVANCE before deprecation).</summary>
    public bool Regenerated { get; set; }

    /// <summary>The duplicate address detection in progress while <see cref="State"/> is tentative.</summary>
    public DuplicateAddressDetection? Dad { get; set; }

    /// <summary>
    /// RFC 4429: tentative, but usable while DAD runs (an Optimistic address, <see cref="Ipv6Settings.OptimisticDad"/>).
    /// Cleared when DAD ends either way.
    /// </summary>
    public bool Optimistic { get; set; }

    /// <summary>
    /// Usable as a source address (RFC 4862 §5.4: not while tentative, except an RFC 4429 optimistic one; §5.5.4
    /// deprecated still usable).
    /// </summary>
    public bool IsUsable => State is Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated || (State == Ipv6AddressState.Tentative && Optimistic);

    /// <summary>The state source selection sees: RFC 4429 §2.1, an optimistic address is treated as deprecated.</summary>
    public Ipv6AddressState SelectionState => State == Ipv6AddressState.Tentative && Optimistic ? Ipv6AddressState.Deprecated : State;

    /// <summary>Accepted as a destination of received packets (tentative addresses are not, RFC 4862 §5.4).</summary>
    public bool AcceptsTraffic => IsUsable;

    /// <summary>The remaining valid lifetime at <paramref name="now"/>.</summary>
    public TimeSpan RemainingValid(Instant now) => ValidUntil == Instant.MaxValue ? TimeSpan.MaxValue : ValidUntil - now;

    /// <summary>DAD succeeded (or was not needed): the address becomes preferred, or deprecated if its preferred lifetime is over.</summary>
    public void MarkDadSucceeded(Instant now)
    {
        if (State != Ipv6AddressState.Tentative) return;
        Dad = null;
        Optimistic = false;
        State = now >= PreferredUntil ? Ipv6AddressState.Deprecated : Ipv6AddressState.Preferred;
    }

    /// <summary>RFC 4862 §5.4.5: a duplicate is never used.</summary>
    public void MarkDuplicate()
    {
        Dad = null;
        Optimistic = false;
        State = Ipv6AddressState.Duplicate;
    }

    /// <summary>Sets both lifetimes (the caller applies RFC 4862 §5.5.3 e) first).</summary>
    public void SetLifetimes(Instant validUntil, Instant preferredUntil, Instant now)
    {
        ValidUntil = validUntil;
        PreferredUntil = preferredUntil;
        // §5.5.4: a deprecated address becomes preferred again when its preferred lifetime is extended.
        if (State == Ipv6AddressState.Deprecated && now < preferredUntil) State = Ipv6AddressState.Preferred;
        Advance(now);
    }

    /// <summary>Applies the passage of time; returns true when the state changed.</summary>
    public bool Advance(Instant now)
    {
        var before = State;
        if (State is Ipv6AddressState.Duplicate or Ipv6AddressState.Invalid) return false;
        if (now >= ValidUntil) State = Ipv6AddressState.Invalid; // §5.5.4: invalid at the end of the valid lifetime
        else if (State == Ipv6AddressState.Preferred && now >= PreferredUntil) State = Ipv6AddressState.Deprecated;
        return State != before;
    }

    /// <summary>The next instant at which <see cref="Advance"/> can change the state.</summary>
    public Instant NextDeadline => State switch
    {
        Ipv6AddressState.Preferred => Instant.Min(PreferredUntil, ValidUntil),
        Ipv6AddressState.Deprecated or Ipv6AddressState.Tentative => ValidUntil,
        _ => Instant.MaxValue,
    };

    public override string ToString() => $"{Address}/{PrefixLength} {State} ({Origin})";
}

/// <summary>The lifetime rules of RFC 4862 §5.5.3 for a Prefix Information option, as pure functions.</summary>
internal static class SlaacRules
{
    /// <summary>What to do with a Prefix Information option whose A flag is set.</summary>
    public enum PrefixVerdict
    {
        Use,
        /// <summary>§5.5.3 b): the link-local prefix.</summary>
        IgnoreLinkLocal,
        /// <summary>§5.5.3 c): preferred lifetime greater than valid lifetime.</summary>
        IgnorePreferredAboveValid,
        /// <summary>§5.5.3 d): prefix length plus interface identifier length is not 128.</summary>
        IgnoreBadPrefixLength,
    }

    /// <summary>The checks b) to d) of RFC 4862 §5.5.3 that do not depend on existing addresses.</summary>
    public static PrefixVerdict Check(Ipv6Address prefix, int prefixLength, uint validLifetime, uint preferredLifetime)
    {
        if (prefix.IsLinkLocal) return PrefixVerdict.IgnoreLinkLocal;            // §5.5.3 b)
        if (preferredLifetime > validLifetime) return PrefixVerdict.IgnorePreferredAboveValid; // §5.5.3 c)
        if (prefixLength != 64) return PrefixVerdict.IgnoreBadPrefixLength;    // §5.5.3 d): our identifiers are 64 bits
        return PrefixVerdict.Use;
    }

    /// <summary>
    /// RFC 4862 §5.5.3 e): the new valid-lifetime expiry of an address already formed from the prefix.
    /// 1. received > 2 hours or received > remaining: take the received lifetime;
    /// 2. otherwise, remaining at most 2 hours: ignore the received lifetime (no authentication here);
    /// 3. otherwise: reset the remaining lifetime to 2 hours.
    /// </summary>
    public static Instant UpdatedValidExpiry(Instant currentExpiry, uint receivedValid, Instant now)
    {
        var received = NdpConstants.Lifetime(receivedValid);
        var remaining = currentExpiry == Instant.MaxValue ? TimeSpan.MaxValue : currentExpiry - now;
        if (received > NdpConstants.TwoHours || received > remaining) return NdpConstants.Expiry(now, receivedValid);
        if (remaining <= NdpConstants.TwoHours) return currentExpiry;
        return now + NdpConstants.TwoHours;
    }
}
