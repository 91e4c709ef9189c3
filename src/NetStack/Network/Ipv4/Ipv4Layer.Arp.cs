using NetStack.Link;
using NetStack.Wire;

namespace NetStack.Network.Ipv4;

internal sealed partial class Ipv4Layer
{
    /// <summary>RFC 5227 §1.1 ANNOUNCE_INTERVAL.</summary>
    private static readonly TimeSpan AnnounceInterval = TimeSpan.FromSeconds(2);

    /// <summary>RFC 826 "Packet Reception", with RFC 1122 §2.3.2.1 and the Linux choices noted.</summary>
    private void ReceiveArp(Ipv4Interface v4, ReadOnlySpan<byte> packet, in LinkInfo link, Instant now)
    {
        if (v4.Arp is not { } arp)
        {
            _stats.Drop(DropReason.ArpMalformed);
            return;
        }
        if (!ArpPacket.TryParse(packet, out var p, out _))
        {
            _stats.Drop(DropReason.ArpMalformed);
            return;
        }
        var sha = p.SenderHardwareAddress;
        var spa = p.SenderProtocolAddress;
        var tpa = p.TargetProtocolAddress;
        // A sender hardware address that is a group address or our own is bogus (or our own frame looped back).
        if (sha.IsMulticast || sha == v4.Link.HardwareAddress)
        {
            _stats.Drop(DropReason.ArpMalformed);
            return;
        }
        // Linux arp_process: ARP for a multicast target, or from a multicast/broadcast/loopback sender, is ignored.
        if (tpa.IsMulticast || spa.IsMulticast || spa.IsBroadcast || spa.IsLoopback)
        {
            _stats.Drop(DropReason.ArpMalformed);
            return;
        }
        // Someone else claims one of our addresses (RFC 5227 §2.4 conflict): never learn it.
        if (Addresses.IsLocal(spa))
        {
            _stats.Drop(DropReason.ArpAddressConflict);
            return;
        }
        // Linux arp_ignore=0: answer for any local address, whatever interface it is configured on.
        bool forUs = Addresses.IsLocal(tpa);
        bool learnable = !spa.IsUnspecified; // RFC 5227 probes carry sender 0.0.0.0: nothing to learn
        if (p.Operation == ArpOperation.Reply)
        {
            // RFC 826 merge: an entry we asked about is completed (a solicited, overriding advertisement);
            // an unsolicited reply only refreshes an entry we already have (Linux arp_accept=0 creates none).
            if (learnable) arp.Advertise(spa, sha, solicited: forUs, overrideFlag: true, isRouter: null, now);
            if (!forUs) _stats.Drop(DropReason.ArpNotForUs);
            return;
        }
        // Request. RFC 826: "If the pair <protocol type, sender protocol address> is already in my translation
        // table, update the sender hardware address field"; "Am I the target protocol address? If the merge flag
        // is false, add the triplet" — a request addressed to us creates an entry, others only update.
        if (learnable) arp.Learn(spa, sha, now, create: forUs);
        if (!forUs)
        {
            _stats.Drop(DropReason.ArpNotForUs);
            return;
        }
        // RFC 826: swap, put our hardware address in, set the opcode to reply, send it to the requester.
        var reply = ArpRepr.ReplyTo(p.ToRepr(), v4.Link.HardwareAddress);
        SendArp(v4, reply, sha, now);
    }

    /// <summary>The neighbour cache's solicitation: a broadcast request, or a unicast one to re-confirm (RFC 1122 §2.3.2.1).</summary>
    internal void SendArpRequest(Ipv4Interface v4, Ipv4Address target, MacAddress? unicastTo, Instant now)
    {
        if (!Addresses.TrySelectSource(v4.Index, target, out var sender) || !Addresses.IsLocalOn(sender, v4.Index))
        {
            // Without an address on this link we cannot ask (RFC 5227 probes are for DAD, not resolution).
            if (!Addresses.TryGetPrimary(v4.Index, out sender)) return;
        }
        SendArp(v4, ArpRepr.Request(v4.Link.HardwareAddress, sender, target), unicastTo ?? MacAddress.Broadcast, now);
    }

    /// <summary>A gratuitous ARP announcement (RFC 5227 §3: a request whose sender and target are our new address).</summary>
    private void SendArpAnnouncement(Ipv4Interface v4, Ipv4Address address, Instant now) =>
        SendArp(v4, ArpRepr.Announcement(v4.Link.HardwareAddress, address), MacAddress.Broadcast, now);

    private Instant PollAnnouncements(Ipv4Interface v4, Instant now)
    {
        var next = Instant.MaxValue;
        var list = v4.Announcements;
        for (int i = list.Count - 1; i >= 0; i--)
        {
            var (address, remaining, due) = list[i];
            if (due <= now)
            {
                if (Addresses.IsLocalOn(address, v4.Index)) SendArpAnnouncement(v4, address, now);
                if (remaining <= 1 || !Addresses.IsLocalOn(address, v4.Index)) { list.RemoveAt(i); continue; }
                list[i] = (address, remaining - 1, now + AnnounceInterval);
                due = now + AnnounceInterval;
            }
            next = Instant.Min(next, due);
        }
        return next;
    }

    private void SendArp(Ipv4Interface v4, in ArpRepr repr, MacAddress destination, Instant now)
    {
        var buffer = v4.Link.RentBuffer();
        try
        {
            int length = repr.Write(buffer.AsSpan(NetworkInterface.Headroom));
            v4.Link.Transmit(destination, EtherType.Arp, buffer, NetworkInterface.Headroom, length, now);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>Transmits a packet that waited for resolution (the cache hands a copy without headroom).</summary>
    internal void TransmitCopy(Ipv4Interface v4, MacAddress mac, EtherType etherType, ReadOnlySpan<byte> packet, Instant now)
    {
        var buffer = v4.Link.RentBuffer();
        try
        {
            packet.CopyTo(buffer.AsSpan(NetworkInterface.Headroom));
            v4.Link.Transmit(mac, etherType, buffer, NetworkInterface.Headroom, packet.Length, now);
        }
        finally
        {
            NetworkInterface.ReturnBuffer(buffer);
        }
    }

    /// <summary>
    /// ARP gave up on a next hop. A datagram we were forwarding earns "host unreachable" to its source
    /// (RFC 1812 §5.2.7.1; Linux ipv4_link_failure does the same); our own datagrams are just dropped (counted by the cache).
    /// </summary>
    internal void OnResolutionFailed(Ipv4Interface v4, ReadOnlySpan<byte> packet, Instant now)
    {
        if (!Ipv4Packet.TryParse(packet, out var ip, out _)) return;
        if (Addresses.IsLocal(ip.Source)) return;
        SendIcmpError(ip, v4.Index, linkBroadcast: false, Icmpv4Type.DestinationUnreachable,
            (byte)Icmpv4UnreachableCode.HostUnreachable, 0, now);
    }
}
