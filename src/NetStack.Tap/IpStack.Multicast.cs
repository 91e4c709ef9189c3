using System.Net;
using NetStack.Sockets;
using NetStack.Wire;
using NetStack.Composition;

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

    /// <summary>
    /// Receives <paramref name="group"/> from <paramref name="source"/> only (source-specific multicast: an INCLUDE {source}
    /// filter, like <c>IP_ADD_SOURCE_MEMBERSHIP</c> / <c>MCAST_JOIN_SOURCE_GROUP</c>, RFC 3678 §4.1.3 / §5.1.2), reported
    /// with IGMPv3 ALLOW / MLDv2 ALLOW records. Reference counted per source.
    /// </summary>
    /// <exception cref="ArgumentException">Not a multicast group and a unicast source of the same family, or the group table
    /// or the group's source list is full.</exception>
    public async Task JoinMulticastSourceAsync(IPAddress group, IPAddress source, CancellationToken cancellationToken = default)
    {
        if (!await SourceFilterAsync(group, source, MulticastGroups.JoinSource, cancellationToken).ConfigureAwait(false))
            throw new ArgumentException($"Cannot join {group} from {source}: not a multicast group and a unicast source of one family, or a table is full.", nameof(source));
    }

    /// <summary>Drops a source joined with <see cref="JoinMulticastSourceAsync"/> (<c>IP_DROP_SOURCE_MEMBERSHIP</c>); false when not joined.</summary>
    public Task<bool> LeaveMulticastSourceAsync(IPAddress group, IPAddress source, CancellationToken cancellationToken = default) =>
        SourceFilterAsync(group, source, MulticastGroups.LeaveSource, cancellationToken);

    /// <summary>Stops datagrams from <paramref name="source"/> for a group joined with <see cref="JoinMulticastGroupAsync"/>
    /// (<c>IP_BLOCK_SOURCE</c> / <c>MCAST_BLOCK_SOURCE</c>, RFC 3678 §4.1.2); false when the group is not joined for any
    /// source, the source is already blocked, or the list is full.</summary>
    public Task<bool> BlockMulticastSourceAsync(IPAddress group, IPAddress source, CancellationToken cancellationToken = default) =>
        SourceFilterAsync(group, source, MulticastGroups.BlockSource, cancellationToken);

    /// <summary>Lets <paramref name="source"/> through again (<c>IP_UNBLOCK_SOURCE</c> / <c>MCAST_UNBLOCK_SOURCE</c>); false when it was not blocked.</summary>
    public Task<bool> UnblockMulticastSourceAsync(IPAddress group, IPAddress source, CancellationToken cancellationToken = default) =>
        SourceFilterAsync(group, source, MulticastGroups.UnblockSource, cancellationToken);

    private Task<bool> SourceFilterAsync(IPAddress group, IPAddress source,
        Func<NetworkStack, int, IpAddress, IpAddress, Instant, bool> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(source);
        var g = IpAddress.FromIPAddress(group);
        var s = IpAddress.FromIPAddress(source);
        return Host.InvokeAsync(() =>
        {
            bool done = change(Stack, Interface.Index, g, s, StackHost.Now);
            Host.Wake();
            return done;
        }, cancellationToken);
    }
}
