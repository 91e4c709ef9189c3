namespace NetStack.Link;

/// <summary>
/// A device whose input arrives at known instants (in-memory links, replayed captures) or which holds
/// frames back (fault injector, bandwidth-limited links). A scheduler or host asks it when its owner
/// next needs to be polled, so that virtual time can jump straight there.
/// </summary>
public interface ITimedDevice
{
    /// <summary>
    /// The earliest instant at which this device has work: a frame becomes receivable, or held output
    /// falls due. <see cref="Instant.MaxValue"/> when nothing is pending. May be in the past (work is waiting now).
    /// </summary>
    Instant NextArrival { get; }

    /// <summary>
    /// Releases held output that has fallen due at <paramref name="now"/> (a delayed transmit, say). Receiving
    /// from the device does the same, so a node that drains its devices on every poll needs no other call;
    /// schedulers call it anyway before polling the owner.
    /// </summary>
    void Service(Instant now)
    {
    }
}
