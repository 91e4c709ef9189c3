using System.Net;
using NetStack.Sockets;
using NetStack.Wire;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    /// <summary>
    /// Joins a multicast group on the interface so that UDP sockets bound to the group's port receive its datagrams
    /// (like <c>IP_ADD_MEMBERSHIP</c> / <c>IPV6_JOIN_GROUP</c>; reference counted). IPv4 memberships are reported with IGMPv3
    /// (IGMPv1/v2 while an older querier is present), IPv6 ones with MLDv2; datagrams to groups not joined are not delivered.
    /// </summary>
    /// <exception cref="ArgumentException">Not a multicast address, or the interface's group table is full.</exception>
    public async Task JoinMulticastGroupAsync(IPAddress group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        var g = IpAddress.FromIPAddress(group);
        bool ok = await Host.InvokeAsync(() =>
        {
            bool joined = MulticastGroups.Join(Stack, Interface.Index, g, StackHost.Now);
            Host.Wake();
            return joined;
        }, cancellationToken).ConfigureAwait(false);
        if (!ok) throw new ArgumentException($"Cannot join {group}: not a multicast group, or too many groups.", nameof(group));
    }

    /// <summary>Leaves a group joined with <see cref="JoinMulticastGroupAsync"/>; false when it was not joined.</summary>
    public Task<bool> LeaveMulticastGroupAsync(IPAddress group, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(group);
        var g = IpAddress.FromIPAddress(group);
        return Host.InvokeAsync(() => MulticastGroups.Leave(Stack, Interface.Index, g, StackHost.Now), cancellationToken);
    }
}
