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

    /// <summary>Drain-schedule-poll passes per turn at most (answers that keep arriving within a turn).</summary>
    private const int MaxPasses = 16;

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
            // The last Stack.Poll of a pass reads the frames that came in while the scheduler sent (a fast answer often
            // does): they sit in the probe sockets, and the device has nothing more to wake the loop with. Hand them on
            // now, in further passes, rather than at the next deadline (up to -w seconds later).
            for (int pass = 0; pass < MaxPasses; pass++)
            {
                Sender.Drain();
                next = Instant.Min(next, Engine.Poll(Clock?.Invoke() ?? now));
                next = Instant.Min(next, Stack.Poll(Clock?.Invoke() ?? now));
                if (!Sender.HasPending || Engine.IsComplete) break;
            }
            if (Sender.HasPending && !Engine.IsComplete) next = now; // still more: come back at once
        }
        AfterPoll?.Invoke();
        return next;
    }
}
