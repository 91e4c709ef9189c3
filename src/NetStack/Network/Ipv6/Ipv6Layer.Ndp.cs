using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv6;

internal sealed partial class Ipv6Layer
{
    /// <summary>RFC 4861 §6.1 / §7.1 / §8.1 validation common to every ND message, then dispatch.</summary>
    private void HandleNdp(Ipv6Interface ifc, in Ipv6Packet ip, ReadOnlySpan<byte> message, in LinkInfo link, Instant now)
    {
        // Hop limit 255 proves the message was not forwarded; code 0; ICMP length at least the fixed part;
        // every option with a non-zero length inside the message (the parser checks the last two).
        if (ip.HopLimit != 255 || message[1] != 0 || !NdpMessage.TryParse(message, out var nd, out _))
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        switch (nd.Type)
        {
            case Icmpv6Type.NeighborSolicitation: HandleNeighborSolicitation(ifc, ip, nd, now); break;
            case Icmpv6Type.NeighborAdvertisement: HandleNeighborAdvertisement(ifc, ip, nd, now); break;
            case Icmpv6Type.RouterSolicitation: HandleRouterSolicitation(ifc, ip, nd, now); break;
            case Icmpv6Type.RouterAdvertisement: HandleRouterAdvertisement(ifc, ip, nd, now); break;
            case Icmpv6Type.Redirect: HandleRedirect(ifc, ip, nd, now); break;
        }
    }

    private static bool IsSolicitedNodeGroup(Ipv6Address a) => a.High == 0xFF02_0000_0000_0000UL && (a.Low >> 24) == 0x1FF;

    private static ulong? NonceOf(in NdpMessage nd)
    {
        if (!nd.TryGetOption(NdpOptionType.Nonce, out var o) || o.Nonce.Length < DuplicateAddressDetection.NonceLength) return null;
        ulong v = 0;
        foreach (var b in o.Nonce[..DuplicateAddressDetection.NonceLength]) v = (v << 8) | b;
        return v;
    }

    private void HandleNeighborSolicitation(Ipv6Interface ifc, in Ipv6Packet ip, in NdpMessage nd, Instant now)
    {
        var target = nd.TargetAddress;
        var src = ip.Source;
        var slla = nd.SourceLinkLayerAddress;
        // RFC 4861 §7.1.1: the target is not multicast; from the unspecified source, the destination is a
        // solicited-node group and there is no source link-layer address option.
        if (target.IsMulticast || (src.IsUnspecified && (!IsSolicitedNodeGroup(ip.Destination) || slla is not null)))
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        var addr = ifc.Find(target);
        if (addr is null)
        {
            _stats.Drop(DropReason.NdpNotForUs); // §7.2.3: not one of our addresses: silently discarded
            return;
        }
        if (addr.State == Ipv6AddressState.Tentative && (src.IsUnspecified || !addr.Optimistic))
        {
            // RFC 4862 §5.4.3: another node's DAD probe (and not our own looped back, RFC 7527) means a duplicate.
            if (addr.Dad is { } dad && dad.OnSolicitation(src.IsUnspecified, NonceOf(nd)) == DadVerdict.Duplicate)
                OnDuplicateAddress(ifc, addr, now);
            return;
        }
        // (An optimistic address answers address resolution, RFC 4429 §2.2.1, below.)
        if (!addr.IsUsable) return;
        if (src.IsUnspecified)
        {
            // RFC 4861 §7.2.4: an answer to a DAD probe goes to all-nodes, unsolicited.
            SendNeighborAdvertisement(ifc, target, Ipv6Address.AllNodes, solicited: false, now);
            return;
        }
        // §7.2.3: the source link-layer address updates (or creates, STALE) the sender's entry.
        if (slla is { } mac && ifc.IsEthernet) ifc.Neighbors.Learn(src, mac, now);
        // RFC 4429 §2.2.1: for an optimistic target the Override flag is clear, so that the true owner (if DAD is
        // about to fail) is not overridden in the asker's cache.
        SendNeighborAdvertisement(ifc, target, src, solicited: true, now, overrideFlag: !addr.Optimistic);
    }

    private void HandleNeighborAdvertisement(Ipv6Interface ifc, in Ipv6Packet ip, in NdpMessage nd, Instant now)
    {
        var target = nd.TargetAddress;
        // RFC 4861 §7.1.2: target not multicast; to a multicast destination the Solicited flag is clear.
        if (target.IsMulticast || (ip.Destination.IsMulticast && nd.SolicitedFlag))
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        if (ifc.Find(target) is { } addr)
        {
            // RFC 4862 §5.4.4: an advertisement for a tentative address means it is a duplicate.
            if (addr.State == Ipv6AddressState.Tentative && addr.Dad is { } dad && dad.OnAdvertisement() == DadVerdict.Duplicate)
                OnDuplicateAddress(ifc, addr, now);
            else
                _stats.Drop(DropReason.NdpDuplicateAddress); // someone else claims an address in use: logged, not acted on
            return;
        }
        bool wasRouter = ifc.Neighbors.IsRouter(target);
        ifc.Neighbors.Advertise(target, ifc.IsEthernet ? nd.TargetLinkLayerAddress : null, nd.SolicitedFlag, nd.OverrideFlag, nd.RouterFlag, now);
        if (wasRouter && !nd.RouterFlag)
        {
            // RFC 4861 §7.2.5: a router that stopped being one leaves the Default Router List.
            _routers.Remove(target, ifc.Index);
            _destinations.InvalidateNextHop(target, ifc.Index);
        }
    }

    private void HandleRouterSolicitation(Ipv6Interface ifc, in Ipv6Packet ip, in NdpMessage nd, Instant now)
    {
        var slla = nd.SourceLinkLayerAddress;
        // RFC 4861 §6.1.1: from the unspecified source, no source link-layer address option.
        if (ip.Source.IsUnspecified && slla is not null)
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        // RFC 4861 §6.2.6: hosts discard solicitations; routers learn the sender's link-layer address and, on an
        // advertising interface, answer with an advertisement to all-nodes.
        if (ifc.Forwarding && slla is { } mac && !ip.Source.IsUnspecified && ifc.IsEthernet) ifc.Neighbors.Learn(ip.Source, mac, now, isRouter: false);
        ifc.Advertiser?.OnSolicitation(now);
    }

    /// <summary>RFC 4861 §6.3.4 (with RFC 4862 §5.5.3, RFC 4191 §2.2 and RFC 8106 §5.1) for a valid advertisement.</summary>
    private void HandleRouterAdvertisement(Ipv6Interface ifc, in Ipv6Packet ip, in NdpMessage nd, Instant now)
    {
        var router = ip.Source;
        // RFC 4861 §6.1.2: the source is link-local.
        if (!router.IsLinkLocal)
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        if (ifc.Forwarding)
        {
            // A router does not configure itself from others' advertisements; it checks them against its own (§6.2.7).
            if (ifc.Advertiser is { } advertiser && !ConsistentWith(advertiser.Config, nd)) _stats.RouterAdvertisementsInconsistent++;
            return;
        }
        ifc.Solicitor.Stop();       // RFC 4861 §6.3.7: solicitation ends with a valid advertisement

        if (nd.CurHopLimit != 0) ifc.CurHopLimit = nd.CurHopLimit;
        // RFC 4861 §6.3.4, bounded (NeighborCacheOptions.Min/MaxLearned*: Linux's floors, RFC 4861 §10 MAX_REACHABLE_TIME,
        // RFC 7048 §3 MAX_RETRANS_TIMER): an absurd value is ignored and counted, never taken for 49 days.
        if (!ifc.Neighbors.TrySetBaseReachableTimeFromWire(nd.ReachableTime)) _stats.RouterAdvertisementTimersIgnored++;
        if (!ifc.Neighbors.TrySetRetransTimerFromWire(nd.RetransTimer)) _stats.RouterAdvertisementTimersIgnored++;

        // RFC 4191 §2.2: preference 01 high, 00 medium, 11 low; 10 (reserved) is treated as medium.
        int preference = nd.RouterPreference switch { 1 => 1, 3 => -1, _ => 0 };
        var update = _routers.Update(router, ifc.Index, TimeSpan.FromSeconds(nd.RouterLifetime), preference, now);
        if (update == RouterUpdate.Full) _stats.Drop(DropReason.NdpTableFull);
        bool changed = update is RouterUpdate.Added or RouterUpdate.Removed;

        foreach (var opt in nd.Options)
        {
            switch (opt.Type)
            {
                case NdpOptionType.SourceLinkLayerAddress when ifc.IsEthernet:
                    ifc.Neighbors.Learn(router, opt.MacAddress, now, isRouter: true);
                    break;
                case NdpOptionType.Mtu:
                    // §6.3.4: copy into LinkMTU when not below the minimum nor above the link's maximum.
                    if (opt.Mtu >= Ipv6Packet.MinimumMtu && opt.Mtu <= (uint)ifc.MaxLinkMtu) ifc.LinkMtu = (int)opt.Mtu;
                    break;
                case NdpOptionType.PrefixInformation:
                    changed |= ProcessPrefix(ifc, opt, now);
                    break;
                case NdpOptionType.RecursiveDnsServer:
                    ProcessRdnss(ifc, opt, now);
                    break;
            }
        }
        // RFC 4861 §6.3.4: "the IsRouter flag in the cache entry MUST be set to TRUE", also when the advertisement
        // carried no source link-layer address option (Learn above already set it when it did).
        if (ifc.IsEthernet) ifc.Neighbors.MarkRouter(router);
        if (changed) _destinations.InvalidateDeterminations();
    }

    private bool ProcessPrefix(Ipv6Interface ifc, in NdpOption opt, Instant now)
    {
        var prefix = new Ipv6Cidr(opt.Prefix, Math.Min(opt.PrefixLength, 128));
        bool changed = false;
        // RFC 4861 §6.3.4: the link-local prefix is ignored; an L prefix updates the Prefix List.
        if (opt.OnLink && !prefix.Prefix.IsLinkLocal && opt.PrefixLength <= 128)
        {
            if (!_prefixes.Update(prefix, ifc.Index, opt.ValidLifetime, now)) _stats.Drop(DropReason.NdpTableFull);
            changed = true;
        }
        if (opt.Autonomous && ifc.Slaac)
        {
            Autoconfigure(ifc, prefix.Prefix, opt.PrefixLength, opt.ValidLifetime, opt.PreferredLifetime, now);
            if (SlaacRules.Check(prefix.Prefix, opt.PrefixLength, opt.ValidLifetime, opt.PreferredLifetime) == SlaacRules.PrefixVerdict.Use)
                UpdateTemporaryAddresses(ifc, prefix.Prefix, opt.ValidLifetime, opt.PreferredLifetime, now);
        }
        return changed;
    }

    /// <summary>RFC 4862 §5.5.3: stateless address autoconfiguration from one Prefix Information option.</summary>
    private void Autoconfigure(Ipv6Interface ifc, Ipv6Address prefix, int prefixLength, uint valid, uint preferred, Instant now)
    {
        if (SlaacRules.Check(prefix, prefixLength, valid, preferred) != SlaacRules.PrefixVerdict.Use) return; // §5.5.3 b), c), d)
        InterfaceAddress? existing = null;
        foreach (var a in ifc.Addresses)
        {
            if (a.Origin == Ipv6AddressOrigin.Slaac && a.Address.High == prefix.High && a.State != Ipv6AddressState.Duplicate) { existing = a; break; }
        }
        if (existing is not null)
        {
            // §5.5.3 e): the preferred lifetime is reset; the valid lifetime follows the two-hour rule.
            var validUntil = SlaacRules.UpdatedValidExpiry(existing.ValidUntil, valid, now);
            existing.SetLifetimes(validUntil, NdpConstants.Expiry(now, preferred), now);
            return;
        }
        if (valid == 0) return; // §5.5.3 d): a new prefix with zero valid lifetime forms no address
        ifc.DadCounters.TryGetValue(prefix.High, out int counter);
        if (counter > InterfaceIdentifier.IdGenRetries) return; // RFC 7217 §6: gave up on this prefix
        var address = FormAddress(ifc, prefix, counter);
        AddAddress(ifc, address, 64, Ipv6AddressOrigin.Slaac, NdpConstants.Expiry(now, valid), NdpConstants.Expiry(now, preferred), counter, now);
    }

    /// <summary>RFC 8106 §5.1: each server for the option's lifetime; lifetime 0 removes it; the list is bounded.</summary>
    private void ProcessRdnss(Ipv6Interface ifc, in NdpOption opt, Instant now)
    {
        for (int i = 0; i < opt.RdnssAddressCount; i++)
        {
            var server = opt.RdnssAddress(i);
            int at = ifc.DnsServers.FindIndex(d => d.Server == server);
            if (opt.RdnssLifetime == 0)
            {
                if (at >= 0) ifc.DnsServers.RemoveAt(at);
                continue;
            }
            var entry = (server, NdpConstants.Expiry(now, opt.RdnssLifetime));
            if (at >= 0) ifc.DnsServers[at] = entry;
            else if (ifc.DnsServers.Count < _options.MaxDnsServers) ifc.DnsServers.Add(entry);
            else _stats.Drop(DropReason.NdpTableFull);
        }
    }

    /// <summary>RFC 4861 §8.1 validation and §8.3 processing of a Redirect.</summary>
    private void HandleRedirect(Ipv6Interface ifc, in Ipv6Packet ip, in NdpMessage nd, Instant now)
    {
        var target = nd.TargetAddress;
        var destination = nd.DestinationAddress;
        // §8.1: link-local source; destination not multicast; target link-local (a router) or the destination itself.
        if (!ip.Source.IsLinkLocal || destination.IsMulticast || !(target.IsLinkLocal || target == destination) || ifc.Forwarding)
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        // §8.1: the source must be the current first-hop router for the destination.
        if (!TryRoute(destination, -1, now, out var rifc, out var firstHop) || rifc != ifc || firstHop != ip.Source)
        {
            _stats.Drop(DropReason.NdpInvalid);
            return;
        }
        _destinations.Set(destination, ifc.Index, target, fromRedirect: true, now);
        if (ifc.IsEthernet && nd.TargetLinkLayerAddress is { } mac)
            ifc.Neighbors.Learn(target, mac, now, isRouter: target != destination ? true : null);
    }

    /// <summary>RFC 4862 §5.4.5: a duplicate is not used; RFC 7217 §6: a stable identifier is regenerated with the next DAD_Counter.</summary>
    private void OnDuplicateAddress(Ipv6Interface ifc, InterfaceAddress addr, Instant now)
    {
        _stats.Drop(DropReason.NdpDuplicateAddress);
        addr.MarkDuplicate();
        ifc.Mld.Leave(addr.Address.SolicitedNode, now);
        if (addr.Origin == Ipv6AddressOrigin.Temporary)
        {
            OnDuplicateTemporaryAddress(ifc, addr, now);
            return;
        }
        if (_options.InterfaceIdentifiers != InterfaceIdentifierMode.StableOpaque || addr.Origin == Ipv6AddressOrigin.Static) return;
        var prefix = new Ipv6Address(addr.Address.High, 0);
        int counter = addr.DadCounter + 1;
        ifc.DadCounters[prefix.High] = counter;
        if (counter > InterfaceIdentifier.IdGenRetries) return;
        ifc.Addresses.Remove(addr);
        var fresh = FormAddress(ifc, prefix, counter);
        AddAddress(ifc, fresh, addr.PrefixLength, addr.Origin, addr.ValidUntil, addr.PreferredUntil, counter, now);
        ifc.Addresses.Add(addr); // keep the duplicate on record so that it is never formed again nor answered for
    }

    /// <summary>The neighbour cache asks for a solicitation (RFC 4861 §7.2.2 multicast, §7.3.3 unicast probes).</summary>
    internal void SendNeighborSolicitation(Ipv6Interface ifc, Ipv6Address target, MacAddress? unicastTo, Instant now)
    {
        // §7.2.2: the source is an address of the interface (RFC 6724 picks the one matching the target best).
        if (!TrySelectSourceFor(target, ifc, out var src)) return;
        var dst = unicastTo is null ? target.SolicitedNode : target;
        // RFC 4429 §2.2.2: no source link-layer address option from an optimistic source (it would override the
        // owner's entry in the neighbour's cache, should the address turn out to be a duplicate).
        bool optimistic = ifc.Find(src) is { Optimistic: true };
        var options = ifc.IsEthernet && !optimistic ? new[] { NdpOptionRepr.SourceLinkLayer(ifc.Link.HardwareAddress) } : [];
        var repr = new NeighborSolicitationRepr(target, options);
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, src, dst);
        SendNdp(ifc, src, dst, unicastTo is null ? dst : target, message, now);
    }

    /// <summary>RFC 4862 §5.4.2: a DAD probe from :: to the solicited-node group, with the RFC 7527 nonce and no source link-layer option.</summary>
    private void SendDadProbe(Ipv6Interface ifc, Ipv6Address tentative, ulong nonce, Instant now)
    {
        var nonceBytes = new byte[DuplicateAddressDetection.NonceLength];
        for (int i = 0; i < nonceBytes.Length; i++) nonceBytes[i] = (byte)(nonce >> (8 * (nonceBytes.Length - 1 - i)));
        var repr = new NeighborSolicitationRepr(tentative, new[] { NdpOptionRepr.NonceOption(nonceBytes) });
        var dst = tentative.SolicitedNode;
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, Ipv6Address.Unspecified, dst);
        SendNdp(ifc, Ipv6Address.Unspecified, dst, dst, message, now);
    }

    /// <summary>RFC 4861 §7.2.4: our advertisement for <paramref name="target"/>, with the target link-layer address.</summary>
    private void SendNeighborAdvertisement(Ipv6Interface ifc, Ipv6Address target, Ipv6Address destination, bool solicited, Instant now,
        bool overrideFlag = true)
    {
        var options = ifc.IsEthernet ? new[] { NdpOptionRepr.TargetLinkLayer(ifc.Link.HardwareAddress) } : [];
        // Override set: our addresses are never anycast (clear only for an optimistic one). Router flag when forwarding (§7.2.4).
        var repr = new NeighborAdvertisementRepr(ifc.Forwarding, solicited, overrideFlag, target, options);
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, target, destination);
        SendNdp(ifc, target, destination, destination, message, now);
    }

    /// <summary>RFC 4861 §6.3.7: to all-routers, with our link-layer address when the source is specified.</summary>
    private void SendRouterSolicitation(Ipv6Interface ifc, Instant now)
    {
        bool haveSource = ifc.TryGetUsableLinkLocal(out var src);
        if (!haveSource) src = Ipv6Address.Unspecified;
        // RFC 4429 §2.4: no source link-layer address option from an optimistic source.
        bool optimistic = haveSource && ifc.Find(src) is { Optimistic: true };
        var options = haveSource && ifc.IsEthernet && !optimistic ? new[] { NdpOptionRepr.SourceLinkLayer(ifc.Link.HardwareAddress) } : [];
        var repr = new RouterSolicitationRepr(options);
        Span<byte> message = stackalloc byte[repr.BufferLength];
        repr.Write(message, src, Ipv6Address.AllRouters);
        SendNdp(ifc, src, Ipv6Address.AllRouters, Ipv6Address.AllRouters, message, now);
    }

    /// <summary>
    /// RFC 4861 §6.2.3: an advertisement from our link-local address to all-nodes with our link-layer address, the
    /// configured parameters, the MTU, the prefixes and (RFC 8106) the DNS servers.
    /// </summary>
    private void SendRouterAdvertisement(Ipv6Interface ifc, RouterAdvertisementConfig config, Instant now)
    {
        if (!ifc.TryGetUsableLinkLocal(out var src)) return;
        var options = new List<NdpOptionRepr>(3 + config.Prefixes.Count);
        if (ifc.IsEthernet) options.Add(NdpOptionRepr.SourceLinkLayer(ifc.Link.HardwareAddress));
        if (config.LinkMtu != 0) options.Add(NdpOptionRepr.MtuOption(config.LinkMtu));
        foreach (var p in config.Prefixes)
            options.Add(NdpOptionRepr.PrefixInfo(new NdpPrefixInformation((byte)p.Prefix.PrefixLength, p.OnLink, p.Autonomous,
                Seconds(p.ValidLifetime), Seconds(p.PreferredLifetime), p.Prefix.Prefix)));
        if (config.DnsServers.Count > 0) options.Add(NdpOptionRepr.Rdnss(Seconds(config.EffectiveDnsLifetime), config.DnsServers.ToArray()));
        var repr = new RouterAdvertisementRepr(config.CurHopLimit, config.Managed, config.OtherConfig,
            ifc.Advertiser is { Ceasing: true } ? (ushort)0 : (ushort)Math.Min(config.EffectiveDefaultLifetime.TotalSeconds, ushort.MaxValue),
            (uint)config.ReachableTime.TotalMilliseconds, (uint)config.RetransTimer.TotalMilliseconds, options.ToArray());
        var message = new byte[repr.BufferLength];
        repr.Write(message, src, Ipv6Address.AllNodes);
        _stats.RouterAdvertisementsSent++;
        SendNdp(ifc, src, Ipv6Address.AllNodes, Ipv6Address.AllNodes, message, now);

        // RFC 4861 §4.6.2: lifetimes in seconds, 0xffffffff = infinity.
        static uint Seconds(TimeSpan t) => t >= TimeSpan.FromSeconds(NdpConstants.InfiniteLifetime) ? NdpConstants.InfiniteLifetime : (uint)t.TotalSeconds;
    }

    /// <summary>
    /// RFC 4861 §6.2.7: another router's advertisement is inconsistent with ours when both specify the same parameter
    /// (cur hop limit, M, O, reachable time, retransmission timer, MTU, a prefix's valid or preferred lifetime that we
    /// also advertise, as fixed values) and the values differ. Inconsistencies are counted (the RFC asks to log them).
    /// </summary>
    private static bool ConsistentWith(RouterAdvertisementConfig ours, in NdpMessage nd)
    {
        if (nd.CurHopLimit != 0 && ours.CurHopLimit != 0 && nd.CurHopLimit != ours.CurHopLimit) return false;
        if (nd.ManagedFlag != ours.Managed || nd.OtherFlag != ours.OtherConfig) return false;
        if (nd.ReachableTime != 0 && ours.ReachableTime != TimeSpan.Zero && nd.ReachableTime != (uint)ours.ReachableTime.TotalMilliseconds) return false;
        if (nd.RetransTimer != 0 && ours.RetransTimer != TimeSpan.Zero && nd.RetransTimer != (uint)ours.RetransTimer.TotalMilliseconds) return false;
        foreach (var o in nd.Options)
        {
            if (o.Type == NdpOptionType.Mtu && ours.LinkMtu != 0 && o.Mtu != ours.LinkMtu) return false;
            if (o.Type == NdpOptionType.PrefixInformation)
                foreach (var p in ours.Prefixes)
                    if (p.Prefix.Prefix == o.Prefix && p.Prefix.PrefixLength == o.PrefixLength
                        && ((uint)p.ValidLifetime.TotalSeconds != o.ValidLifetime || (uint)p.PreferredLifetime.TotalSeconds != o.PreferredLifetime))
                        return false;
        }
        return true;
    }

    /// <summary>ND messages always leave with hop limit 255 (RFC 4861 §6.1, §7.1).</summary>
    private void SendNdp(Ipv6Interface ifc, Ipv6Address src, Ipv6Address dst, Ipv6Address nextHop, ReadOnlySpan<byte> message, Instant now)
    {
        _stats.Icmpv6Sent++;
        SendPacket(ifc, nextHop, src, dst, IpProtocol.Icmpv6, message, 255, 0, 0, default, allowFragment: false, now);
    }
}
