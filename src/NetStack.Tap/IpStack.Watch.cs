using NetStack.Wire;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    /// <summary>Watches what the core changes by itself (SLAAC, DAD, RDNSS) once the IPv6 layer reports it.</summary>
    private sealed class Watcher(IpStack owner) : IPollable
    {
        public IReadOnlyList<IpAddress> Rdnss => [];

        public IpStack Owner => owner;

        public Instant Poll(Instant now) => Instant.MaxValue;
    }
}
