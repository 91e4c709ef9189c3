namespace NetStack.Tests.Support;

/// <summary>The steady-state measure still sees code that allocates on every call.</summary>
public sealed class AllocationsTests
{
    private static byte[]? _sink;

    [Fact]
    public void An_allocation_on_every_call_is_counted_in_every_round()
    {
        long bytes = Allocations.SteadyState(() => _sink = new byte[16]);
        Assert.True(bytes >= 100 * 16, $"{bytes} bytes");
        Assert.NotNull(_sink);
    }
}
