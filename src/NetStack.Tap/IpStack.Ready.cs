using Microsoft.Extensions.Logging;
using NetStack.Composition;

namespace NetStack.Tap;

public sealed partial class IpStack
{
    private static readonly TimeSpan ReadyPollInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Completes when the configured addresses are usable: every IPv6 address is past duplicate address detection
    /// (RFC 4862 §5.4; at once with RFC 4429 optimistic addresses, <c>Ipv6Settings.OptimisticDad</c>), a DHCPv4 lease is held
    /// when DHCPv4 is configured, and, with <see cref="IpStackOptions.ReadyRequiresIpv6Router"/>, an IPv6 default router is
    /// known and a SLAAC address formed. Right after <see cref="StartAsync"/> an IPv6 address is still tentative for 1-2 s,
    /// during which connections from it fail with AddressNotAvailable; after this, they do not.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stack was not started, or can never be ready: an address was found
    /// duplicate (RFC 4862 §5.4.5); the message names it.</exception>
    /// <exception cref="ObjectDisposedException">The stack was stopped.</exception>
    public async Task WaitForReadyAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfStopped();
        if (Volatile.Read(ref _state) == 0) throw new InvalidOperationException("Start the stack (StartAsync) before waiting for it to be ready.");
        bool requireRouter = _options.ReadyRequiresIpv6Router;
        while (true)
        {
            var r = await Host.InvokeAsync(() => InterfaceReadiness.Check(Stack, Interface, requireRouter), cancellationToken).ConfigureAwait(false);
            if (r.Status == ReadinessStatus.Failed) throw new InvalidOperationException($"{Name}: {r.Reason}.");
            if (r.Status == ReadinessStatus.Ready && (_dhcp is null || Dhcpv4Lease is not null))
            {
                LogReady(_logger, Name);
                return;
            }
            await Task.Delay(ReadyPollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Where the interface stands now (what <see cref="WaitForReadyAsync"/> waits for), for diagnostics.</summary>
    public async Task<InterfaceReadiness> GetReadinessAsync(CancellationToken cancellationToken = default)
    {
        var r = await Host.InvokeAsync(() => InterfaceReadiness.Check(Stack, Interface, _options.ReadyRequiresIpv6Router), cancellationToken).ConfigureAwait(false);
        if (r.Status == ReadinessStatus.Ready && _dhcp is not null && Dhcpv4Lease is null) return new(ReadinessStatus.Waiting, "no DHCPv4 lease yet");
        return r;
    }

    [LoggerMessage(12, LogLevel.Information, "{Stack}: ready (addresses usable)")]
    private static partial void LogReady(ILogger logger, string stack);
}
