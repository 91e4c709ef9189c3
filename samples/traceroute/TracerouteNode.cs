using NetStack.Composition;

namespace NetStack.Samples.Traceroute;

/// <summary>
/// The traceroute host as one pollable unit: its stack, then the answers its raw sockets collected, then the
/// scheduler, then the stack again so that anything the scheduler sent (and the timers it started) counts.
/// </summary>
public sealed class TracerouteNode(NetworkStack stack) : IPollable
{
    public NetworkStack Stack { get; } = stack;
    public RawProbeSender? Sender { get; set; }
    public TracerouteEngine? Engine { get; set; }
    public Action? AfterPoll { get; set; }
    public ResolverNameSource? Resolver { get; set; }

    /// <summary>
    /// The real clock on a device (null in virtual time). A poll turn is given one <c>now</c>, read when it starts; the
    /// scheduler's send times and the frames read after it must carry the time they really happen, or an answer that
    /// arrives during the turn is stamped as early as its probe (a round trip of 0.000 ms).
    /// </summary>
    public Func<Instant>? Clock { get; set; }

    public Instant Poll(Instant now)
    {
        var next = Stack.Poll(now);
        if (Resolver is not null)
        {
            next = Instant.Min(next, Resolver.Pump(now));
            next = Instant.Min(next, Stack.Poll(now));
        }
        if (Sender is not null && Engine is not null && !Engine.IsComplete)
        {
            Sender.Drain();
            next = Instant.Min(next, Engine.Poll(Clock?.Invoke() ?? now));
            next = Instant.Min(next, Stack.Poll(Clock?.Invoke() ?? now));
        }
        AfterPoll?.Invoke();
        return next;
    }
}
