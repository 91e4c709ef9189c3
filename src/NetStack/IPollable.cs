namespace NetStack;

/// <summary>
/// Anything a runtime loop or the virtual-time scheduler drives: a network stack (or a test double).
/// The whole contract of the sans-IO core with the outside world is this call plus the devices it was given.
/// </summary>
public interface IPollable
{
    /// <summary>
    /// Does all the work due at <paramref name="now"/>: drains received frames from the devices,
    /// processes them, fires due timers and transmits what is ready. Returns the next instant at which
    /// it wants to be polled even if no frame arrives (<see cref="Instant.MaxValue"/> when none).
    /// </summary>
    Instant Poll(Instant now);
}
