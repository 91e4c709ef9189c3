namespace NetStack;

/// <summary>Where a component with timers of its own (a service, an application engine) asks to be polled along with the stack.</summary>
public interface IPollRegistry
{
    /// <summary>Adds <paramref name="component"/> to every poll (once).</summary>
    void RegisterPollable(IPollable component);

    /// <summary>Stops polling <paramref name="component"/>.</summary>
    void UnregisterPollable(IPollable component);
}
