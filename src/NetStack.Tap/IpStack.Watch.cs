using Microsoft.Extensions.Logging;
using NetStack.Network.Ipv6;
using NetStack.Wire;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    /// <summary>
    /// Watches, on the loop, what the core changes by itself: IPv6 addresses formed by SLAAC or found duplicate by DAD
    /// (logged), and recursive DNS servers learned from router advertisements (RFC 8106, handed to the resolver).
    /// Checks a few times a second; the core's own timers are not affected.
    /// </summary>
    private sealed class Watcher(IpStack owner) : IPollable
    {
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
        private readonly HashSet<Ipv6Address> _announced = [];
        private readonly HashSet<Ipv6Address> _duplicates = [];
        private IReadOnlyList<IpAddress> _rdnss = [];
        private Instant _next;

        public IReadOnlyList<IpAddress> Rdnss => _rdnss;

        public Instant Poll(Instant now)
        {
            if (now < _next) return _next;
            _next = now + Interval;
            if (owner.Config.EnableIpv6) CheckIpv6(now);
            return _next;
        }

        private void CheckIpv6(Instant now)
        {
            var info = owner.Stack.GetIpv6Info(owner.Interface);
            if (info is null) return;
            foreach (var a in info.Addresses)
            {
                if (a.State == Ipv6AddressState.Duplicate)
                {
                    // RFC 4862 §5.4.5: the address is not used; an operator must act (RFC 7217 would need a new secret or counter).
                    if (_duplicates.Add(a.Address)) LogDadConflict(owner._logger, owner.Name, a.Address.ToString());
                }
                else if (a.State == Ipv6AddressState.Preferred && _announced.Add(a.Address))
                {
                    LogIpv6Address(owner._logger, owner.Name, a.Address.ToString(), a.PrefixLength, a.Origin.ToString());
                }
            }
            var rdnss = owner.Stack.Ipv6DnsServers.Select(s => new IpAddress(s)).ToArray();
            if (!rdnss.SequenceEqual(_rdnss))
            {
                _rdnss = rdnss;
                owner.UpdateDnsServers();
            }
        }
    }

    [LoggerMessage(10, LogLevel.Information, "{Stack}: IPv6 address {Address}/{PrefixLength} ({Origin}) is ready")]
    private static partial void LogIpv6Address(ILogger logger, string stack, string address, int prefixLength, string origin);

    [LoggerMessage(11, LogLevel.Warning, "{Stack}: duplicate address detected for {Address} (RFC 4862 §5.4.5); it will not be used")]
    private static partial void LogDadConflict(ILogger logger, string stack, string address);
}
