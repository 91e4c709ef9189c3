using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Multicast group membership of an interface, for sockets that want to receive a group's datagrams
/// (RFC 1112 §7.2 with IGMPv3, RFC 3376, for IPv4; RFC 4291 §2.7 with MLDv2, RFC 3810, for IPv6). A datagram to a
/// group is delivered only while its group is joined on the interface it arrives on (RFC 1112 §6.4 / RFC 1122 §3.3.7;
/// 224.0.0.1 and ff02::1 always). Joins are any-source (EXCLUDE {} filters) and reference counted. Use on the stack's loop.
/// </summary>
public static class MulticastGroups
{
    /// <summary>
    /// Joins <paramref name="group"/> on interface <paramref name="interfaceIndex"/> and reports the membership: IGMPv3
    /// (TO_EX {} to 224.0.0.22, or IGMPv1/v2 reports while an older querier is present) or MLDv2, sent on the stack's next
    /// poll and repeated. False when the address is not a multicast group, the interface does not exist or has no such
    /// family, or its group table is full.
    /// </summary>
    public static bool Join(NetworkStack stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        if (group.IsV4) return stack.Ipv4.JoinGroup(interfaceIndex, group.V4, now);
        return stack.Ipv6.InterfaceAt(interfaceIndex) is { } ifc && ifc.Mld.Join(group.V6, now);
    }

    /// <summary>Leaves <paramref name="group"/> (reference counted; when the last reference goes the change is reported:
    /// IGMPv3 TO_IN {} or an IGMPv2 Leave, MLDv2 likewise). False when it was not joined.</summary>
    public static bool Leave(NetworkStack stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        if (group.IsV4) return stack.Ipv4.LeaveGroup(interfaceIndex, group.V4, now);
        if (stack.Ipv6.InterfaceAt(interfaceIndex) is not { } ifc || !ifc.Mld.IsMember(group.V6)) return false;
        ifc.Mld.Leave(group.V6, now);
        return true;
    }
}
