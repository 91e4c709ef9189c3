using NetStack.Network;
using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Multicast group membership of an interface, for sockets that want to receive a group's datagrams
/// (RFC 1112 §7.2 with IGMPv3, RFC 3376, for IPv4; RFC 4291 §2.7 with MLDv2, RFC 3810, for IPv6). A datagram to a
/// group is delivered only while its group is joined on the interface it arrives on (RFC 1112 §6.4 / RFC 1122 §3.3.7;
/// 224.0.0.1 and ff02::1 always), and only from a source the group's filter accepts.
/// <para>
/// Each call adds or removes one socket-level filter record (RFC 3376 §3 / RFC 3810 §3 IPMulticastListen), reference
/// counted: <see cref="Join"/> is an any-source EXCLUDE {} record, <see cref="BlockSource"/> adds a source to such a
/// record's list, <see cref="JoinSource"/> is an INCLUDE {source} record. The shapes are those of the RFC 3678 socket
/// API (IP_ADD_MEMBERSHIP, IP_BLOCK_SOURCE / IP_UNBLOCK_SOURCE, IP_ADD_SOURCE_MEMBERSHIP / IP_DROP_SOURCE_MEMBERSHIP;
/// MCAST_JOIN_GROUP, MCAST_BLOCK_SOURCE, MCAST_JOIN_SOURCE_GROUP for both families). The interface state is their merge
/// (RFC 3376 §3.2 / RFC 3810 §4.2); its changes are reported with IGMPv3 / MLDv2 state-change records. Use on the stack's loop.
/// </para>
/// </summary>
public static class MulticastGroups
{
    /// <summary>
    /// Joins <paramref name="group"/> on interface <paramref name="interfaceIndex"/> for any source (an EXCLUDE {} record,
    /// RFC 3678 §5.1 IP_ADD_MEMBERSHIP) and reports the membership: IGMPv3 (TO_EX {} to 224.0.0.22, or IGMPv1/v2 reports
    /// while an older querier is present) or MLDv2, sent on the stack's next poll and repeated. False when the address is
    /// not a multicast group, the interface does not exist or has no such family, or its group table is full.
    /// </summary>
    public static bool Join(IIpFamilies stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        return stack.JoinGroup(interfaceIndex, group, now);
    }

    /// <summary>Leaves <paramref name="group"/>: removes one any-source record (reference counted; when the last record goes
    /// the change is reported: IGMPv3 TO_IN {} or an IGMPv2 Leave, MLDv2 likewise). False when it was not joined.</summary>
    public static bool Leave(IIpFamilies stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        return stack.LeaveGroup(interfaceIndex, group, now);
    }

    /// <summary>
    /// Joins <paramref name="group"/> for datagrams from <paramref name="source"/> only: an INCLUDE {source} record
    /// (RFC 3678 §4.1.3 IP_ADD_SOURCE_MEMBERSHIP, §5.1.2 MCAST_JOIN_SOURCE_GROUP), reference counted per source; reported
    /// as ALLOW (or TO_IN when the filter mode changes). False when <paramref name="group"/> is not multicast,
    /// <paramref name="source"/> is not a unicast address of the same family, the interface does not exist, the group
    /// table is full, or the group's source list is full (counted: <see cref="DropReason.MulticastSourceLimit"/>).
    /// </summary>
    public static bool JoinSource(IIpFamilies stack, int interfaceIndex, IpAddress group, IpAddress source, Instant now) =>
        ChangeSource(stack, interfaceIndex, group, source, SourceFilterChange.Join, now);

    /// <summary>Removes one INCLUDE {<paramref name="source"/>} record (RFC 3678 §4.1.3 IP_DROP_SOURCE_MEMBERSHIP, §5.1.2
    /// MCAST_LEAVE_SOURCE_GROUP); false when there is none.</summary>
    public static bool LeaveSource(IIpFamilies stack, int interfaceIndex, IpAddress group, IpAddress source, Instant now) =>
        ChangeSource(stack, interfaceIndex, group, source, SourceFilterChange.Leave, now);

    /// <summary>
    /// Stops datagrams from <paramref name="source"/> for an any-source join of <paramref name="group"/>: adds the source to
    /// an EXCLUDE record that does not yet block it (RFC 3678 §4.1.2 IP_BLOCK_SOURCE, §5.1.2 MCAST_BLOCK_SOURCE). The
    /// interface blocks it only when every any-source join does and no source join includes it (RFC 3376 §3.2). False
    /// without such an any-source join, for invalid addresses, or when the record's list is full (counted).
    /// </summary>
    public static bool BlockSource(IIpFamilies stack, int interfaceIndex, IpAddress group, IpAddress source, Instant now) =>
        ChangeSource(stack, interfaceIndex, group, source, SourceFilterChange.Block, now);

    /// <summary>Takes <paramref name="source"/> out of an any-source join's EXCLUDE record again (RFC 3678 §4.1.2
    /// IP_UNBLOCK_SOURCE, §5.1.2 MCAST_UNBLOCK_SOURCE); false when no record blocks it.</summary>
    public static bool UnblockSource(IIpFamilies stack, int interfaceIndex, IpAddress group, IpAddress source, Instant now) =>
        ChangeSource(stack, interfaceIndex, group, source, SourceFilterChange.Unblock, now);

    /// <summary>
    /// RFC 3678 §4.1.2-§4.1.3: a multicast group and a unicast source of the same family, on an interface we have; then the
    /// change goes to that family's layer.
    /// </summary>
    private static bool ChangeSource(IIpFamilies stack, int interfaceIndex, IpAddress group, IpAddress source, SourceFilterChange change, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || !source.IsUnicast || group.IsV4 != source.IsV4 || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        return stack.ChangeSourceFilter(interfaceIndex, group, source, change, now);
    }
}
