using NetStack.Network.PathMtu;

namespace NetStack.Network.Ipv6;

/// <summary>
/// IPv6's rules for the family-neutral machinery (<see cref="PathMtuCache{TAddress, TPolicy}"/> and the others under
/// Network/): a type with static members only, used as a generic argument, so the rules cost no call through an object.
/// </summary>
internal readonly struct Ipv6Family : IPathMtuPolicy
{
    /// <summary>RFC 8200 §5: every link carries 1280 bytes; RFC 8201 §4: a reported MTU below it still leaves 1280 (no atomic fragments, RFC 8021).</summary>
    public static int MinimumMtu => 1280;

    /// <summary>RFC 8201 §4: the Packet Too Big's MTU field is the estimate (the floor is applied by the cache).</summary>
    public static int Estimate(int reportedMtu, int originalLength, int currentMtu) => reportedMtu;

    /// <summary>The MTU a source fragments to: RFC 8200 §5, never less than the minimum MTU's worth.</summary>
    public static int SourceFragmentMtu(int pathMtu) => Math.Max(pathMtu, MinimumMtu);
}
