using NetStack.Wire;

namespace NetStack.Network.Ipv6;

/// <summary>
/// Temporary addresses (RFC 8981): for each SLAAC prefix a second address with a random interface identifier, preferred
/// for at most TEMP_PREFERRED_LIFETIME − DESYNC_FACTOR and valid for at most TEMP_VALID_LIFETIME, replaced REGEN_ADVANCE
/// before it is deprecated, so that a host is not followed by one identifier across time.
/// </summary>
internal sealed partial class Ipv6Layer
{
    /// <summary>RFC 8981 §3.8 TEMP_IDGEN_RETRIES.</summary>
    private const int TempIdgenRetries = 3;

    /// <summary>RFC 8981 §3.8: REGEN_ADVANCE = 2 + TEMP_IDGEN_RETRIES × DupAddrDetectTransmits × RetransTimer.</summary>
    private TimeSpan RegenAdvance(Ipv6Interface ifc) =>
        TimeSpan.FromSeconds(2) + ifc.Neighbors.RetransTimer * (TempIdgenRetries * Math.Max(0, _options.DupAddrDetectTransmits));

    /// <summary>
    /// RFC 8981 §3.4, on a valid Prefix Information option with the A flag: the prefix's temporary addresses take
    /// valid = min(option's valid, TEMP_VALID_LIFETIME − age) and preferred = min(option's preferred,
    /// TEMP_PREFERRED_LIFETIME − DESYNC_FACTOR − age); when none is preferred (nor being verified), one is formed.
    /// </summary>
    private void UpdateTemporaryAddresses(Ipv6Interface ifc, Ipv6Address prefix, uint valid, uint preferred, Instant now)
    {
        if (_options.TemporaryAddresses == TemporaryAddressMode.Off) return;
        bool haveCurrent = false;
        foreach (var a in ifc.Addresses)
        {
            if (a.Origin != Ipv6AddressOrigin.Temporary || a.Address.High != prefix.High) continue;
            if (a.State is Ipv6AddressState.Duplicate or Ipv6AddressState.Invalid) continue;
            var validUntil = Instant.Min(NdpConstants.Expiry(now, valid), a.CreatedAt + _options.TemporaryValidLifetime);
            var preferredUntil = Instant.Min(NdpConstants.Expiry(now, preferred), a.CreatedAt + _options.TemporaryPreferredLifetime - a.DesyncFactor);
            a.SetLifetimes(validUntil, Instant.Min(preferredUntil, validUntil), now);
            if (a.State is Ipv6AddressState.Preferred or Ipv6AddressState.Tentative && !a.Regenerated) haveCurrent = true;
        }
        if (!haveCurrent) CreateTemporaryAddress(ifc, prefix, NdpConstants.Lifetime(valid), NdpConstants.Lifetime(preferred), 0, now);
    }

    /// <summary>
    /// Forms one temporary address (RFC 8981 §3.3.1 random identifier, not a reserved one (RFC 5453) nor one in use;
    /// §3.4 lifetimes). Not when its preferred lifetime would not exceed REGEN_ADVANCE (§3.4: never a temporary address
    /// that could not be replaced in time, nor one with a zero preferred lifetime).
    /// </summary>
    private void CreateTemporaryAddress(Ipv6Interface ifc, Ipv6Address prefix, TimeSpan prefixValid, TimeSpan prefixPreferred, int attempt, Instant now)
    {
        var maxDesync = _options.TemporaryPreferredLifetime * 0.4; // MAX_DESYNC_FACTOR
        var desync = TimeSpan.FromTicks((long)(_random.NextDouble() * maxDesync.Ticks));
        var validLife = prefixValid < _options.TemporaryValidLifetime ? prefixValid : _options.TemporaryValidLifetime;
        var cap = _options.TemporaryPreferredLifetime - desync;
        var preferredLife = prefixPreferred < cap ? prefixPreferred : cap;
        if (preferredLife > validLife) preferredLife = validLife;
        if (preferredLife <= RegenAdvance(ifc)) return;
        Ipv6Address address;
        do
        {
            address = InterfaceIdentifier.Combine(prefix, _random.NextUInt64());
        }
        while (InterfaceIdentifier.IsReserved(address.Low) || ifc.Find(address) is not null);
        if (AddAddress(ifc, address, 64, Ipv6AddressOrigin.Temporary, now + validLife, now + preferredLife, attempt, now) is not { } a) return;
        a.CreatedAt = now;
        a.DesyncFactor = desync;
        _stats.TemporaryAddressesFormed++;
    }

    /// <summary>
    /// RFC 8981 §3.5: REGEN_ADVANCE before a temporary address is deprecated its successor is formed, with the lifetimes
    /// the prefix's public address still has (a prefix no longer advertised as preferred gets none). Returns the next deadline.
    /// </summary>
    private Instant PollTemporaryAddress(Ipv6Interface ifc, InterfaceAddress a, Instant now)
    {
        if (a.Regenerated || a.State != Ipv6AddressState.Preferred || _options.TemporaryAddresses == TemporaryAddressMode.Off) return Instant.MaxValue;
        var at = a.PreferredUntil - RegenAdvance(ifc);
        if (now < at) return at;
        a.Regenerated = true;
        FormTemporaryFromPublic(ifc, new Ipv6Address(a.Address.High, 0), 0, now);
        return Instant.MaxValue;
    }

    /// <summary>RFC 8981 §3.4: a temporary address that DAD found in use is replaced, at most TEMP_IDGEN_RETRIES times.</summary>
    private void OnDuplicateTemporaryAddress(Ipv6Interface ifc, InterfaceAddress addr, Instant now)
    {
        ifc.Addresses.Remove(addr);
        if (addr.DadCounter >= TempIdgenRetries) return;
        FormTemporaryFromPublic(ifc, new Ipv6Address(addr.Address.High, 0), addr.DadCounter + 1, now);
    }

    private void FormTemporaryFromPublic(Ipv6Interface ifc, Ipv6Address prefix, int attempt, Instant now)
    {
        foreach (var p in ifc.Addresses)
        {
            // The public address carries the prefix's remaining lifetimes (while it is still being verified too).
            if (p.Origin != Ipv6AddressOrigin.Slaac || p.Address.High != prefix.High
                || p.State is not (Ipv6AddressState.Preferred or Ipv6AddressState.Tentative) || now >= p.PreferredUntil) continue;
            CreateTemporaryAddress(ifc, prefix, p.RemainingValid(now), p.PreferredUntil == Instant.MaxValue ? TimeSpan.MaxValue : p.PreferredUntil - now, attempt, now);
            return;
        }
    }
}
