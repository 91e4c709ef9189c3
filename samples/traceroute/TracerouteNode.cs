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
            next = Instant.Min(next, Engine.Poll(now));
            next = Instant.Min(next, Stack.Poll(now));
        }
        AfterPoll?.Invoke();
        return next;
    }
}
