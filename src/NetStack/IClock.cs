namespace NetStack;

/// <summary>
/// The time a component was last driven with, for the few places that need "now" outside a call that carries it
/// (a path-MTU query from a socket, a timer callback). Entry points take <c>now</c> as a parameter; this is the
/// fallback, not a clock that reads the system: the stack's value moves only when it is polled or fed.
/// </summary>
public interface IClock
{
    /// <summary>The latest time the owner was driven with.</summary>
    Instant Now { get; }
}
