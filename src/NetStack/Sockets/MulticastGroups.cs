using NetStack.Wire;

namespace NetStack.Sockets;

/// <summary>
/// Multicast group membership of an interface, for sockets that want to receive a group's datagrams
/// (RFC 1112 §7.2 / RFC 3376 for IPv4, RFC 4291 §2.7 + MLDv2 RFC 3810 for IPv6). Use on the stack's loop.
/// </summary>
public static class MulticastGroups
{
    /// <summary>
    /// Joins <paramref name="group"/> on interface <paramref name="interfaceIndex"/>. IPv6: the interface starts listening and
    /// reports the membership with MLD. IPv4: the IPv4 layer delivers every multicast datagram that reaches the interface
    /// (it keeps no IGMP state), so joining only validates the group. False when the address is not a multicast group or
    /// the interface does not exist (or has too many groups).
    /// </summary>
    public static bool Join(NetworkStack stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        if (group.IsV4) return true;
        return stack.Ipv6.InterfaceAt(interfaceIndex) is { } ifc && ifc.Mld.Join(group.V6, now);
    }

    /// <summary>Leaves <paramref name="group"/> (reference counted; IPv6: an MLD report follows when the last reference goes).
    /// False when it was not joined.</summary>
    public static bool Leave(NetworkStack stack, int interfaceIndex, IpAddress group, Instant now)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (!group.IsMulticast || (uint)interfaceIndex >= (uint)stack.Interfaces.Count) return false;
        if (group.IsV4) return true;
        if (stack.Ipv6.InterfaceAt(interfaceIndex) is not { } ifc || !ifc.Mld.IsMember(group.V6)) return false;
        ifc.Mld.Leave(group.V6, now);
        return true;
    }
}
